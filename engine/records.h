#pragma once
// Keys the engine writes to the Store and the format byte of its values (storage/FORMAT.md is the authority
// on both). Version-1 values are JSON objects with a "v":1 field (read only: engine/records_v1.h); every value
// written today is version 2: the byte kValueFormatV2, then a protobuf message of
// proto/stepflow/storage/v1/records.proto.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/clock.h"

namespace stepflow::engine {

// The first byte of a version-2 value. It can never begin a version-1 value, which is a JSON object ('{').
inline constexpr char kValueFormatV2 = 0x02;

enum class ValueFormat { kJsonV1, kProtobufV2, kUnknown };
// Which version `value` is, by its first byte.
ValueFormat ValueFormatOf(std::string_view value);

// The deepest nesting a JSON value inside a stored record may have. Values the engine writes nest deeper
// than the 32 levels allowed at the door for execution input and task output: a Parameters template
// (definitions nest up to 400 levels) or a ResultPath wraps them. Bounded so that a corrupt record cannot
// make a reader recurse without limit.
inline constexpr std::size_t kMaxStoredJsonDepth = 10'000;

// Parses JSON text kept inside a stored record (a task's input, a task's output, a dead letter's input, a
// version-1 record itself). nullopt when the text is not JSON, nests deeper than kMaxStoredJsonDepth, or
// holds a number outside the double range (`1e400`): such a number has no JSON text, so the engine never
// writes one, and a record accepted with it would be re-encoded into one that no longer reads. Every record
// decoder parses stored JSON through this, so that it refuses (DataLoss) exactly what the encoder would not
// write.
std::optional<boost::json::value> ParseStoredJson(std::string_view text);


// executions: the execution id (ARN) itself is the key.
// history: execution id, then an event id (big-endian) so that a prefix scan reads events in order. A
// version-2 row holds the events of one commit and is keyed by the last one's id (engine/history_rows.h).
std::string HistoryKey(std::string_view execution_id, std::int64_t event_id);
std::string HistoryPrefix(std::string_view execution_id);
// The event id at the end of a history key below `prefix`; -1 when `key` is not one.
std::int64_t HistoryKeyEventId(std::string_view prefix, std::string_view key);
// timers: due time first, so that a scan from the start finds the earliest timers.
std::string TimerKey(common::EpochMillis due, std::string_view execution_id, std::uint64_t timer_id);
// tasks: queue (the Task's resource), then execution and task id.
std::string TaskKey(std::string_view queue, std::string_view execution_id, std::uint64_t task_id);
// inputs: execution id, then the input's sequence number (0 = the start).
std::string InputKey(std::string_view execution_id, std::int64_t sequence);
std::string InputPrefix(std::string_view execution_id);
// definitions: state machine name, then the version; version 0 is the state machine's head record.
std::string DefinitionKey(std::string_view name, std::int64_t version);
std::string DefinitionPrefix(std::string_view name);

// indexes: four indexes of executions, each ending in start time and execution id so that a prefix scan
// lists executions by start time. The value is empty.
//   by_start:          Str("by_start") U64(start) Str(id)
//   by_status:         Str("by_status") Str(status) U64(start) Str(id)
//   by_machine:        Str("by_machine") Str(state machine name) U64(start) Str(id)
//   by_machine_status: Str("by_machine_status") Str(state machine name) Str(status) U64(start) Str(id)
// An empty `state_machine` or `status` leaves that component out (the prefix of the matching index).
std::string IndexPrefix(std::string_view state_machine, std::string_view status);
std::string IndexKey(std::string_view state_machine, std::string_view status, common::EpochMillis start,
                     std::string_view execution_id);
// A fifth index, status-independent, of the executions started on a published version or through an alias
// (issue 12): written once in the start's batch, one entry per ARN the execution records, never changed.
//   by_qualified_arn:  Str("by_qualified_arn") Str(version or alias ARN) U64(start) Str(id)
// Executions started before this index existed have no entry (storage/FORMAT.md).
std::string QualifiedIndexPrefix(std::string_view qualified_arn);
std::string QualifiedIndexKey(std::string_view qualified_arn, common::EpochMillis start,
                              std::string_view execution_id);
// The execution id at the end of an index key; empty if `key` is not an index key below `prefix`.
std::string_view IndexKeyExecutionId(std::string_view prefix, std::string_view key);
// The start time in an index key below `prefix`. REQUIRES: IndexKeyExecutionId(prefix, key) is not empty.
common::EpochMillis IndexKeyStart(std::string_view prefix, std::string_view key);

}  // namespace stepflow::engine
