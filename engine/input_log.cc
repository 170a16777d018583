#include "engine/input_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/proto_value.h"
#include "engine/records.h"
#include "engine/records_v1.h"
#include "statemachine/json_parse.h"
#include "stepflow/storage/v1/records.pb.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

using KindProto = storage::v1::InputRecord::Kind;

// Serialized by these numbers (records.proto); never renumber.
constexpr std::pair<InputRecord::Kind, KindProto> kKinds[] = {
    {InputRecord::Kind::kStart, storage::v1::InputRecord::START},
    {InputRecord::Kind::kTaskStarted, storage::v1::InputRecord::TASK_STARTED},
    {InputRecord::Kind::kTaskSucceeded, storage::v1::InputRecord::TASK_SUCCEEDED},
    {InputRecord::Kind::kTaskFailed, storage::v1::InputRecord::TASK_FAILED},
    {InputRecord::Kind::kTimerFired, storage::v1::InputRecord::TIMER_FIRED},
    {InputRecord::Kind::kStop, storage::v1::InputRecord::STOP},
    {InputRecord::Kind::kTaskHeartbeat, storage::v1::InputRecord::TASK_HEARTBEAT},
    {InputRecord::Kind::kRedrive, storage::v1::InputRecord::REDRIVE},
    {InputRecord::Kind::kDeadLetterDiscarded, storage::v1::InputRecord::DEAD_LETTER_DISCARDED},
    {InputRecord::Kind::kContinue, storage::v1::InputRecord::CONTINUE},
};

void EncodeStart(const InputRecord& in, storage::v1::StartInfo& out) {
  const sm::ExecutionInfo& info = in.info;
  out.set_arn(info.execution_arn);
  out.set_name(info.name);
  out.set_state_machine_arn(info.state_machine_arn);
  out.set_state_machine_name(info.state_machine_name);
  out.set_state_machine_version(in.state_machine_version);
  out.set_role_arn(info.role_arn);
  out.set_express(info.express);
  out.set_start_time(info.start_time);
  out.set_max_payload_bytes(in.limits.max_payload_bytes);
  out.set_max_history_events(in.limits.max_history_events);
  out.set_max_transitions_per_decision(in.limits.max_transitions_per_decision);
  out.set_max_decision_history_bytes(in.limits.max_decision_history_bytes);
  out.set_input(in.input_text);
  out.set_semantics_version(in.semantics_version);
  out.set_state_machine_version_arn(info.version_arn);
  out.set_state_machine_alias_arn(info.alias_arn);
}

bool DecodeStart(storage::v1::StartInfo& s, InputRecord& in) {
  sm::ExecutionInfo& info = in.info;
  info.execution_arn = std::move(*s.mutable_arn());
  info.name = std::move(*s.mutable_name());
  info.state_machine_arn = std::move(*s.mutable_state_machine_arn());
  info.state_machine_name = std::move(*s.mutable_state_machine_name());
  info.role_arn = std::move(*s.mutable_role_arn());
  info.express = s.express();
  info.start_time = s.start_time();
  info.version_arn = std::move(*s.mutable_state_machine_version_arn());
  info.alias_arn = std::move(*s.mutable_state_machine_alias_arn());
  in.state_machine_version = s.state_machine_version();
  in.limits.max_payload_bytes = s.max_payload_bytes();
  in.limits.max_history_events = s.max_history_events();
  in.limits.max_transitions_per_decision = s.max_transitions_per_decision();
  in.limits.max_decision_history_bytes = s.max_decision_history_bytes();
  in.input_text = std::move(*s.mutable_input());
  in.semantics_version = s.semantics_version() == 0 ? kUnversionedSemantics : s.semantics_version();
  absl::StatusOr<json::value> payload = ParseExecutionInput(in.input_text);
  if (!payload.ok()) {
    return false;
  }
  in.payload = *std::move(payload);
  return true;
}

// JSON text stored in a version-2 record (ParseStoredJson: refuses what the encoder cannot write).
bool ParseJsonText(const std::string& text, json::value& out) {
  std::optional<json::value> parsed = ParseStoredJson(text);
  if (!parsed) {
    return false;
  }
  out = *std::move(parsed);
  return true;
}

}  // namespace

absl::StatusOr<json::value> ParseExecutionInput(std::string_view text) {
  return sm::ParseJson(text, "");
}

bool HasOnlyTheFieldsOfItsKind(const InputRecord& in) {
  using Kind = InputRecord::Kind;
  const bool failure = in.kind == Kind::kTaskFailed || in.kind == Kind::kStop;
  return (failure || (in.error.empty() && in.cause.empty())) && (in.kind == Kind::kTaskStarted || in.worker.empty()) &&
         (in.kind == Kind::kDeadLetterDiscarded || in.state_name.empty()) &&
         (in.kind == Kind::kRedrive || in.dead_letters.empty());
}

