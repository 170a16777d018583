#pragma once
// The input log: every input applied to an execution (start, task started/heartbeat/succeeded/failed, timer
// fired, stop), with the `now` it was applied at and every value drawn from RuntimeValues while applying it. It is
// committed in the same batch as the events the input produced, so re-applying the log in order to a fresh
// sm::Execution (with a ReplayingRuntimeValues) rebuilds exactly the state the live execution had: that is
// how the engine recovers (engine/replay.h). Row layout and value schema: storage/FORMAT.md (`inputs`).

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/semantics_version.h"
#include "statemachine/core/execution.h"
#include "statemachine/runtime_values.h"

namespace stepflow::engine {

// One value drawn from RuntimeValues: a UUID (string) or a random unit (double).
using DrawnValue = std::variant<std::string, double>;

struct InputRecord {
  // Serialized by name ("start", "taskStarted", ...); the numbers are not stored.
  enum class Kind {
    kStart,
    kTaskStarted,
    kTaskSucceeded,
    kTaskFailed,
    kTimerFired,
    kStop,
    kTaskHeartbeat,
    kRedrive,
    kDeadLetterDiscarded,
    kContinue,  // the previous decision yielded at its limits (sm::Execution::yielded): go on
  };
  Kind kind = Kind::kStart;
  common::EpochMillis now = 0;
  std::uint64_t id = 0;        // the task (kTask*, kDeadLetterDiscarded) or timer (kTimerFired)
  boost::json::value payload;  // kStart: the execution input; kTaskSucceeded: the task's output
  std::string error;           // kTaskFailed, kStop
  std::string cause;           // kTaskFailed, kStop
  std::string worker;          // kTaskStarted: the worker's identity
  std::string state_name;      // kDeadLetterDiscarded: the dead letter's state
  sm::RedrivenDeadLetters dead_letters;  // kRedrive
  std::vector<DrawnValue> drawn;
  // kStart only: the execution's identity.
  sm::ExecutionInfo info;
  std::int64_t state_machine_version = 0;
  std::string input_text;      // the input as submitted; payload is ParseExecutionInput(input_text)
  sm::ExecutionLimits limits;  // the limits the execution runs under, whatever the server's later settings
  int semantics_version = kSemanticsVersion;  // the interpreter rules it started under (semantics_version.h)
};

// The one JSON parser for execution input text, so that replay parses exactly as the live start did.
// InvalidArgument when `text` is not JSON or holds a number outside the double range (sm::ParseJson).
absl::StatusOr<boost::json::value> ParseExecutionInput(std::string_view text);

// An `inputs` row holds the inputs one commit applied to one execution, in order, keyed by the first one's
// sequence number (storage/FORMAT.md, "Input records"): a task's result and the TaskStarted of the task it
// scheduled, when a worker's poll was waiting, share one row. A row is closed at kMaxInputsPerRow inputs or
// once it holds kMaxInputRowBytes, and the commit's next input begins another. Rows written before hold one each.
inline constexpr std::size_t kMaxInputsPerRow = 64;
inline constexpr std::size_t kMaxInputRowBytes = 1 << 20;

// A row of the one input `input`.
std::string EncodeInputRecord(const InputRecord& input);
// Appends `input` to `row` (a row of the inputs before it, or empty: then the row of `input` alone).
void AppendToInputRow(std::string& row, const InputRecord& input);
// The inputs of an `inputs` row, in order (at least one). DataLoss when `value` is not a row this release can
// read, holds more than kMaxInputsPerRow inputs, a start after its first, or an input with a field its kind
// does not use (see HasOnlyTheFieldsOfItsKind).
absl::StatusOr<std::vector<InputRecord>> DecodeInputRow(std::string_view value);
// The input of a row of one input. DataLoss as DecodeInputRow, and for a row of several.
absl::StatusOr<InputRecord> DecodeInputRecord(std::string_view value);
// Whether `input` leaves empty every field its kind does not use, as every encoder (version 1 or 2) wrote it:
// error and cause belong to TaskFailed and Stop, worker to TaskStarted, state_name to DeadLetterDiscarded,
// dead_letters to Redrive. A decoder refuses a record with others, which would not survive re-encoding.
bool HasOnlyTheFieldsOfItsKind(const InputRecord& input);

// Feeds `input` to the interpreter: the one place, live or replaying, where inputs become decisions.
absl::StatusOr<sm::Decision> ApplyInputRecord(sm::Execution& execution, const InputRecord& input,
                                              sm::RuntimeValues& rv);

// Passes draws through to `base` and appends each value to `sink` (which must outlive the call). Not
// thread-safe.
class RecordingRuntimeValues final : public sm::RuntimeValues {
 public:
  explicit RecordingRuntimeValues(sm::RuntimeValues* base) : base_(base) {}
  // Where the following draws are appended; nullptr records nothing.
  void set_sink(std::vector<DrawnValue>* sink) { sink_ = sink; }
  std::string NewUuid() override;
  double NextRandomUnit() override;
  // Deterministic, so passed through and not recorded.
  std::string TaskToken(std::string_view execution_arn, std::uint64_t task_id) override {
    return base_->TaskToken(execution_arn, task_id);
  }

 private:
  sm::RuntimeValues* base_;
  std::vector<DrawnValue>* sink_ = nullptr;
};

// Hands out recorded values in order. A draw of the wrong kind or past the end returns a placeholder and
// marks the replay as diverged (ok() == false).
class ReplayingRuntimeValues final : public sm::RuntimeValues {
 public:
  // Task tokens are minted by `tokens` (not owned; nullptr: the unsigned default), as the live run did.
  explicit ReplayingRuntimeValues(const std::vector<DrawnValue>& values, const sm::TaskTokenMinter* tokens = nullptr)
      : values_(values), tokens_(tokens) {}
  std::string NewUuid() override;
  double NextRandomUnit() override;
  std::string TaskToken(std::string_view execution_arn, std::uint64_t task_id) override {
    return tokens_ != nullptr ? tokens_->Mint(execution_arn, task_id)
                              : sm::UnsignedTaskToken(execution_arn, task_id);
  }
  // Every value was drawn, each as the kind it was recorded as.
  bool ok() const { return !diverged_ && next_ == values_.size(); }

 private:
  const std::vector<DrawnValue>& values_;
  const sm::TaskTokenMinter* tokens_;
  std::size_t next_ = 0;
  bool diverged_ = false;
};

}  // namespace stepflow::engine
