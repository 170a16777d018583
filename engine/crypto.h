#pragma once
// The engine's few uses of cryptography, in one place on top of OpenSSL's libcrypto: random key material
// and HMAC-SHA256 for the server's signed tokens (task tokens: engine/task_tokens.h; page tokens:
// engine/api/page_tokens.h).
//
// Thread-safety: stateless functions; OpenSSL 3's RAND and HMAC may be called from any thread.

#include <cstddef>
#include <memory>
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

// HMAC-SHA256 under one key, with the key's padded blocks hashed once here instead of on every Sign: a
// token signature costs two SHA-256 continuations instead of OpenSSL's one-shot HMAC (which looks the digest
// up, allocates its contexts and hashes both key blocks on each call, ~4x the instructions).
//
// Thread-safety: Sign may be called from any number of threads at once (it copies the keyed states into its
// own context); copies share the keyed states, which are never modified after construction.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view key);

  // The same bytes as HmacSha256(key, message). Aborts like it when OpenSSL fails.
  std::string Sign(std::string_view message) const;

 private:
  struct Keyed;
  std::shared_ptr<const Keyed> keyed_;
};

// Whether `a` and `b` are equal, in a time that depends on their lengths only (for comparing signatures).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace stepflow::engine