namespace {

void ToProto(const InputRecord& in, storage::v1::InputRecord& r) {
  for (const auto& [kind, proto] : kKinds) {
    if (kind == in.kind) {
      r.set_kind(proto);
    }
  }
  r.set_now(in.now);
  r.set_id(in.id);
  switch (in.kind) {
    case InputRecord::Kind::kStart:
      EncodeStart(in, *r.mutable_start());
      break;
    case InputRecord::Kind::kTaskSucceeded:
      *r.mutable_output() = json::serialize(in.payload);
      break;
    case InputRecord::Kind::kTaskFailed:
    case InputRecord::Kind::kStop:
      r.set_error(in.error);
      r.set_cause(in.cause);
      break;
    case InputRecord::Kind::kTaskStarted:
      r.set_worker(in.worker);
      break;
    case InputRecord::Kind::kRedrive:
      for (const auto& [task_id, input] : in.dead_letters) {
        storage::v1::RedrivenDeadLetter* dl = r.add_dead_letters();
        dl->set_task_id(task_id);
        if (input) {
          dl->set_input(json::serialize(*input));
        }
      }
      break;
    case InputRecord::Kind::kDeadLetterDiscarded:
      r.set_state(in.state_name);
      break;
    case InputRecord::Kind::kTaskHeartbeat:
    case InputRecord::Kind::kTimerFired:
    case InputRecord::Kind::kContinue:
      break;
  }
  for (const DrawnValue& d : in.drawn) {
    if (const std::string* s = std::get_if<std::string>(&d)) {
      r.add_drawn()->set_uuid(*s);
    } else {
      r.add_drawn()->set_random(std::get<double>(d));
    }
  }
}

// The input `r` holds (its `then` ignored), or false when `r` is not one the encoder writes.
bool FromProto(storage::v1::InputRecord& r, InputRecord& in) {
  bool known = false;
  for (const auto& [kind, proto] : kKinds) {
    if (proto == r.kind()) {
      in.kind = kind;
      known = true;
    }
  }
  // The start info belongs to a start, the output to a task's success (the rest: HasOnlyTheFieldsOfItsKind).
  if (!known || (in.kind == InputRecord::Kind::kStart) != r.has_start() ||
      (in.kind != InputRecord::Kind::kTaskSucceeded && !r.output().empty())) {
    return false;
  }
  in.now = r.now();
  in.id = r.id();
  in.error = std::move(*r.mutable_error());
  in.cause = std::move(*r.mutable_cause());
  in.worker = std::move(*r.mutable_worker());
  in.state_name = std::move(*r.mutable_state());
  if (in.kind == InputRecord::Kind::kStart && !DecodeStart(*r.mutable_start(), in)) {
    return false;
  }
  if (in.kind == InputRecord::Kind::kTaskSucceeded && !ParseJsonText(r.output(), in.payload)) {
    return false;
  }
  for (const storage::v1::RedrivenDeadLetter& dl : r.dead_letters()) {
    auto [it, first] = in.dead_letters.try_emplace(dl.task_id());
    if (!first || (dl.has_input() && !ParseJsonText(dl.input(), it->second.emplace()))) {
      return false;  // a task redriven twice in one input: the encoder writes each once
    }
  }
  if (!HasOnlyTheFieldsOfItsKind(in)) {
    return false;
  }
  in.drawn.reserve(r.drawn_size());
  for (const storage::v1::DrawnValue& d : r.drawn()) {
    if (d.value_case() == storage::v1::DrawnValue::kUuid) {
      in.drawn.emplace_back(d.uuid());
    } else if (d.value_case() == storage::v1::DrawnValue::kRandom) {
      in.drawn.emplace_back(d.random());
    } else {
      return false;
    }
  }
  return true;
}

absl::Status MalformedInputRow() { return absl::DataLossError("malformed input record (version 2)"); }

}  // namespace

std::string EncodeInputRecord(const InputRecord& in) {
  storage::v1::InputRecord r;
  ToProto(in, r);
  return EncodeProtoValue(r);
}

void AppendToInputRow(std::string& row, const InputRecord& in) {
  if (row.empty()) {
    row = EncodeInputRecord(in);
    return;
  }
  // Serialized messages concatenated parse as one message with their repeated fields joined: the row's
  // message gains one more `then`, and its own fields stay as they are.
  storage::v1::InputRecord then;
  ToProto(in, *then.add_then());
  then.AppendToString(&row);
}

absl::StatusOr<std::vector<InputRecord>> DecodeInputRow(std::string_view value) {
  switch (ValueFormatOf(value)) {
    case ValueFormat::kJsonV1: {
      absl::StatusOr<InputRecord> v1 = DecodeInputRecordV1(value);
      if (!v1.ok()) {
        return v1.status();
      }
      v1->semantics_version = kUnversionedSemantics;  // version 1 had no such field
      std::vector<InputRecord> row;
      row.push_back(*std::move(v1));
      return row;
    }
    case ValueFormat::kProtobufV2:
      break;
    case ValueFormat::kUnknown:
      return absl::DataLossError(absl::StrCat("input record of unknown format: ", std::string(value.substr(0, 80))));
  }
  storage::v1::InputRecord r;
  if (!DecodeProtoValue(value, r) || r.then_size() > static_cast<int>(kMaxInputsPerRow) - 1) {
    return MalformedInputRow();
  }
  std::vector<InputRecord> row(static_cast<std::size_t>(r.then_size()) + 1);
  if (!FromProto(r, row[0])) {
    return MalformedInputRow();
  }
  for (int i = 0; i < r.then_size(); ++i) {
    storage::v1::InputRecord& then = *r.mutable_then(i);
    // Only a row's first input has inputs after it; a start is always its row's first.
    if (then.then_size() > 0 || !FromProto(then, row[static_cast<std::size_t>(i) + 1]) ||
        row[static_cast<std::size_t>(i) + 1].kind == InputRecord::Kind::kStart) {
      return MalformedInputRow();
    }
  }
  return row;
}

absl::StatusOr<InputRecord> DecodeInputRecord(std::string_view value) {
  ASSIGN_OR_RETURN(std::vector<InputRecord> row, DecodeInputRow(value));
  if (row.size() != 1) {
    return absl::DataLossError(absl::StrCat("an input row of ", row.size(), " inputs where one was expected"));
  }
  return std::move(row.front());
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
    case InputRecord::Kind::kContinue:
      return e.Continue(in.now, rv);
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
