#include "common/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <string>

namespace stepflow::common {

void NameThisThread(std::string_view name) {
  constexpr std::size_t kMaxNameBytes = 15;  // the kernel's TASK_COMM_LEN less its terminating NUL
  const std::string kept(name.substr(0, std::min(name.size(), kMaxNameBytes)));
  pthread_setname_np(pthread_self(), kept.c_str());
}

}  // namespace stepflow::common
