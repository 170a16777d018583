#include "engine/input_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/records.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

// A non-negative integer field, without throwing.
bool ReadUint(const json::value* v, std::uint64_t& out) {
  if (v == nullptr || !v->is_number()) {
    return false;
  }
  boost::system::error_code ec;
  out = v->to_number<std::uint64_t>(ec);
  return !ec;
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

std::string_view KindName(InputRecord::Kind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) {
      return name;
    }
  }
  return "unknown";
}

json::object EncodeInfo(const InputRecord& in) {
  const sm::ExecutionInfo& info = in.info;
  return json::object{{"arn", info.execution_arn},
                      {"name", info.name},
                      {"stateMachineArn", info.state_machine_arn},
                      {"stateMachineName", info.state_machine_name},
                      {"stateMachineVersion", in.state_machine_version},
                      {"roleArn", info.role_arn},
                      {"express", info.express},
                      {"startTime", info.start_time},
                      {"maxPayloadBytes", in.limits.max_payload_bytes},
                      {"maxHistoryEvents", in.limits.max_history_events}};
}

bool DecodeInfo(const json::object& o, InputRecord& in) {
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
  in.state_machine_version = version->get_int64();
  in.info.express = express->get_bool();
  in.info.start_time = start->get_int64();
  return str("arn", in.info.execution_arn) && str("name", in.info.name) &&
         str("stateMachineArn", in.info.state_machine_arn) && str("stateMachineName", in.info.state_machine_name) &&
         str("roleArn", in.info.role_arn);
}

}  // namespace

absl::StatusOr<json::value> ParseExecutionInput(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    return absl::InvalidArgumentError(ec.message());
  }
  return v;
}

std::string EncodeInputRecord(const InputRecord& in) {
  json::object o;
  o["v"] = kRecordVersion;
  o["kind"] = KindName(in.kind);
  o["now"] = in.now;
  switch (in.kind) {
    case InputRecord::Kind::kStart:
      o["info"] = EncodeInfo(in);
      o["input"] = in.input_text;
      break;
    case InputRecord::Kind::kTaskSucceeded:
      o["id"] = in.id;
      o["output"] = in.payload;
      break;
    case InputRecord::Kind::kTaskFailed:
      o["id"] = in.id;
      o["error"] = in.error;
      o["cause"] = in.cause;
      break;
    case InputRecord::Kind::kTaskStarted:
      o["id"] = in.id;
      if (!in.worker.empty()) {
        o["worker"] = in.worker;
      }
      break;
    case InputRecord::Kind::kTaskHeartbeat:
    case InputRecord::Kind::kTimerFired:
      o["id"] = in.id;
      break;
    case InputRecord::Kind::kStop:
      o["error"] = in.error;
      o["cause"] = in.cause;
      break;
    case InputRecord::Kind::kRedrive: {
      json::array dead_letters;
      for (const auto& [task_id, input] : in.dead_letters) {
        json::object dl{{"taskId", task_id}};
        if (input) {
          dl["input"] = *input;
        }
        dead_letters.push_back(std::move(dl));
      }
      o["deadLetters"] = std::move(dead_letters);
      break;
    }
    case InputRecord::Kind::kDeadLetterDiscarded:
      o["id"] = in.id;
      o["state"] = in.state_name;
      break;
  }
  if (!in.drawn.empty()) {
    json::array drawn;
    for (const DrawnValue& d : in.drawn) {
      if (const std::string* s = std::get_if<std::string>(&d)) {
        drawn.emplace_back(*s);
      } else {
        drawn.emplace_back(std::get<double>(d));
      }
    }
    o["drawn"] = std::move(drawn);
  }
  return json::serialize(o);
}

