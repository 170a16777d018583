#pragma once
// The engine's few uses of cryptography, in one place on top of OpenSSL's libcrypto: random key material
// and HMAC-SHA256 for the server's signed tokens (task tokens: engine/task_tokens.h; page tokens:
// engine/api/page_tokens.h).
//
// Thread-safety: stateless functions; OpenSSL 3's RAND and HMAC may be called from any thread.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace stepflow::engine {

// Bytes in an HMAC-SHA256 result.
inline constexpr std::size_t kHmacSha256Bytes = 32;

// `count` bytes from the operating system's random source (OpenSSL's RAND_bytes). Unavailable when it has
// none to give (RAND_bytes did not return 1): the caller must not fall back to a weaker key.
absl::StatusOr<std::string> RandomBytes(std::size_t count);

// HMAC-SHA256 of `message` under `key`: kHmacSha256Bytes raw bytes. OpenSSL only fails it for lack of
// memory or a broken library; that aborts (after a message on stderr), as the engine does on bad_alloc.
std::string HmacSha256(std::string_view key, std::string_view message);

// Whether `a` and `b` are equal, in a time that depends on their lengths only (for comparing signatures).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace stepflow::engine
