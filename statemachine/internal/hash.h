#pragma once
// Message digests for States.Hash, written out here so that the pure statemachine module needs no
// crypto library. Not for security purposes: the digests are only ever exposed as ASL values.
//
// Thread-safety: free functions without shared state; safe to call concurrently.

#include <string>
#include <string_view>

namespace stepflow::sm::internal {

// Each returns the lower-case hexadecimal digest of the bytes of `data`.
std::string Md5Hex(std::string_view data);
std::string Sha1Hex(std::string_view data);
std::string Sha256Hex(std::string_view data);
std::string Sha384Hex(std::string_view data);
std::string Sha512Hex(std::string_view data);

}  // namespace stepflow::sm::internal
