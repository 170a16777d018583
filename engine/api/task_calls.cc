#include "engine/api/task_calls.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/convert.h"

namespace stepflow::api {
namespace {

constexpr int kDefaultPollSeconds = 20;
constexpr int kMaxPollSeconds = 60;
// A poll answers this long before the call's deadline, so that the empty answer reaches the client in time.
constexpr common::EpochMillis kPollMarginMs = 100;

}  // namespace

absl::Status CheckPoll(const CallGuard& guard, const ServiceEnv& env, const std::string& queue,
                       const std::string& identity, int wait_seconds) {
  RETURN_IF_ERROR(RequireField(queue, "queue"));
  RETURN_IF_ERROR(guard.AdmitQueue(queue));
  RETURN_IF_ERROR(CheckByteLimit(queue, "queue", kMaxQueueNameBytes));
  RETURN_IF_ERROR(CheckTextLimit(identity, "worker_identity", kMaxWorkerIdentityChars));
  if (wait_seconds < 0 || wait_seconds > kMaxPollSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat("ValidationException: wait_seconds must be between 0 and ", kMaxPollSeconds));
  }
  return CheckNotStopping(env);
}

absl::Status CheckFailFields(const std::string& error, const std::string& cause) {
  RETURN_IF_ERROR(CheckTextLimit(error, "error", kMaxErrorNameChars));
  return CheckByteLimit(cause, "cause", kMaxCauseBytes);
}

common::EpochMillis PollDeadline(const grpc::ServerContextBase& context, int wait_seconds) {
  const int wait = wait_seconds == 0 ? kDefaultPollSeconds : wait_seconds;
  common::EpochMillis deadline = NowMillis() + wait * 1000;
  if (std::optional<common::EpochMillis> call = CallDeadline(context)) {
    deadline = std::min(deadline, *call - kPollMarginMs);
  }
  return deadline;
}

std::shared_ptr<ParkedPoll> NewParkedPoll(const grpc::ServerContextBase& context, const std::string& queue,
                                          const std::string& identity, int wait_seconds) {
  auto poll = std::make_shared<ParkedPoll>();
  poll->queue = queue;
  poll->identity = identity;
  poll->deadline = PollDeadline(context, wait_seconds);
  poll->from = ForwardContextOf(context);
  // Forwarded by another node's fan-out (poll_pump.h): only a task waiting here now, never fanned out again.
  poll->take_waiting_only = poll->from.hops > 0;
  return poll;
}

void FillPollResponse(const engine::PolledTask& t, v1::PollTaskResponse* response) {
  response->set_task_token(t.token);
  response->set_input(t.input);
  response->set_queue(t.queue);
  v1::TaskContext* c = response->mutable_context();
  c->set_execution_arn(t.execution_arn);
  c->set_state_machine_arn(t.state_machine_arn);
  c->set_state_name(t.state_name);
  c->set_attempt(t.attempt);
  if (t.deadline != 0) {
    *c->mutable_deadline() = ToTimestamp(t.deadline);
  }
  c->set_heartbeat_seconds(t.heartbeat_seconds);
  *c->mutable_scheduled() = ToTimestamp(t.scheduled);
}

}  // namespace stepflow::api
