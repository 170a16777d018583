#pragma once
// Keys and values the engine writes to the Store (see storage/FORMAT.md). Values are JSON documents with
// a "v" (format version) field; the durable engine issue moves them to versioned protobufs.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace stepflow::engine {

inline constexpr int kRecordVersion = 1;

// history: execution id, then the event id (big-endian) so that a prefix scan reads events in order.
std::string HistoryKey(std::string_view execution_id, std::int64_t event_id);
std::string HistoryPrefix(std::string_view execution_id);
// timers: due time first, so that a scan from the start finds the earliest timers.
std::string TimerKey(common::EpochMillis due, std::string_view execution_id, std::uint64_t timer_id);
// tasks: queue (the Task's resource), then execution and task id.
std::string TaskKey(std::string_view queue, std::string_view execution_id, std::uint64_t task_id);

}  // namespace stepflow::engine