absl::StatusOr<InputRecord> DecodeInputRecord(std::string_view value) {
  const auto corrupt = [&] {
    return absl::DataLossError(absl::StrCat("malformed input record: ", std::string(value.substr(0, 200))));
  };
  boost::system::error_code ec;
  json::value v = json::parse(value, ec);
  if (ec || !v.is_object()) {
    return corrupt();
  }
  json::object& o = v.get_object();
  const json::value* version = o.if_contains("v");
  const json::value* kind = o.if_contains("kind");
  const json::value* now = o.if_contains("now");
  if (version == nullptr || *version != json::value(kRecordVersion) || kind == nullptr || !kind->is_string() ||
      now == nullptr || !now->is_int64()) {
    return corrupt();
  }
  InputRecord in;
  bool known = false;
  for (const auto& [k, name] : kKindNames) {
    if (kind->get_string() == name) {
      in.kind = k;
      known = true;
    }
  }
  if (!known) {
    return corrupt();
  }
  in.now = now->get_int64();
  if (const json::value* id = o.if_contains("id"); id != nullptr && !ReadUint(id, in.id)) {
    return corrupt();
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
      return corrupt();
    }
    for (const json::value& dl : dead_letters->get_array()) {
      std::uint64_t task_id = 0;
      if (!dl.is_object() || !ReadUint(dl.get_object().if_contains("taskId"), task_id)) {
        return corrupt();
      }
      const json::value* input = dl.get_object().if_contains("input");
      in.dead_letters[task_id] = input != nullptr ? std::optional<json::value>(*input) : std::nullopt;
    }
  }
  if (in.kind == InputRecord::Kind::kStart) {
    const json::value* info = o.if_contains("info");
    const json::value* input = o.if_contains("input");
    if (info == nullptr || !info->is_object() || !DecodeInfo(info->get_object(), in) || input == nullptr ||
        !input->is_string()) {
      return corrupt();
    }
    in.input_text = std::string(input->get_string());
    absl::StatusOr<json::value> payload = ParseExecutionInput(in.input_text);
    if (!payload.ok()) {
      return corrupt();
    }
    in.payload = *std::move(payload);
  } else if (json::value* output = o.if_contains("output")) {
    in.payload = std::move(*output);
  }
  if (const json::value* drawn = o.if_contains("drawn")) {
    if (!drawn->is_array()) {
      return corrupt();
    }
    for (const json::value& d : drawn->get_array()) {
      if (d.is_string()) {
        in.drawn.emplace_back(std::string(d.get_string()));
      } else if (d.is_double()) {
        in.drawn.emplace_back(d.get_double());
      } else {
        return corrupt();
      }
    }
  }
  return in;
}

absl::StatusOr<sm::Decision> ApplyInputRecord(sm::Execution& e, const InputRecord& in, sm::RuntimeValues& rv) {
  switch (in.kind) {
    case InputRecord::Kind::kStart:
      return e.Start(in.payload, in.now, rv);
    case InputRecord::Kind::kTaskStarted:
      return e.OnTaskStarted(in.id, in.now, in.worker);
    case InputRecord::Kind::kTaskHeartbeat:
      return e.OnTaskHeartbeat(in.id, in.now);
    case InputRecord::Kind::kTaskSucceeded:
      return e.OnTaskSucceeded(in.id, in.payload, in.now, rv);
    case InputRecord::Kind::kTaskFailed:
      return e.OnTaskFailed(in.id, in.error, in.cause, in.now, rv);
    case InputRecord::Kind::kTimerFired:
      return e.OnTimerFired(in.id, in.now, rv);
    case InputRecord::Kind::kStop:
      return e.Stop(in.error, in.cause, in.now);
    case InputRecord::Kind::kRedrive:
      return e.Redrive(in.now, rv, in.dead_letters);
    case InputRecord::Kind::kDeadLetterDiscarded:
      return e.RecordDeadLetterDiscarded(in.id, in.state_name, in.now);
  }
  return absl::InternalError("unknown input kind");
}

std::string RecordingRuntimeValues::NewUuid() {
  std::string uuid = base_->NewUuid();
  if (sink_ != nullptr) {
    sink_->emplace_back(uuid);
  }
  return uuid;
}

double RecordingRuntimeValues::NextRandomUnit() {
  double d = base_->NextRandomUnit();
  if (sink_ != nullptr) {
    sink_->emplace_back(d);
  }
  return d;
}

std::string ReplayingRuntimeValues::NewUuid() {
  if (next_ < values_.size()) {
    if (const std::string* s = std::get_if<std::string>(&values_[next_])) {
      ++next_;
      return *s;
    }
  }
  diverged_ = true;
  return "00000000-0000-4000-8000-000000000000";
}

double ReplayingRuntimeValues::NextRandomUnit() {
  if (next_ < values_.size()) {
    if (const double* d = std::get_if<double>(&values_[next_])) {
      ++next_;
      return *d;
    }
  }
  diverged_ = true;
  return 0.0;
}

}  // namespace stepflow::engine
