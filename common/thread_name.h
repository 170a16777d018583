#pragma once
// Names the calling thread as `top -H`, `ps -L`, perf, gdb and /proc/PID/task/*/comm show it, so that an
// operator can tell a partition's thread from gRPC's or a worker's handler threads. Linux keeps 15 bytes of a
// name; a longer one is cut. Best effort: a failure changes nothing else.

#include <string_view>

namespace stepflow::common {

void NameThisThread(std::string_view name);

}  // namespace stepflow::common
