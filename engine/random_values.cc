#include "engine/random_values.h"

#include <cstdio>

namespace stepflow::engine {

RandomRuntimeValues::RandomRuntimeValues() : rng_(std::random_device{}()) {}

std::string RandomRuntimeValues::NewUuid() {
  std::uint64_t hi = rng_();
  std::uint64_t lo = rng_();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  // The 32 hex digits of hi and lo, most significant first, as 8-4-4-4-12 ("%08x-%04x-%04x-%04x-%012llx"
  // of the fields), without printf: this is on the path of every execution start.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t pos = 0;
  auto put = [&](std::uint64_t word) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
        ++pos;  // a dash
      }
      out[pos++] = kHex[(word >> shift) & 0xF];
    }
  };
  put(hi);
  put(lo);
  return out;
}

double RandomRuntimeValues::NextRandomUnit() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

std::string RandomRuntimeValues::TaskToken(std::string_view execution_arn, std::uint64_t task_id) {
  return tokens_ != nullptr ? tokens_->Mint(execution_arn, task_id) : sm::UnsignedTaskToken(execution_arn, task_id);
}

}  // namespace stepflow::engine
