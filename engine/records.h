#pragma once
// Keys the engine writes to the Store (storage/FORMAT.md is the authority on their layout). Values are JSON
// documents with a "v" (format version) field; their schemas are in FORMAT.md too.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace stepflow::engine {

inline constexpr int kRecordVersion = 1;

// executions: the execution id (ARN) itself is the key.
// history: execution id, then the event id (big-endian) so that a prefix scan reads events in order.
std::string HistoryKey(std::string_view execution_id, std::int64_t event_id);
std::string HistoryPrefix(std::string_view execution_id);
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
// The execution id at the end of an index key; empty if `key` is not an index key below `prefix`.
std::string_view IndexKeyExecutionId(std::string_view prefix, std::string_view key);
// The start time in an index key below `prefix`. REQUIRES: IndexKeyExecutionId(prefix, key) is not empty.
common::EpochMillis IndexKeyStart(std::string_view prefix, std::string_view key);

}  // namespace stepflow::engine
