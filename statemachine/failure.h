#pragma once
// ASL runtime failures are data, not errors: a failed path, a bad intrinsic argument or a task error
// becomes a `Failure` that Retry/Catch and the execution's history handle. absl::Status is reserved for
// "the engine could not do its job" and for invalid requests.

#include <string>
#include <utility>
#include <variant>

namespace stepflow::sm {

// Predefined ASL error names.
namespace errors {
inline constexpr char kAll[] = "States.ALL";
inline constexpr char kDataLimitExceeded[] = "States.DataLimitExceeded";
inline constexpr char kRuntime[] = "States.Runtime";
inline constexpr char kTimeout[] = "States.Timeout";
inline constexpr char kTaskFailed[] = "States.TaskFailed";
inline constexpr char kHeartbeatTimeout[] = "States.HeartbeatTimeout";
inline constexpr char kPermissions[] = "States.Permissions";
inline constexpr char kResultPathMatchFailure[] = "States.ResultPathMatchFailure";
inline constexpr char kParameterPathFailure[] = "States.ParameterPathFailure";
inline constexpr char kBranchFailed[] = "States.BranchFailed";
inline constexpr char kNoChoiceMatched[] = "States.NoChoiceMatched";
inline constexpr char kIntrinsicFailure[] = "States.IntrinsicFailure";
inline constexpr char kExceedToleratedFailureThreshold[] = "States.ExceedToleratedFailureThreshold";
inline constexpr char kItemReaderFailed[] = "States.ItemReaderFailed";
inline constexpr char kResultWriterFailed[] = "States.ResultWriterFailed";
inline constexpr char kQueryEvaluationError[] = "States.QueryEvaluationError";
}  // namespace errors

// An ASL error: its name (e.g. "States.IntrinsicFailure") and AWS's human-readable cause.
struct Failure {
  std::string error;
  std::string cause;
  // For a States.QueryEvaluationError raised by one field's expression: the field's path inside the state
  // ("Output", "Arguments/FunctionName"), which the history's EvaluationFailed event records as `location`.
  // Empty otherwise.
  std::string location = {};
};

// Either a value or an ASL `Failure`. Small on purpose: `ok()`, `value()`, `failure()`.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Failure failure) : v_(std::move(failure)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Failure& failure() const { return std::get<1>(v_); }

 private:
  std::variant<T, Failure> v_;
};

}  // namespace stepflow::sm
