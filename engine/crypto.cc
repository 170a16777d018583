#include "engine/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace stepflow::engine {

absl::StatusOr<std::string> RandomBytes(std::size_t count) {
  std::string bytes(count, '\0');
  if (count > INT_MAX ||
      RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) != 1) {
    return absl::UnavailableError(absl::StrCat("the operating system's random source gave no ", count,
                                               " random bytes (OpenSSL RAND_bytes failed)"));
  }
  return bytes;
}

namespace {

[[noreturn]] void HmacFailed() {
  std::fputs("stepflow: OpenSSL's HMAC-SHA256 failed\n", stderr);
  std::abort();
}

void Check(int openssl_result) {
  if (openssl_result != 1) {
    HmacFailed();
  }
}

// SHA-256 as fetched once from OpenSSL's default provider (EVP_sha256() is looked up again on every init).
const EVP_MD* Sha256() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) {
      HmacFailed();
    }
    return fetched;  // kept for the process's life
  }();
  return md;
}

// SHA-256's block: HMAC pads (or hashes, when longer) its key to this length.
constexpr std::size_t kSha256BlockBytes = 64;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

MdCtx NewMdCtx() {
  MdCtx ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) {
    HmacFailed();
  }
  return ctx;
}

void Update(EVP_MD_CTX* ctx, std::string_view bytes) { Check(EVP_DigestUpdate(ctx, bytes.data(), bytes.size())); }

}  // namespace

// RFC 2104: HMAC(K, m) = H((K' ^ opad) || H((K' ^ ipad) || m)), K' the key padded to the block (hashed first
// when longer). `inner` and `outer` hold SHA-256 after absorbing K' ^ ipad and K' ^ opad.
struct HmacSha256Key::Keyed {
  MdCtx inner;
  MdCtx outer;
};

HmacSha256Key::HmacSha256Key(std::string_view key) {
  std::string block(kSha256BlockBytes, '\0');
  if (key.size() > kSha256BlockBytes) {
    MdCtx hash = NewMdCtx();
    unsigned int length = 0;
    Check(EVP_DigestInit_ex2(hash.get(), Sha256(), nullptr));
    Update(hash.get(), key);
    Check(EVP_DigestFinal_ex(hash.get(), reinterpret_cast<unsigned char*>(block.data()), &length));
  } else {
    block.replace(0, key.size(), key);
  }
  auto keyed = std::make_shared<Keyed>();
  keyed->inner = NewMdCtx();
  keyed->outer = NewMdCtx();
  std::string pad(kSha256BlockBytes, '\0');
  for (auto [ctx, byte] : {std::pair{keyed->inner.get(), 0x36}, std::pair{keyed->outer.get(), 0x5c}}) {
    for (std::size_t i = 0; i < kSha256BlockBytes; ++i) {
      pad[i] = static_cast<char>(block[i] ^ byte);
    }
    Check(EVP_DigestInit_ex2(ctx, Sha256(), nullptr));
    Update(ctx, pad);
  }
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
  keyed_ = std::move(keyed);
}

std::string HmacSha256Key::Sign(std::string_view message) const {
  thread_local MdCtx work = NewMdCtx();
  unsigned char inner_hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  Check(EVP_MD_CTX_copy_ex(work.get(), keyed_->inner.get()));
  Update(work.get(), message);
  Check(EVP_DigestFinal_ex(work.get(), inner_hash, &length));
  if (length != kHmacSha256Bytes) {
    HmacFailed();
  }
  std::string mac(kHmacSha256Bytes, '\0');
  Check(EVP_MD_CTX_copy_ex(work.get(), keyed_->outer.get()));
  Check(EVP_DigestUpdate(work.get(), inner_hash, kHmacSha256Bytes));
  Check(EVP_DigestFinal_ex(work.get(), reinterpret_cast<unsigned char*>(mac.data()), &length));
  if (length != kHmacSha256Bytes) {
    HmacFailed();
  }
  return mac;
}

std::string HmacSha256(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  if (key.size() > INT_MAX ||
      HMAC(Sha256(), key.data(), static_cast<int>(key.size()), data, message.size(), mac, &length) == nullptr ||
      length != kHmacSha256Bytes) {
    HmacFailed();
  }
  return std::string(reinterpret_cast<const char*>(mac), kHmacSha256Bytes);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace stepflow::engine
