#pragma once
// Version-1 values: JSON objects with "v":1, as releases before the protobuf format (version 2) wrote them.
// Nothing writes them any more; they are read wherever a version-2 value could be, so that a store written
// by an older release opens, recovers and reads the same (storage/FORMAT.md, "Version 1"). Frozen: never
// edit what these decoders accept or how they map it (tests/unit/engine/format_test.cc holds them to it).

#include <string_view>

#include "absl/status/statusor.h"
#include "engine/dead_letters.h"
#include "engine/definitions.h"
#include "engine/engine.h"
#include "engine/execution_record.h"
#include "engine/input_log.h"
#include "statemachine/core/execution.h"

namespace stepflow::engine {

// Each returns DataLoss when `value` is not a well-formed version-1 value of its kind.
absl::StatusOr<StoredExecution> DecodeExecutionRecordV1(std::string_view value);
absl::StatusOr<InputRecord> DecodeInputRecordV1(std::string_view value);
absl::StatusOr<DeadLetterRecord> DecodeDeadLetterV1(std::string_view value);
absl::StatusOr<DefinitionHead> DecodeDefinitionHeadV1(std::string_view value);
absl::StatusOr<DefinitionVersionRow> DecodeDefinitionVersionV1(std::string_view value);
// One event per row, in AWS's JSON form (timestamp as ISO-8601 text).
absl::StatusOr<HistoryEventRecord> DecodeHistoryEventV1(std::string_view value);
// The task id and resource are in the row's key, not in the value: they are left 0 / empty.
absl::StatusOr<sm::TaskCommand> DecodeTaskRecordV1(std::string_view value);

}  // namespace stepflow::engine
