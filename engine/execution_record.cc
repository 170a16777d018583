#include "engine/execution_record.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/proto_value.h"
#include "engine/records.h"
#include "engine/records_v1.h"
#include "statemachine/json_text.h"
#include "stepflow/storage/v1/records.pb.h"

namespace stepflow::engine {
namespace {

using StatusProto = storage::v1::ExecutionRecord::Status;

StatusProto ToProto(sm::ExecutionStatus s) {
  switch (s) {
    case sm::ExecutionStatus::kRunning:
      return storage::v1::ExecutionRecord::RUNNING;
    case sm::ExecutionStatus::kSucceeded:
      return storage::v1::ExecutionRecord::SUCCEEDED;
    case sm::ExecutionStatus::kFailed:
      return storage::v1::ExecutionRecord::FAILED;
    case sm::ExecutionStatus::kTimedOut:
      return storage::v1::ExecutionRecord::TIMED_OUT;
    case sm::ExecutionStatus::kAborted:
      return storage::v1::ExecutionRecord::ABORTED;
  }
  return storage::v1::ExecutionRecord::STATUS_UNSPECIFIED;
}

std::optional<sm::ExecutionStatus> FromProto(StatusProto s) {
  switch (s) {
    case storage::v1::ExecutionRecord::RUNNING:
      return sm::ExecutionStatus::kRunning;
    case storage::v1::ExecutionRecord::SUCCEEDED:
      return sm::ExecutionStatus::kSucceeded;
    case storage::v1::ExecutionRecord::FAILED:
      return sm::ExecutionStatus::kFailed;
    case storage::v1::ExecutionRecord::TIMED_OUT:
      return sm::ExecutionStatus::kTimedOut;
    case storage::v1::ExecutionRecord::ABORTED:
      return sm::ExecutionStatus::kAborted;
    default:
      return std::nullopt;
  }
}

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
  r.version_arn = info.version_arn;
  r.alias_arn = info.alias_arn;
  r.status = e.status();
  r.input = meta.input_text;
  r.start = info.start_time;
  r.redrive_count = e.redrive_count();
  if (e.status() != sm::ExecutionStatus::kRunning) {
    r.stop = now;
  }
  if (e.status() == sm::ExecutionStatus::kSucceeded) {
    e.AppendOutputText(r.output);  // the ExecutionSucceeded event's text when at hand
  } else if (e.status() != sm::ExecutionStatus::kRunning) {
    r.error = e.error();
    r.cause = e.cause();
  }
  return r;
}

std::string EncodeExecutionRecord(const sm::ExecutionInfo& info, const ExecutionMeta& meta, const sm::Execution& e,
                                  common::EpochMillis now) {
  storage::v1::ExecutionRecord r;
  r.set_id(info.execution_arn);
  r.set_name(info.name);
  r.set_state_machine_arn(info.state_machine_arn);
  r.set_state_machine_name(info.state_machine_name);
  r.set_state_machine_version(meta.state_machine_version);
  r.set_state_machine_version_arn(info.version_arn);
  r.set_state_machine_alias_arn(info.alias_arn);
  r.set_express(info.express);
  r.set_status(ToProto(e.status()));
  r.set_input(meta.input_text);
  r.set_start_time(info.start_time);
  if (e.status() != sm::ExecutionStatus::kRunning) {
    r.set_stop_time(now);
  }
  if (e.status() == sm::ExecutionStatus::kSucceeded) {
    e.AppendOutputText(*r.mutable_output());
  } else if (e.status() != sm::ExecutionStatus::kRunning) {
    r.set_error(e.error());
    r.set_cause(e.cause());
  }
  r.set_last_event_id(e.last_event_id());
  r.set_redrive_count(e.redrive_count());
  return EncodeProtoValue(r);
}

std::string EncodeStoredExecution(const StoredExecution& stored) {
  const ExecutionInfoRecord& rec = stored.record;
  storage::v1::ExecutionRecord r;
  r.set_id(rec.arn);
  r.set_name(rec.name);
  r.set_state_machine_arn(rec.state_machine_arn);
  r.set_state_machine_name(rec.state_machine_name);
  r.set_state_machine_version(rec.state_machine_version);
  r.set_state_machine_version_arn(rec.version_arn);
  r.set_state_machine_alias_arn(rec.alias_arn);
  r.set_express(stored.express);
  r.set_status(ToProto(rec.status));
  r.set_input(rec.input);
  r.set_start_time(rec.start);
  r.set_stop_time(rec.stop);
  r.set_output(rec.output);
  r.set_error(rec.error);
  r.set_cause(rec.cause);
  r.set_last_event_id(stored.last_event_id);
  r.set_redrive_count(rec.redrive_count);
  return EncodeProtoValue(r);
}

absl::StatusOr<StoredExecution> DecodeExecutionRecord(std::string_view value) {
  switch (ValueFormatOf(value)) {
    case ValueFormat::kJsonV1:
      return DecodeExecutionRecordV1(value);
    case ValueFormat::kProtobufV2:
      break;
    case ValueFormat::kUnknown:
      return absl::DataLossError(absl::StrCat("execution record of unknown format: ", std::string(value.substr(0, 80))));
  }
  storage::v1::ExecutionRecord r;
  std::optional<sm::ExecutionStatus> status;
  if (!DecodeProtoValue(value, r) || !(status = FromProto(r.status()))) {
    return absl::DataLossError("malformed execution record (version 2)");
  }
  StoredExecution out;
  ExecutionInfoRecord& rec = out.record;
  rec.arn = std::move(*r.mutable_id());
  rec.name = std::move(*r.mutable_name());
  rec.state_machine_arn = std::move(*r.mutable_state_machine_arn());
  rec.state_machine_name = std::move(*r.mutable_state_machine_name());
  rec.state_machine_version = r.state_machine_version();
  rec.version_arn = std::move(*r.mutable_state_machine_version_arn());
  rec.alias_arn = std::move(*r.mutable_state_machine_alias_arn());
  rec.status = *status;
  rec.input = std::move(*r.mutable_input());
  rec.output = std::move(*r.mutable_output());
  rec.error = std::move(*r.mutable_error());
  rec.cause = std::move(*r.mutable_cause());
  rec.start = r.start_time();
  rec.stop = r.stop_time();
  rec.redrive_count = r.redrive_count();
  out.last_event_id = r.last_event_id();
  out.express = r.express();
  return out;
}

}  // namespace stepflow::engine
