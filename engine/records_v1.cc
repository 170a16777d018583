#include "engine/records_v1.h"

#include <boost/json.hpp>
#include <cmath>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/records.h"
#include "engine/tasks.h"
#include "statemachine/json_text.h"
#include "statemachine/timestamp.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

constexpr int kVersion1 = 1;

// The object of a version-1 value, or nullptr (parse error, not an object, "v" is not 1).
json::object* ParseV1(std::string_view value, json::value& storage) {
  std::optional<json::value> parsed = ParseStoredJson(value);
  if (!parsed) {
    return nullptr;
  }
  storage = *std::move(parsed);
  json::object* o = storage.if_object();
  if (o == nullptr || o->if_contains("v") == nullptr || o->at("v") != json::value(kVersion1)) {
    return nullptr;
  }
  return o;
}

absl::Status Malformed(std::string_view what, std::string_view value) {
  return absl::DataLossError(absl::StrCat("malformed ", std::string(what), ": ", std::string(value.substr(0, 200))));
}

// Reads fields of a record without throwing; any missing or mistyped field makes `ok` false.
struct FieldReader {
  const json::object& o;
  bool ok = true;

  std::string String(std::string_view key, bool required = true) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
      ok = ok && !required && v == nullptr;
      return {};
    }
    return std::string(v->get_string());
  }
  std::int64_t Int(std::string_view key, bool required = true) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_int64()) {
      ok = ok && !required && v == nullptr;
      return 0;
    }
    return v->get_int64();
  }
  bool Bool(std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_bool()) {
      ok = ok && v == nullptr;
      return false;
    }
    return v->get_bool();
  }
};

// A non-negative integer field, without throwing.
bool ReadUint(const json::value* v, std::uint64_t& out) {
  if (v == nullptr || !v->is_number()) {
    return false;
  }
  boost::system::error_code ec;
  out = v->to_number<std::uint64_t>(ec);
  return !ec;
}

// An optional number field (absent: `out` unchanged).
template <typename T>
bool ReadNumber(const json::object& o, std::string_view key, T& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    return true;
  }
  boost::system::error_code ec;
  out = v->to_number<T>(ec);
  return !ec;
}

// An optional string field (absent: `out` unchanged).
bool ReadString(const json::object& o, std::string_view key, std::string& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    return true;
  }
  if (!v->is_string()) {
    return false;
  }
  out = std::string(v->get_string());
  return true;
}

constexpr std::pair<InputRecord::Kind, std::string_view> kKindNames[] = {
    {InputRecord::Kind::kStart, "start"},
    {InputRecord::Kind::kTaskStarted, "taskStarted"},
    {InputRecord::Kind::kTaskSucceeded, "taskSucceeded"},
    {InputRecord::Kind::kTaskFailed, "taskFailed"},
    {InputRecord::Kind::kTimerFired, "timerFired"},
    {InputRecord::Kind::kStop, "stop"},
    {InputRecord::Kind::kTaskHeartbeat, "taskHeartbeat"},
    {InputRecord::Kind::kRedrive, "redrive"},
    {InputRecord::Kind::kDeadLetterDiscarded, "deadLetterDiscarded"},
};

bool DecodeStartInfo(const json::object& o, InputRecord& in) {
  const auto str = [&](std::string_view key, std::string& out) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
      return false;
    }
    out = std::string(v->get_string());
    return true;
  };
  const json::value* version = o.if_contains("stateMachineVersion");
  const json::value* express = o.if_contains("express");
  const json::value* start = o.if_contains("startTime");
  const json::value* payload_bytes = o.if_contains("maxPayloadBytes");
  const json::value* history_events = o.if_contains("maxHistoryEvents");
  if (version == nullptr || !version->is_int64() || express == nullptr || !express->is_bool() || start == nullptr ||
      !start->is_int64() || history_events == nullptr || !history_events->is_int64()) {
    return false;
  }
  std::uint64_t max_payload = 0;
  if (!ReadUint(payload_bytes, max_payload)) {
    return false;
  }
  in.limits.max_payload_bytes = max_payload;
  in.limits.max_history_events = history_events->get_int64();
  // Version 1 predates the per-decision limits: its executions ran every input to its end.
  in.limits.max_transitions_per_decision = 0;
  in.limits.max_decision_history_bytes = 0;
  in.state_machine_version = version->get_int64();
  in.info.express = express->get_bool();
  in.info.start_time = start->get_int64();
  return str("arn", in.info.execution_arn) && str("name", in.info.name) &&
         str("stateMachineArn", in.info.state_machine_arn) && str("stateMachineName", in.info.state_machine_name) &&
         str("roleArn", in.info.role_arn);
}

