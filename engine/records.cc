#include "engine/records.h"

#include "statemachine/json_parse.h"
#include "storage/store.h"

namespace stepflow::engine {

std::optional<boost::json::value> ParseStoredJson(std::string_view text) {
  sm::JsonParseOptions options;
  options.max_depth = kMaxStoredJsonDepth;
  absl::StatusOr<boost::json::value> value = sm::ParseJson(text, "", options);
  if (!value.ok()) {
    return std::nullopt;
  }
  return *std::move(value);
}

ValueFormat ValueFormatOf(std::string_view value) {
  if (value.empty()) {
    return ValueFormat::kUnknown;
  }
  if (value.front() == '{') {
    return ValueFormat::kJsonV1;
  }
  return value.front() == kValueFormatV2 ? ValueFormat::kProtobufV2 : ValueFormat::kUnknown;
}

std::string HistoryPrefix(std::string_view execution_id) {
  std::string key;
  storage::AppendString(key, execution_id);
  return key;
}

std::string HistoryKey(std::string_view execution_id, std::int64_t event_id) {
  std::string key;
  key.reserve(execution_id.size() + 1 + 8);  // one allocation: an ARN's key would otherwise grow twice
  storage::AppendString(key, execution_id);
  storage::AppendUint64BigEndian(key, static_cast<std::uint64_t>(event_id));
  return key;
}

std::int64_t HistoryKeyEventId(std::string_view prefix, std::string_view key) {
  if (key.size() != prefix.size() + 8 || key.substr(0, prefix.size()) != prefix) {
    return -1;
  }
  return static_cast<std::int64_t>(storage::ReadUint64BigEndian(key.substr(prefix.size())));
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

std::string InputPrefix(std::string_view execution_id) {
  std::string key;
  storage::AppendString(key, execution_id);
  return key;
}

std::string InputKey(std::string_view execution_id, std::int64_t sequence) {
  std::string key = InputPrefix(execution_id);
  storage::AppendUint64BigEndian(key, static_cast<std::uint64_t>(sequence));
  return key;
}

std::string DefinitionPrefix(std::string_view name) {
  std::string key;
  storage::AppendString(key, name);
  return key;
}

std::string DefinitionKey(std::string_view name, std::int64_t version) {
  std::string key = DefinitionPrefix(name);
  storage::AppendUint64BigEndian(key, static_cast<std::uint64_t>(version));
  return key;
}

std::string IndexPrefix(std::string_view state_machine, std::string_view status) {
  std::string key;
  if (state_machine.empty() && status.empty()) {
    storage::AppendString(key, "by_start");
  } else if (state_machine.empty()) {
    storage::AppendString(key, "by_status");
    storage::AppendString(key, status);
  } else if (status.empty()) {
    storage::AppendString(key, "by_machine");
    storage::AppendString(key, state_machine);
  } else {
    storage::AppendString(key, "by_machine_status");
    storage::AppendString(key, state_machine);
    storage::AppendString(key, status);
  }
  return key;
}

std::string IndexKey(std::string_view state_machine, std::string_view status, common::EpochMillis start,
                     std::string_view execution_id) {
  std::string key = IndexPrefix(state_machine, status);
  storage::AppendUint64BigEndian(key, static_cast<std::uint64_t>(start));
  storage::AppendString(key, execution_id);
  return key;
}

std::string QualifiedIndexPrefix(std::string_view qualified_arn) {
  std::string key;
  storage::AppendString(key, "by_qualified_arn");
  storage::AppendString(key, qualified_arn);
  return key;
}

std::string QualifiedIndexKey(std::string_view qualified_arn, common::EpochMillis start,
                              std::string_view execution_id) {
  std::string key = QualifiedIndexPrefix(qualified_arn);
  storage::AppendUint64BigEndian(key, static_cast<std::uint64_t>(start));
  storage::AppendString(key, execution_id);
  return key;
}

std::string_view IndexKeyExecutionId(std::string_view prefix, std::string_view key) {
  if (key.size() < prefix.size() + 9 || key.substr(0, prefix.size()) != prefix || key.back() != '\0') {
    return {};
  }
  std::string_view id = key.substr(prefix.size() + 8);
  return id.substr(0, id.size() - 1);
}

common::EpochMillis IndexKeyStart(std::string_view prefix, std::string_view key) {
  return static_cast<common::EpochMillis>(storage::ReadUint64BigEndian(key.substr(prefix.size(), 8)));
}

}  // namespace stepflow::engine
