#include "engine/api/page_tokens.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace stepflow::api {
namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kTagBytes = 16;  // of the 32-byte HMAC
constexpr char kSeparator = '.';

const std::array<unsigned char, kKeyBytes>& Key() {
  static std::array<unsigned char, kKeyBytes> key{};
  static std::once_flag once;
  std::call_once(once, [] { RAND_bytes(key.data(), static_cast<int>(key.size())); });
  return key;
}

std::string Tag(std::string_view listing, std::string_view scope, std::string_view engine_token) {
  // Lengths first, so that no two (listing, scope, token) triples hash the same text.
  std::string text = absl::StrCat(listing.size(), ":", scope.size(), ":", engine_token.size(), ":");
  text.append(listing).append(scope).append(engine_token);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), Key().data(), static_cast<int>(Key().size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), kTagBytes);
}

}  // namespace

std::string SealPageToken(std::string_view listing, std::string_view scope, const std::string& engine_token) {
  if (engine_token.empty()) {
    return "";
  }
  std::string tag = Tag(listing, scope, engine_token);
  return absl::StrCat(absl::WebSafeBase64Escape(engine_token), std::string(1, kSeparator),
                      absl::WebSafeBase64Escape(tag));
}

absl::StatusOr<std::string> OpenPageToken(std::string_view listing, std::string_view scope, const std::string& token) {
  if (token.empty()) {
    return std::string();
  }
  auto invalid = [] {
    return absl::InvalidArgumentError("InvalidToken: the page token is not one this listing returned "
                                      "(with these filters, since the server started)");
  };
  std::size_t dot = token.find(kSeparator);
  std::string engine_token;
  std::string tag;
  if (dot == std::string::npos || !absl::WebSafeBase64Unescape(token.substr(0, dot), &engine_token) ||
      !absl::WebSafeBase64Unescape(token.substr(dot + 1), &tag) || tag.size() != kTagBytes) {
    return invalid();
  }
  std::string expected = Tag(listing, scope, engine_token);
  if (CRYPTO_memcmp(expected.data(), tag.data(), kTagBytes) != 0) {
    return invalid();
  }
  return engine_token;
}

}  // namespace stepflow::api
