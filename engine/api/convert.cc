#include "engine/api/convert.h"

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/handler_env.h"
#include "engine/names.h"

namespace stepflow::api {
namespace {

constexpr std::int64_t kMillisPerSecond = 1000;
constexpr std::int32_t kNanosPerMilli = 1000000;

}  // namespace

google::protobuf::Timestamp ToTimestamp(common::EpochMillis t) {
  google::protobuf::Timestamp ts;
  std::int64_t seconds = t / kMillisPerSecond;
  std::int64_t millis = t % kMillisPerSecond;
  if (millis < 0) {
    millis += kMillisPerSecond;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<std::int32_t>(millis) * kNanosPerMilli);
  return ts;
}

// The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr std::int64_t kMinTimestampSeconds = -62135596800;
constexpr std::int64_t kMaxTimestampSeconds = 253402300799;
constexpr std::int32_t kMaxNanos = 999999999;

absl::Status CheckTimestamp(const google::protobuf::Timestamp& t, const char* field) {
  if (t.seconds() < kMinTimestampSeconds || t.seconds() > kMaxTimestampSeconds || t.nanos() < 0 ||
      t.nanos() > kMaxNanos) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: ", field,
                                                   " is out of range (years 1 to 9999, nanos 0 to 999999999)"));
  }
  return absl::OkStatus();
}

common::EpochMillis ToEpochMillis(const google::protobuf::Timestamp& t) {
  return t.seconds() * kMillisPerSecond + t.nanos() / kNanosPerMilli;
}

v1::ExecutionStatus ToProto(sm::ExecutionStatus status) {
  switch (status) {
    case sm::ExecutionStatus::kRunning:
      return v1::RUNNING;
    case sm::ExecutionStatus::kSucceeded:
      return v1::SUCCEEDED;
    case sm::ExecutionStatus::kFailed:
      return v1::FAILED;
    case sm::ExecutionStatus::kTimedOut:
      return v1::TIMED_OUT;
    case sm::ExecutionStatus::kAborted:
      return v1::ABORTED;
  }
  return v1::EXECUTION_STATUS_UNSPECIFIED;
}

absl::StatusOr<std::optional<sm::ExecutionStatus>> FromProto(v1::ExecutionStatus status) {
  switch (status) {
    case v1::EXECUTION_STATUS_UNSPECIFIED:
      return std::optional<sm::ExecutionStatus>();
    case v1::RUNNING:
      return sm::ExecutionStatus::kRunning;
    case v1::SUCCEEDED:
      return sm::ExecutionStatus::kSucceeded;
    case v1::FAILED:
      return sm::ExecutionStatus::kFailed;
    case v1::TIMED_OUT:
      return sm::ExecutionStatus::kTimedOut;
    case v1::ABORTED:
      return sm::ExecutionStatus::kAborted;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("ValidationException: unknown execution status ", static_cast<int>(status)));
  }
}

absl::StatusOr<bool> IsExpress(v1::StateMachineType type) {
  switch (type) {
    case v1::STATE_MACHINE_TYPE_UNSPECIFIED:
    case v1::STANDARD:
      return false;
    case v1::EXPRESS:
      return true;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("ValidationException: unknown state machine type ", static_cast<int>(type)));
  }
}

v1::StateMachine ToProto(const engine::StateMachineInfo& info) {
  v1::StateMachine out;
  out.set_name(info.name);
  out.set_arn(info.arn);
  out.set_definition(info.definition);
  out.set_type(info.express ? v1::EXPRESS : v1::STANDARD);
  out.set_version(info.version);
  *out.mutable_creation_date() = ToTimestamp(info.created);
  *out.mutable_update_date() = ToTimestamp(info.updated);
  out.set_state_machine_version_arn(info.published_version_arn);
  return out;
}

v1::Execution ToProto(const engine::ExecutionInfoRecord& record) {
  v1::Execution out;
  out.set_arn(record.arn);
  out.set_name(record.name);
  out.set_state_machine_arn(record.state_machine_arn);
  out.set_state_machine_version(record.state_machine_version);
  out.set_status(record.quarantined ? v1::QUARANTINED : ToProto(record.status));
  out.set_input(record.input);
  out.set_output(record.output);
  out.set_error(record.quarantined ? "ExecutionQuarantined" : record.error);
  out.set_cause(record.quarantined ? record.quarantine_reason : record.cause);
  *out.mutable_start_date() = ToTimestamp(record.start);
  if (record.stop != 0) {
    *out.mutable_stop_date() = ToTimestamp(record.stop);
  }
  out.set_redrive_count(record.redrive_count);
  out.set_state_machine_version_arn(record.version_arn);
  out.set_state_machine_alias_arn(record.alias_arn);
  return out;
}

