#include "engine/records.h"

#include "storage/store.h"

namespace stepflow::engine {

std::string HistoryPrefix(std::string_view execution_id) {
  std::string key;
  storage::AppendString(key, execution_id);
  return key;
}

std::string HistoryKey(std::string_view execution_id, std::int64_t event_id) {
  std::string key = HistoryPrefix(execution_id);
  storage::AppendUint64BigEndian(key, static_cast<std::uint64_t>(event_id));
  return key;
}

std::string TimerKey(common::EpochMillis due, std::string_view execution_id, std::uint64_t timer_id) {
  std::string key;
  storage::AppendUint64BigEndian(key, static_cast<std::uint64_t>(due));
  storage::AppendString(key, execution_id);
  storage::AppendUint64BigEndian(key, timer_id);
  return key;
}

std::string TaskKey(std::string_view queue, std::string_view execution_id, std::uint64_t task_id) {
  std::string key;
  storage::AppendString(key, queue);
  storage::AppendString(key, execution_id);
  storage::AppendUint64BigEndian(key, task_id);
  return key;
}

}  // namespace stepflow::engine
