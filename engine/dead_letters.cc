#include "engine/dead_letters.h"

#include "absl/strings/str_cat.h"
#include "engine/records.h"
#include "engine/tasks.h"
#include "storage/store.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

const std::string kEmpty;

json::object EncodeAttempt(const sm::TaskAttempt& a) {
  json::object o{{"taskId", a.task_id}, {"attempt", a.attempt}, {"scheduled", a.scheduled}, {"ended", a.ended}};
  if (!a.worker.empty()) {
    o["worker"] = a.worker;
  }
  if (a.started != 0) {
    o["started"] = a.started;
  }
  o["error"] = a.error;
  o["cause"] = a.cause;
  return o;
}

template <typename T>
bool ReadNumber(const json::object& o, std::string_view key, T& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    return true;  // optional fields default
  }
  boost::system::error_code ec;
  out = v->to_number<T>(ec);
  return !ec;
}

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

}  // namespace

const std::string& DeadLetterRecord::error() const { return attempts.empty() ? kEmpty : attempts.back().error; }
const std::string& DeadLetterRecord::cause() const { return attempts.empty() ? kEmpty : attempts.back().cause; }

std::string DeadLetterKey(std::string_view execution_id, std::uint64_t task_id) {
  std::string key;
  storage::AppendString(key, execution_id);
  storage::AppendUint64BigEndian(key, task_id);
  return key;
}

std::string EncodeDeadLetter(const DeadLetterRecord& r) {
  json::array attempts;
  for (const sm::TaskAttempt& a : r.attempts) {
    attempts.push_back(EncodeAttempt(a));
  }
  json::object o{{"v", kRecordVersion},      {"queue", r.queue},     {"execution", r.execution_id},
                 {"stateMachine", r.state_machine_arn}, {"state", r.state_name}, {"resource", r.resource},
                 {"taskId", r.task_id},      {"input", r.input},     {"attempts", std::move(attempts)},
                 {"created", r.created}};
  return json::serialize(o);
}

absl::StatusOr<DeadLetterRecord> DecodeDeadLetter(std::string_view value) {
  const auto corrupt = [&] {
    return absl::DataLossError(absl::StrCat("malformed dead letter: ", std::string(value.substr(0, 200))));
  };
  boost::system::error_code ec;
  json::value v = json::parse(value, ec);
  if (ec || !v.is_object() || v.get_object().if_contains("v") == nullptr ||
      *v.get_object().if_contains("v") != json::value(kRecordVersion)) {
    return corrupt();
  }
  json::object& o = v.get_object();
  DeadLetterRecord r;
  if (!ReadString(o, "queue", r.queue) || !ReadString(o, "execution", r.execution_id) ||
      !ReadString(o, "stateMachine", r.state_machine_arn) || !ReadString(o, "state", r.state_name) ||
      !ReadString(o, "resource", r.resource) || !ReadNumber(o, "taskId", r.task_id) ||
      !ReadNumber(o, "created", r.created)) {
    return corrupt();
  }
  if (json::value* input = o.if_contains("input")) {
    r.input = std::move(*input);
  }
  const json::value* attempts = o.if_contains("attempts");
  if (attempts == nullptr || !attempts->is_array()) {
    return corrupt();
  }
  for (const json::value& a : attempts->get_array()) {
    if (!a.is_object()) {
      return corrupt();
    }
    const json::object& ao = a.get_object();
    sm::TaskAttempt t;
    if (!ReadNumber(ao, "taskId", t.task_id) || !ReadNumber(ao, "attempt", t.attempt) ||
        !ReadNumber(ao, "scheduled", t.scheduled) || !ReadNumber(ao, "started", t.started) ||
        !ReadNumber(ao, "ended", t.ended) || !ReadString(ao, "worker", t.worker) ||
        !ReadString(ao, "error", t.error) || !ReadString(ao, "cause", t.cause)) {
      return corrupt();
    }
    r.attempts.push_back(std::move(t));
  }
  r.id = TaskToken(r.execution_id, r.task_id);
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
  r.id = TaskToken(r.execution_id, command.task_id);
  return r;
}

}  // namespace stepflow::engine
