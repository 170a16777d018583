#include "engine/execution_record.h"

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "engine/records.h"
#include "statemachine/json_text.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

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

}  // namespace

std::optional<sm::ExecutionStatus> ParseExecutionStatus(std::string_view name) {
  for (sm::ExecutionStatus s :
       {sm::ExecutionStatus::kRunning, sm::ExecutionStatus::kSucceeded, sm::ExecutionStatus::kFailed,
        sm::ExecutionStatus::kTimedOut, sm::ExecutionStatus::kAborted}) {
    if (name == sm::ExecutionStatusName(s)) {
      return s;
    }
  }
  return std::nullopt;
}

ExecutionInfoRecord MakeExecutionInfoRecord(const sm::ExecutionInfo& info, const ExecutionMeta& meta,
                                            const sm::Execution& e, common::EpochMillis now) {
  ExecutionInfoRecord r;
  r.arn = info.execution_arn;
  r.name = info.name;
  r.state_machine_arn = info.state_machine_arn;
  r.state_machine_name = info.state_machine_name;
  r.state_machine_version = meta.state_machine_version;
  r.status = e.status();
  r.input = meta.input_text;
  r.start = info.start_time;
  r.redrive_count = e.redrive_count();
  if (e.status() != sm::ExecutionStatus::kRunning) {
    r.stop = now;
  }
  if (e.status() == sm::ExecutionStatus::kSucceeded) {
    r.output = sm::ToAwsJson(e.output());
  } else if (e.status() != sm::ExecutionStatus::kRunning) {
    r.error = e.error();
    r.cause = e.cause();
  }
  return r;
}

std::string EncodeExecutionRecord(const sm::ExecutionInfo& info, const ExecutionMeta& meta, const sm::Execution& e,
                                  common::EpochMillis now) {
  json::object o;
  o["v"] = kRecordVersion;
  o["id"] = info.execution_arn;
  o["name"] = info.name;
  o["stateMachine"] = info.state_machine_arn;
  o["stateMachineName"] = info.state_machine_name;
  o["stateMachineVersion"] = meta.state_machine_version;
  o["express"] = info.express;
  o["status"] = sm::ExecutionStatusName(e.status());
  o["input"] = meta.input_text;
  o["startTime"] = info.start_time;
  if (e.status() != sm::ExecutionStatus::kRunning) {
    o["stopTime"] = now;
  }
  if (e.status() == sm::ExecutionStatus::kSucceeded) {
    o["output"] = e.output();
  } else if (e.status() != sm::ExecutionStatus::kRunning) {
    o["error"] = e.error();
    o["cause"] = e.cause();
  }
  o["lastEventId"] = e.last_event_id();
  if (e.redrive_count() > 0) {
    o["redriveCount"] = e.redrive_count();
  }
  return json::serialize(o);
}

absl::StatusOr<StoredExecution> DecodeExecutionRecord(std::string_view value) {
  boost::system::error_code ec;
  json::value v = json::parse(value, ec);
  if (ec || !v.is_object()) {
    return absl::DataLossError(
        absl::StrCat("execution record is not a JSON object: ", std::string(value.substr(0, 80))));
  }
  const json::object& o = v.get_object();
  FieldReader r{o};
  StoredExecution out;
  ExecutionInfoRecord& rec = out.record;
  if (r.Int("v") != kRecordVersion) {
    return absl::DataLossError(absl::StrCat("execution record of unknown version: ", std::string(value.substr(0, 80))));
  }
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
  if (const json::value* output = o.if_contains("output")) {
    rec.output = sm::ToAwsJson(*output);
  }
  if (!r.ok || !status) {
    return absl::DataLossError(absl::StrCat("malformed execution record: ", std::string(value.substr(0, 200))));
  }
  rec.status = *status;
  return out;
}

}  // namespace stepflow::engine