// The kind-specific fields of an input record. False when one is malformed.
bool DecodeInputFields(json::object& o, InputRecord& in) {
  if (const json::value* id = o.if_contains("id"); id != nullptr && !ReadUint(id, in.id)) {
    return false;
  }
  const auto str = [&](std::string_view key, std::string& out) {
    if (const json::value* s = o.if_contains(key); s != nullptr && s->is_string()) {
      out = std::string(s->get_string());
    }
  };
  str("error", in.error);
  str("cause", in.cause);
  str("worker", in.worker);
  str("state", in.state_name);
  if (const json::value* dead_letters = o.if_contains("deadLetters")) {
    if (!dead_letters->is_array()) {
      return false;
    }
    for (const json::value& dl : dead_letters->get_array()) {
      std::uint64_t task_id = 0;
      if (!dl.is_object() || !ReadUint(dl.get_object().if_contains("taskId"), task_id)) {
        return false;
      }
      const json::value* input = dl.get_object().if_contains("input");
      in.dead_letters[task_id] = input != nullptr ? std::optional<json::value>(*input) : std::nullopt;
    }
  }
  if (in.kind == InputRecord::Kind::kStart) {
    const json::value* info = o.if_contains("info");
    const json::value* input = o.if_contains("input");
    if (info == nullptr || !info->is_object() || !DecodeStartInfo(info->get_object(), in) || input == nullptr ||
        !input->is_string()) {
      return false;
    }
    in.input_text = std::string(input->get_string());
    absl::StatusOr<json::value> payload = ParseExecutionInput(in.input_text);
    if (!payload.ok()) {
      return false;
    }
    in.payload = *std::move(payload);
  } else if (json::value* output = o.if_contains("output")) {
    if (in.kind != InputRecord::Kind::kTaskSucceeded) {
      return false;  // only a task's success has an output
    }
    in.payload = std::move(*output);
  }
  if (const json::value* drawn = o.if_contains("drawn")) {
    if (!drawn->is_array()) {
      return false;
    }
    for (const json::value& d : drawn->get_array()) {
      if (d.is_string()) {
        in.drawn.emplace_back(std::string(d.get_string()));
      } else if (d.is_double()) {
        in.drawn.emplace_back(d.get_double());
      } else {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<StoredExecution> DecodeExecutionRecordV1(std::string_view value) {
  json::value storage;
  json::object* o = ParseV1(value, storage);
  if (o == nullptr) {
    return absl::DataLossError(absl::StrCat("execution record of unknown version: ", std::string(value.substr(0, 80))));
  }
  FieldReader r{*o};
  StoredExecution out;
  ExecutionInfoRecord& rec = out.record;
  rec.arn = r.String("id");
  rec.name = r.String("name");
  rec.state_machine_arn = r.String("stateMachine");
  rec.state_machine_name = r.String("stateMachineName");
  rec.state_machine_version = r.Int("stateMachineVersion");
  out.express = r.Bool("express");
  std::optional<sm::ExecutionStatus> status = ParseExecutionStatus(r.String("status"));
  rec.input = r.String("input");
  rec.start = r.Int("startTime");
  rec.stop = r.Int("stopTime", /*required=*/false);
  rec.error = r.String("error", false);
  rec.cause = r.String("cause", false);
  out.last_event_id = r.Int("lastEventId");
  rec.redrive_count = static_cast<int>(r.Int("redriveCount", /*required=*/false));
  if (const json::value* output = o->if_contains("output")) {
    rec.output = sm::ToAwsJson(*output);
  }
  if (!r.ok || !status) {
    return Malformed("execution record", value);
  }
  rec.status = *status;
  return out;
}

absl::StatusOr<InputRecord> DecodeInputRecordV1(std::string_view value) {
  json::value storage;
  json::object* o = ParseV1(value, storage);
  const json::value* kind = o != nullptr ? o->if_contains("kind") : nullptr;
  const json::value* now = o != nullptr ? o->if_contains("now") : nullptr;
  if (kind == nullptr || !kind->is_string() || now == nullptr || !now->is_int64()) {
    return Malformed("input record", value);
  }
  InputRecord in;
  bool known = false;
  for (const auto& [k, name] : kKindNames) {
    if (kind->get_string() == name) {
      in.kind = k;
      known = true;
    }
  }
  in.now = now->get_int64();
  if (!known || !DecodeInputFields(*o, in) || !HasOnlyTheFieldsOfItsKind(in)) {
    return Malformed("input record", value);
  }
  return in;
}

absl::StatusOr<DeadLetterRecord> DecodeDeadLetterV1(std::string_view value) {
  json::value storage;
  json::object* o = ParseV1(value, storage);
  DeadLetterRecord r;
  if (o == nullptr || !ReadString(*o, "queue", r.queue) || !ReadString(*o, "execution", r.execution_id) ||
      !ReadString(*o, "stateMachine", r.state_machine_arn) || !ReadString(*o, "state", r.state_name) ||
      !ReadString(*o, "resource", r.resource) || !ReadNumber(*o, "taskId", r.task_id) ||
      !ReadNumber(*o, "created", r.created)) {
    return Malformed("dead letter", value);
  }
  if (json::value* input = o->if_contains("input")) {
    r.input = std::move(*input);
  }
  const json::value* attempts = o->if_contains("attempts");
  if (attempts == nullptr || !attempts->is_array()) {
    return Malformed("dead letter", value);
  }
  for (const json::value& a : attempts->get_array()) {
    if (!a.is_object()) {
      return Malformed("dead letter", value);
    }
    const json::object& ao = a.get_object();
    sm::TaskAttempt t;
    if (!ReadNumber(ao, "taskId", t.task_id) || !ReadNumber(ao, "attempt", t.attempt) ||
        !ReadNumber(ao, "scheduled", t.scheduled) || !ReadNumber(ao, "started", t.started) ||
        !ReadNumber(ao, "ended", t.ended) || !ReadString(ao, "worker", t.worker) ||
        !ReadString(ao, "error", t.error) || !ReadString(ao, "cause", t.cause)) {
      return Malformed("dead letter", value);
    }
    r.attempts.push_back(std::move(t));
  }
  r.id = DeadLetterId(r.execution_id, r.task_id);
  return r;
}

absl::StatusOr<DefinitionHead> DecodeDefinitionHeadV1(std::string_view value) {
  json::value storage;
  json::object* o = ParseV1(value, storage);
  if (o == nullptr) {
    return Malformed("definition head", value);
  }
  // Missing fields read as false / 0, as version 1 always read them.
  const auto int_field = [&](std::string_view key) -> std::int64_t {
    const json::value* v = o->if_contains(key);
    return v != nullptr && v->is_int64() ? v->get_int64() : 0;
  };
  const auto bool_field = [&](std::string_view key) {
    const json::value* v = o->if_contains(key);
    return v != nullptr && v->is_bool() && v->get_bool();
  };
  return DefinitionHead{bool_field("express"), bool_field("deleted"), int_field("latestVersion"),
                        int_field("created"), int_field("updated")};
}

absl::StatusOr<DefinitionVersionRow> DecodeDefinitionVersionV1(std::string_view value) {
  json::value storage;
  json::object* o = ParseV1(value, storage);
  const json::value* definition = o != nullptr ? o->if_contains("definition") : nullptr;
  if (definition == nullptr || !definition->is_string()) {
    return Malformed("definition version", value);
  }
  const json::value* created = o->if_contains("created");
  return DefinitionVersionRow{std::string(definition->get_string()),
                              created != nullptr && created->is_int64() ? created->get_int64() : 0};
}

absl::StatusOr<HistoryEventRecord> DecodeHistoryEventV1(std::string_view value) {
  std::optional<json::value> parsed = ParseStoredJson(value);
  const bool ec = !parsed;
  json::value v = parsed ? *std::move(parsed) : json::value();
  const json::object* o = v.if_object();
  const json::value* id = o != nullptr ? o->if_contains("id") : nullptr;
  const json::value* previous = o != nullptr ? o->if_contains("previousEventId") : nullptr;
  const json::value* timestamp = o != nullptr ? o->if_contains("timestamp") : nullptr;
  const json::value* type = o != nullptr ? o->if_contains("type") : nullptr;
  if (ec || id == nullptr || !id->is_int64() || previous == nullptr || !previous->is_int64() || timestamp == nullptr ||
      !timestamp->is_string() || type == nullptr || !type->is_string()) {
    return Malformed("history event", value);
  }
  std::optional<sm::Timestamp> t = sm::ParseTimestamp(std::string_view(timestamp->get_string()));
  if (!t) {
    return absl::DataLossError(absl::StrCat("history event with a bad timestamp: ", std::string(value.substr(0, 200))));
  }
  HistoryEventRecord e;
  e.id = id->get_int64();
  e.previous_event_id = previous->get_int64();
  e.timestamp = t->EpochMillis();
  e.type = std::string(type->get_string());
  e.details = "{}";
  for (const auto& [key, details] : *o) {
    if (key != "id" && key != "previousEventId" && key != "timestamp" && key != "type") {
      e.details_key = std::string(key);
      e.details = sm::ToAwsJson(details);
    }
  }
  return e;
}

absl::StatusOr<sm::TaskCommand> DecodeTaskRecordV1(std::string_view value) {
  json::value storage;
  json::object* o = ParseV1(value, storage);
  sm::TaskCommand t;
  if (o == nullptr || !ReadString(*o, "state", t.state_name) || !ReadNumber(*o, "attempt", t.attempt) ||
      !ReadNumber(*o, "scheduled", t.scheduled)) {
    return Malformed("task record", value);
  }
  if (json::value* input = o->if_contains("input")) {
    t.input = std::move(*input);
  }
  for (auto [key, field] : {std::pair{"timeoutSeconds", &t.timeout_seconds},
                            std::pair{"heartbeatSeconds", &t.heartbeat_seconds}}) {
    if (const json::value* v = o->if_contains(key)) {
      boost::system::error_code ec;
      *field = v->to_number<double>(ec);
      if (ec || !std::isfinite(**field) || **field < 0) {
        return Malformed("task record", value);
      }
    }
  }
  return t;
}

}  // namespace stepflow::engine