v1::StateMachineVersion ToProto(const engine::StateMachineVersionInfo& info) {
  v1::StateMachineVersion out;
  out.set_arn(info.arn);
  out.set_state_machine_arn(info.state_machine_arn);
  out.set_version(info.version);
  out.set_revision(info.revision);
  out.set_description(info.description);
  out.set_definition(info.definition);
  out.set_type(info.express ? v1::EXPRESS : v1::STANDARD);
  *out.mutable_creation_date() = ToTimestamp(info.created);
  return out;
}

v1::StateMachineAlias ToProto(const engine::StateMachineAliasInfo& info) {
  v1::StateMachineAlias out;
  out.set_arn(info.arn);
  out.set_name(info.name);
  out.set_state_machine_arn(info.state_machine_arn);
  out.set_description(info.description);
  for (const engine::AliasRoute& route : info.routes) {
    v1::RoutingConfiguration* r = out.add_routing();
    r->set_version_arn(route.version_arn);
    r->set_weight(route.weight);
  }
  *out.mutable_creation_date() = ToTimestamp(info.created);
  *out.mutable_update_date() = ToTimestamp(info.updated);
  return out;
}

v1::HistoryEvent ToProto(const engine::HistoryEventRecord& event) {
  v1::HistoryEvent out;
  out.set_id(event.id);
  out.set_previous_event_id(event.previous_event_id);
  *out.mutable_timestamp() = ToTimestamp(event.timestamp);
  out.set_type(event.type);
  out.set_details_key(event.details_key);
  out.set_details(event.details);
  return out;
}

v1::Diagnostic ToProto(const sm::Diagnostic& diagnostic) {
  v1::Diagnostic out;
  out.set_location(diagnostic.location);
  out.set_code(diagnostic.code);
  out.set_message(diagnostic.message);
  return out;
}

absl::StatusOr<engine::ExecutionFilter> ToFilter(const v1::ListExecutionsRequest& request) {
  engine::ExecutionFilter filter;
  filter.state_machine = request.state_machine();
  RETURN_IF_ERROR(CheckTextLimit(request.name_prefix(), "name_prefix", engine::kMaxNameChars));
  filter.name_prefix = request.name_prefix();
  if (request.status() == v1::QUARANTINED) {
    filter.quarantined = true;
    return filter;
  }
  absl::StatusOr<std::optional<sm::ExecutionStatus>> status = FromProto(request.status());
  if (!status.ok()) {
    return status.status();
  }
  filter.status = *status;
  if (request.has_started_after()) {
    RETURN_IF_ERROR(CheckTimestamp(request.started_after(), "started_after"));
    filter.started_after = ToEpochMillis(request.started_after());
  }
  if (request.has_started_before()) {
    RETURN_IF_ERROR(CheckTimestamp(request.started_before(), "started_before"));
    filter.started_before = ToEpochMillis(request.started_before());
  }
  return filter;
}

v1::TaskAttempt ToProto(const sm::TaskAttempt& a) {
  v1::TaskAttempt p;
  p.set_attempt(a.attempt);
  p.set_worker_identity(a.worker);
  *p.mutable_scheduled() = ToTimestamp(a.scheduled);
  if (a.started != 0) {
    *p.mutable_started() = ToTimestamp(a.started);
  }
  if (a.ended != 0) {
    *p.mutable_ended() = ToTimestamp(a.ended);
  }
  p.set_error(a.error);
  p.set_cause(a.cause);
  return p;
}

v1::DeadLetter ToProto(const engine::DeadLetterRecord& r) {
  v1::DeadLetter p;
  p.set_id(r.id);
  p.set_queue(r.queue);
  p.set_execution_arn(r.execution_id);
  p.set_state_machine_arn(r.state_machine_arn);
  p.set_state_name(r.state_name);
  p.set_input(boost::json::serialize(r.input));
  for (const sm::TaskAttempt& a : r.attempts) {
    *p.add_attempts() = ToProto(a);
  }
  p.set_error(r.error());
  p.set_cause(r.cause());
  *p.mutable_created() = ToTimestamp(r.created);
  return p;
}

engine::DeadLetterFilter FromProto(const v1::DeadLetterFilter& f) {
  engine::DeadLetterFilter filter;
  filter.queue = f.queue();
  filter.state_machine = f.state_machine();
  filter.error = f.error();
  if (f.has_created_after()) {
    filter.created_after = ToEpochMillis(f.created_after());
  }
  if (f.has_created_before()) {
    filter.created_before = ToEpochMillis(f.created_before());
  }
  return filter;
}

absl::Status CheckTimestamps(const v1::DeadLetterFilter& filter) {
  if (filter.has_created_after()) {
    RETURN_IF_ERROR(CheckTimestamp(filter.created_after(), "filter.created_after"));
  }
  if (filter.has_created_before()) {
    RETURN_IF_ERROR(CheckTimestamp(filter.created_before(), "filter.created_before"));
  }
  return absl::OkStatus();
}

}  // namespace stepflow::api
