#include "engine/dead_letters.h"

#include "absl/strings/str_cat.h"
#include "engine/proto_value.h"
#include "engine/records.h"
#include "engine/records_v1.h"
#include "engine/tasks.h"
#include "stepflow/storage/v1/records.pb.h"
#include "storage/store.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

const std::string kEmpty;

}  // namespace

const std::string& DeadLetterRecord::error() const { return attempts.empty() ? kEmpty : attempts.back().error; }
const std::string& DeadLetterRecord::cause() const { return attempts.empty() ? kEmpty : attempts.back().cause; }

std::string DeadLetterPrefix(std::string_view execution_id) {
  std::string prefix;
  storage::AppendString(prefix, execution_id);
  return prefix;
}

std::string DeadLetterKey(std::string_view execution_id, std::uint64_t task_id) {
  std::string key = DeadLetterPrefix(execution_id);
  storage::AppendUint64BigEndian(key, task_id);
  return key;
}

std::string EncodeDeadLetter(const DeadLetterRecord& r) {
  storage::v1::DeadLetterRecord p;
  p.set_queue(r.queue);
  p.set_execution(r.execution_id);
  p.set_state_machine_arn(r.state_machine_arn);
  p.set_state(r.state_name);
  p.set_resource(r.resource);
  p.set_task_id(r.task_id);
  p.set_input(json::serialize(r.input));
  for (const sm::TaskAttempt& a : r.attempts) {
    storage::v1::TaskAttempt* t = p.add_attempts();
    t->set_task_id(a.task_id);
    t->set_attempt(a.attempt);
    t->set_worker(a.worker);
    t->set_scheduled(a.scheduled);
    t->set_started(a.started);
    t->set_ended(a.ended);
    t->set_error(a.error);
    t->set_cause(a.cause);
  }
  p.set_created(r.created);
  return EncodeProtoValue(p);
}

absl::StatusOr<DeadLetterRecord> DecodeDeadLetter(std::string_view value) {
  switch (ValueFormatOf(value)) {
    case ValueFormat::kJsonV1:
      return DecodeDeadLetterV1(value);
    case ValueFormat::kProtobufV2:
      break;
    case ValueFormat::kUnknown:
      return absl::DataLossError(absl::StrCat("dead letter of unknown format: ", std::string(value.substr(0, 80))));
  }
  // A message that does not parse is refused even when the fields read before the error look whole: the
  // parser leaves them half-filled (e.g. a string cut short or not UTF-8), and re-encoding them would write a
  // record that does not read (found by records_fuzzer).
  storage::v1::DeadLetterRecord p;
  std::optional<json::value> input;
  if (!DecodeProtoValue(value, p) || !(input = ParseStoredJson(p.input()))) {
    return absl::DataLossError("malformed dead letter (version 2)");
  }
  DeadLetterRecord r;
  r.input = *std::move(input);
  r.queue = std::move(*p.mutable_queue());
  r.execution_id = std::move(*p.mutable_execution());
  r.state_machine_arn = std::move(*p.mutable_state_machine_arn());
  r.state_name = std::move(*p.mutable_state());
  r.resource = std::move(*p.mutable_resource());
  r.task_id = p.task_id();
  r.created = p.created();
  for (storage::v1::TaskAttempt& a : *p.mutable_attempts()) {
    r.attempts.push_back(sm::TaskAttempt{a.task_id(), a.attempt(), std::move(*a.mutable_worker()), a.scheduled(),
                                         a.started(), a.ended(), std::move(*a.mutable_error()),
                                         std::move(*a.mutable_cause())});
  }
  r.id = DeadLetterId(r.execution_id, r.task_id);
  return r;
}

DeadLetterRecord MakeDeadLetter(std::string_view execution_id, std::string_view state_machine_arn,
                                const sm::DeadLetterCommand& command, common::EpochMillis now) {
  DeadLetterRecord r;
  r.queue = TaskQueueName(command.resource, command.input);
  r.execution_id = std::string(execution_id);
  r.state_machine_arn = std::string(state_machine_arn);
  r.state_name = command.state_name;
  r.resource = command.resource;
  r.task_id = command.task_id;
  r.input = command.input;
  r.attempts = command.attempts;
  r.created = now;
  r.id = DeadLetterId(r.execution_id, command.task_id);
  return r;
}

}  // namespace stepflow::engine
