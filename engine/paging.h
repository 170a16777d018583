#pragma once
// Opaque page tokens: the web-safe base64 of the last key a page returned. A token is only meaningful for
// the listing that produced it; a token that does not decode, or names a key outside that listing, is
// InvalidArgument "InvalidToken".

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace stepflow::engine {

// Page sizes: a request's page_size <= 0 means kDefaultPageSize; larger than kMaxPageSize is capped.
inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;
int ClampPageSize(int page_size);

std::string EncodePageToken(std::string_view last_key);
// The key a token names. REQUIRES the key to start with `prefix` (else InvalidToken). "" for "".
absl::StatusOr<std::string> DecodePageToken(const std::string& token, std::string_view prefix);

}  // namespace stepflow::engine
