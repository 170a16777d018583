#pragma once
// Conversions between the engine's records (engine/engine.h) and the public API's messages
// (proto/stepflow/v1/stepflow.proto). Pure functions; no validation beyond what a conversion needs.

#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/engine.h"
#include "statemachine/core/execution.h"
#include "statemachine/validator.h"
#include "stepflow/v1/stepflow.pb.h"

namespace stepflow::api {

google::protobuf::Timestamp ToTimestamp(common::EpochMillis t);
common::EpochMillis ToEpochMillis(const google::protobuf::Timestamp& t);

v1::ExecutionStatus ToProto(sm::ExecutionStatus status);
// UNSPECIFIED is "no filter" (nullopt). InvalidArgument for a number that is no ExecutionStatus.
absl::StatusOr<std::optional<sm::ExecutionStatus>> FromProto(v1::ExecutionStatus status);

// EXPRESS -> true; STANDARD and UNSPECIFIED -> false. InvalidArgument for an unknown number.
absl::StatusOr<bool> IsExpress(v1::StateMachineType type);

v1::StateMachine ToProto(const engine::StateMachineInfo& info);
v1::Execution ToProto(const engine::ExecutionInfoRecord& record);
v1::StateMachineVersion ToProto(const engine::StateMachineVersionInfo& info);
v1::StateMachineAlias ToProto(const engine::StateMachineAliasInfo& info);
v1::HistoryEvent ToProto(const engine::HistoryEventRecord& event);
v1::Diagnostic ToProto(const sm::Diagnostic& diagnostic);

v1::TaskAttempt ToProto(const sm::TaskAttempt& attempt);
v1::DeadLetter ToProto(const engine::DeadLetterRecord& record);
engine::DeadLetterFilter FromProto(const v1::DeadLetterFilter& filter);
// InvalidArgument "ValidationException: FIELD ..." when a time of the filter is outside what a protobuf
// Timestamp may hold (years 1 to 9999, nanos below a second).
absl::Status CheckTimestamps(const v1::DeadLetterFilter& filter);

// The filter of a List request. InvalidArgument for an unknown status.
absl::StatusOr<engine::ExecutionFilter> ToFilter(const v1::ListExecutionsRequest& request);

}  // namespace stepflow::api
