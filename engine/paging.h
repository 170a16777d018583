#pragma once
// Opaque page tokens: the web-safe base64 of the last key a page returned. A token is only meaningful for
// the listing that produced it; a token that does not decode, or names a key outside that listing, is
// InvalidArgument "InvalidToken".

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace stepflow::engine {

// Page sizes: a request's page_size <= 0 means kDefaultPageSize; larger than kMaxPageSize is capped.
inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;
// Bytes of history events, executions or dead letters in one page (or one batch of a history watch), whatever
// the page size asked for: a page holds at least one item, then stops before this much. Default: 1 MiB, so
// that a page of the largest items (256 KiB payloads, 32 KiB causes) stays far below gRPC's 4 MiB message
// limit that clients receive by default.
inline constexpr std::size_t kMaxPageBytes = 1 << 20;
int ClampPageSize(int page_size);

std::string EncodePageToken(std::string_view last_key);
// The key a token names. REQUIRES the key to start with `prefix` (else InvalidToken). "" for "".
absl::StatusOr<std::string> DecodePageToken(const std::string& token, std::string_view prefix);

}  // namespace stepflow::engine
