#pragma once
// Dead letters: Task work whose retries were exhausted, recorded in the `dead_letters` column family in the
// commit whose decision gave up on it (sm::DeadLetterCommand). An entry's id is the task token of its last
// attempt, "<execution ARN>#<task id>"; its key is Str(execution id) U64(task id). Value schema:
// storage/FORMAT.md.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "statemachine/core/execution.h"

namespace stepflow::engine {

struct DeadLetterRecord {
  std::string id;
  std::string queue;
  std::string execution_id;
  std::string state_machine_arn;
  std::string state_name;
  std::string resource;
  std::uint64_t task_id = 0;
  boost::json::value input;
  std::vector<sm::TaskAttempt> attempts;
  common::EpochMillis created = 0;

  // The last attempt's error and cause.
  const std::string& error() const;
  const std::string& cause() const;
};

std::string DeadLetterKey(std::string_view execution_id, std::uint64_t task_id);
// The prefix of the keys of an execution's dead letters.
std::string DeadLetterPrefix(std::string_view execution_id);
std::string EncodeDeadLetter(const DeadLetterRecord& record);
// DataLoss for a value this release cannot read.
absl::StatusOr<DeadLetterRecord> DecodeDeadLetter(std::string_view value);

// The record the engine stores for `command`, decided by execution `execution_id` at `now`.
DeadLetterRecord MakeDeadLetter(std::string_view execution_id, std::string_view state_machine_arn,
                                const sm::DeadLetterCommand& command, common::EpochMillis now);

}  // namespace stepflow::engine
