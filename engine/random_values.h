#pragma once
// RuntimeValues from a pseudo-random generator: UUIDs (version 4) and numbers for States.UUID,
// States.MathRandom and retry jitter. Not thread-safe; one per driver thread.

#include <cstdint>
#include <random>
#include <string>

#include "statemachine/runtime_values.h"

namespace stepflow::engine {

class RandomRuntimeValues final : public sm::RuntimeValues {
 public:
  // Seeds from std::random_device.
  RandomRuntimeValues();
  // A fixed seed gives a reproducible sequence (tests, benchmarks).
  explicit RandomRuntimeValues(std::uint64_t seed) : rng_(seed) {}

  std::string NewUuid() override;
  double NextRandomUnit() override;
  // Signed by `tokens` when set (not owned; must outlive this), else the unsigned default.
  std::string TaskToken(std::string_view execution_arn, std::uint64_t task_id) override;
  void set_task_tokens(const sm::TaskTokenMinter* tokens) { tokens_ = tokens; }

 private:
  std::mt19937_64 rng_;
  const sm::TaskTokenMinter* tokens_ = nullptr;
};

}  // namespace stepflow::engine
