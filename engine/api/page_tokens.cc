#include "engine/api/page_tokens.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/crypto.h"

namespace stepflow::api {
namespace {

constexpr std::size_t kProcessKeyBytes = 32;
constexpr std::size_t kTagBytes = 16;  // of the 32-byte HMAC
constexpr char kSeparator = '.';

// The key of an engine that keeps none (engine::Engine::PageTokenKey() is empty): drawn once per process.
const std::string& ProcessKey() {
  static std::string key;
  static std::once_flag once;
  std::call_once(once, [] {
    absl::StatusOr<std::string> random = engine::RandomBytes(kProcessKeyBytes);
    if (!random.ok()) {
      // A predictable key would let anyone forge page tokens; nothing safe can be done without randomness.
      std::fprintf(stderr, "stepflow: %s\n", std::string(random.status().message()).c_str());
      std::abort();
    }
    key = *std::move(random);
  });
  return key;
}

// A keyed HMAC for `key`, kept per thread for the last key it was asked for: an engine's key is the same for
// its life, so a listing signs its page token without hashing the key's blocks again.
const engine::HmacSha256Key& SignerFor(const std::string& key) {
  thread_local std::string signer_key;
  thread_local std::optional<engine::HmacSha256Key> signer;
  if (!signer.has_value() || signer_key != key) {
    signer.emplace(key);
    signer_key = key;
  }
  return *signer;
}

std::string Tag(const engine::Engine& engine, std::string_view listing, std::string_view scope,
                std::string_view engine_token) {
  // Lengths first, so that no two (listing, scope, token) triples hash the same text.
  std::string text = absl::StrCat(listing.size(), ":", scope.size(), ":", engine_token.size(), ":");
  text.append(listing).append(scope).append(engine_token);
  const std::string engine_key = engine.PageTokenKey();
  return SignerFor(engine_key.empty() ? ProcessKey() : engine_key).Sign(text).substr(0, kTagBytes);
}

}  // namespace

std::string SealPageToken(const engine::Engine& engine, std::string_view listing, std::string_view scope,
                          const std::string& engine_token) {
  if (engine_token.empty()) {
    return "";
  }
  std::string tag = Tag(engine, listing, scope, engine_token);
  return absl::StrCat(absl::WebSafeBase64Escape(engine_token), std::string(1, kSeparator),
                      absl::WebSafeBase64Escape(tag));
}

absl::StatusOr<std::string> OpenPageToken(const engine::Engine& engine, std::string_view listing,
                                          std::string_view scope, const std::string& token) {
  if (token.empty()) {
    return std::string();
  }
  auto invalid = [] {
    return absl::InvalidArgumentError("InvalidToken: the page token is not one this listing returned "
                                      "(with these filters, from this server's store)");
  };
  std::size_t dot = token.find(kSeparator);
  std::string engine_token;
  std::string tag;
  if (dot == std::string::npos || !absl::WebSafeBase64Unescape(token.substr(0, dot), &engine_token) ||
      !absl::WebSafeBase64Unescape(token.substr(dot + 1), &tag) || tag.size() != kTagBytes) {
    return invalid();
  }
  if (!engine::ConstantTimeEquals(Tag(engine, listing, scope, engine_token), tag)) {
    return invalid();
  }
  return engine_token;
}

}  // namespace stepflow::api
