#include "engine/random_values.h"

#include <cstdio>

namespace stepflow::engine {

RandomRuntimeValues::RandomRuntimeValues() : rng_(std::random_device{}()) {}

std::string RandomRuntimeValues::NewUuid() {
  std::uint64_t hi = rng_();
  std::uint64_t lo = rng_();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

double RandomRuntimeValues::NextRandomUnit() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

std::string RandomRuntimeValues::TaskToken(std::string_view execution_arn, std::uint64_t task_id) {
  return tokens_ != nullptr ? tokens_->Mint(execution_arn, task_id) : sm::UnsignedTaskToken(execution_arn, task_id);
}

}  // namespace stepflow::engine
