#include "engine/snapshots.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/crypto.h"
#include "engine/proto_value.h"
#include "engine/records.h"
#include "statemachine/json_parse.h"
#include "stepflow/storage/v1/records.pb.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

// The state nests a few levels above the JSON values it holds (object, frames, frame, resume point, ...).
constexpr std::size_t kStateWrapperDepth = 16;

// The MAC binds the body to its execution, so that a snapshot copied onto another execution is refused.
std::string Mac(std::string_view key, std::string_view id, std::string_view body) {
  std::string message;
  message.reserve(id.size() + 1 + body.size());
  message.append(id);
  message.push_back('\0');
  message.append(body);
  return HmacSha256(key, message);
}

absl::Status Refused(std::string_view id, std::string_view why) {
  return absl::DataLossError(absl::StrCat("the snapshot of execution ", std::string(id), " ", std::string(why)));
}

}  // namespace

std::string EncodeSnapshot(std::string_view id, std::int64_t inputs, const sm::Execution& execution,
                           const PendingWork& pending, std::string_view key) {
  storage::v1::ExecutionSnapshot s;
  s.set_inputs(inputs);
  s.set_state_format(sm::Execution::kStateFormat);
  s.set_state(json::serialize(execution.SaveState()));
  for (const auto& [timer_id, due] : pending.timers) {
    storage::v1::SnapshotTimer* t = s.add_timers();
    t->set_id(timer_id);
    t->set_due(due);
  }
  for (const auto& [task_id, task] : pending.tasks) {
    storage::v1::SnapshotTask* t = s.add_tasks();
    t->set_id(task_id);
    t->set_resource(task.resource);
    t->set_record(EncodeTaskRecord(task));
  }
  storage::v1::SnapshotEnvelope envelope;
  s.SerializeToString(envelope.mutable_body());
  envelope.set_mac(Mac(key, id, envelope.body()));
  return EncodeProtoValue(envelope);
}

absl::StatusOr<DecodedSnapshot> DecodeSnapshot(std::string_view id, std::string_view value, std::string_view key) {
  if (value.size() > kMaxSnapshotBytes) {
    return Refused(id, absl::StrCat("is ", value.size(), " bytes, more than the ", kMaxSnapshotBytes, " read"));
  }
  storage::v1::SnapshotEnvelope envelope;
  if (!DecodeProtoValue(value, envelope)) {
    return Refused(id, "is not a version-2 snapshot value");
  }
  if (!ConstantTimeEquals(envelope.mac(), Mac(key, id, envelope.body()))) {
    return Refused(id, "fails its MAC check (damaged, forged, or written for another execution or store)");
  }
  storage::v1::ExecutionSnapshot s;
  if (!s.ParseFromString(envelope.body())) {
    return Refused(id, "has a body that does not parse");
  }
  if (s.state_format() != sm::Execution::kStateFormat) {
    return Refused(id, absl::StrCat("has state format ", s.state_format(), "; this binary reads format ",
                                    sm::Execution::kStateFormat));
  }
  if (s.inputs() < 1) {
    return Refused(id, "covers no input");
  }
  sm::JsonParseOptions options;
  options.max_depth = kMaxStoredJsonDepth + kStateWrapperDepth;
  absl::StatusOr<json::value> state = sm::ParseJson(s.state(), "state", options);
  if (!state.ok()) {
    return Refused(id, std::string(state.status().message()));
  }
  DecodedSnapshot out;
  out.inputs = s.inputs();
  out.state = *std::move(state);
  for (const storage::v1::SnapshotTimer& t : s.timers()) {
    if (t.due() < 0 || !out.pending.timers.emplace(t.id(), t.due()).second) {
      return Refused(id, absl::StrCat("has a negative or repeated timer ", t.id()));
    }
  }
  for (const storage::v1::SnapshotTask& t : s.tasks()) {
    absl::StatusOr<sm::TaskCommand> task = DecodeTaskRecord(t.record());
    if (!task.ok() || t.resource().find('\0') != std::string::npos) {
      return Refused(id, absl::StrCat("has a malformed task ", t.id()));
    }
    task->task_id = t.id();
    task->resource = t.resource();
    if (!out.pending.tasks.emplace(t.id(), *std::move(task)).second) {
      return Refused(id, absl::StrCat("repeats task ", t.id()));
    }
  }
  return out;
}

}  // namespace stepflow::engine
