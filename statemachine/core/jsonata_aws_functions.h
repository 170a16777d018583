#pragma once
// AWS Step Functions' additions to JSONata: $partition, $range, $hash, $random (with an optional seed),
// $uuid and $parse. Plugged into the evaluator through EvaluationEnvironment::extra_functions.

#include <string_view>

#include "statemachine/jsonata/jsonata.h"
#include "statemachine/runtime_values.h"

namespace stepflow::sm {

// The AWS function named `name` (without `$`), or nullptr.
const jsonata::Builtin* FindAwsJsonataFunction(std::string_view name);

// While alive, $random() and $uuid() on this thread draw from `runtime` (which the engine records, so that
// a replay evaluates to the same values). Without one they fail. Scopes nest.
class AwsJsonataRuntimeScope {
 public:
  explicit AwsJsonataRuntimeScope(RuntimeValues* runtime);
  ~AwsJsonataRuntimeScope();
  AwsJsonataRuntimeScope(const AwsJsonataRuntimeScope&) = delete;
  AwsJsonataRuntimeScope& operator=(const AwsJsonataRuntimeScope&) = delete;

 private:
  RuntimeValues* previous_;
};

// Largest array $range and $partition build (as States.ArrayRange allows).
inline constexpr double kMaxAwsJsonataArray = 1000;

}  // namespace stepflow::sm
