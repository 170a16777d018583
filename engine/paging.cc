#include "engine/paging.h"

#include "absl/strings/escaping.h"
#include "engine/errors.h"

namespace stepflow::engine {

int ClampPageSize(int page_size) {
  if (page_size <= 0) {
    return kDefaultPageSize;
  }
  return page_size > kMaxPageSize ? kMaxPageSize : page_size;
}

std::string EncodePageToken(std::string_view last_key) {
  return absl::WebSafeBase64Escape(absl::string_view(last_key.data(), last_key.size()));
}

absl::StatusOr<std::string> DecodePageToken(const std::string& token, std::string_view prefix) {
  if (token.empty()) {
    return std::string();
  }
  std::string key;
  if (!absl::WebSafeBase64Unescape(token, &key) || key.size() <= prefix.size() ||
      std::string_view(key).substr(0, prefix.size()) != prefix) {
    return errors::InvalidToken("the page token is not one this listing returned");
  }
  return key;
}

}  // namespace stepflow::engine
