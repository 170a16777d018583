#pragma once
// The execution record: the value of an execution's row in the executions column (schema in
// storage/FORMAT.md). The driver rewrites it in every commit of the execution.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/engine.h"
#include "statemachine/core/execution.h"

namespace stepflow::engine {

// What the engine knows of an execution beyond sm::ExecutionInfo.
struct ExecutionMeta {
  std::int64_t state_machine_version = 0;  // 0 for `stepflow run` (no stored definition)
  std::string input_text;                  // the input as submitted (durable mode fills it in when empty)
};

// A decoded execution record.
struct StoredExecution {
  ExecutionInfoRecord record;  // output as AWS-style JSON text
  std::int64_t last_event_id = 0;
  bool express = false;
};

// The record as the API shows it; `now` is the stop time when the execution has ended.
ExecutionInfoRecord MakeExecutionInfoRecord(const sm::ExecutionInfo& info, const ExecutionMeta& meta,
                                            const sm::Execution& e, common::EpochMillis now);
// `now` is the stop time when the execution has ended.
std::string EncodeExecutionRecord(const sm::ExecutionInfo& info, const ExecutionMeta& meta, const sm::Execution& e,
                                  common::EpochMillis now);
// The record of `stored` as it is (an execution ended without replaying it, see engine/quarantine.h).
std::string EncodeStoredExecution(const StoredExecution& stored);
// DataLoss when `value` is not an execution record this release can read.
absl::StatusOr<StoredExecution> DecodeExecutionRecord(std::string_view value);

// "RUNNING" -> kRunning, ...; nullopt for an unknown name.
std::optional<sm::ExecutionStatus> ParseExecutionStatus(std::string_view name);

}  // namespace stepflow::engine
