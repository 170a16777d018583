#pragma once
// What the unary Tasks calls (tasks_service.cc) and the batched ones (task_batch_service.cc) share: the
// checks of a poll, its deadline, the task it hands out on the wire, and the bounds of a batch (internal to
// engine/api).

#include <grpcpp/server_context.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/clock.h"
#include "engine/api/poll_pump.h"
#include "engine/api/service_util.h"
#include "engine/engine.h"
#include "stepflow/v1/stepflow.pb.h"

namespace stepflow::api {

// Bounds of the batched calls (proto/stepflow/v1/stepflow.proto): tasks one PollBatch may hand out, reports
// one ReportBatch may carry and its serialized size.
inline constexpr int kMaxPollBatchTasks = 256;
inline constexpr int kMaxReportBatchItems = 1000;
// Polls one ReportBatch may carry (each of a different queue).
inline constexpr int kMaxReportBatchPolls = 100;
inline constexpr std::size_t kMaxReportBatchBytes = 4 << 20;
// The inputs of the tasks one PollBatch hands out, together (the first one always goes): half the server's
// default message limit, so that an answer never outgrows it.
inline constexpr std::size_t kMaxPollBatchInputBytes = 4 << 20;

// The checks of a poll of `queue` by `identity` waiting `wait_seconds`: the queue is given and the caller
// may poll it, the fields are within their limits, the server is not stopping.
absl::Status CheckPoll(const CallGuard& guard, const ServiceEnv& env, const std::string& queue,
                       const std::string& identity, int wait_seconds);

// The limits of a failure's error name and cause (README "Limits").
absl::Status CheckFailFields(const std::string& error, const std::string& cause);

// When a poll waiting `wait_seconds` (0 = the default) answers empty: a little before the call's own deadline.
common::EpochMillis PollDeadline(const grpc::ServerContextBase& context, int wait_seconds);

// A poll of `queue` by `identity` waiting `wait_seconds`, ready to park in the pump once its `answer` is set:
// its deadline (PollDeadline), the caller's forwarding context (token, deadline, hops: passed on when the pump
// fans it out to other nodes), and, for a poll another node forwarded (hops > 0), only a task waiting now.
std::shared_ptr<ParkedPoll> NewParkedPoll(const grpc::ServerContextBase& context, const std::string& queue,
                                          const std::string& identity, int wait_seconds);

// The task `t` as a poll answers it.
void FillPollResponse(const engine::PolledTask& t, v1::PollTaskResponse* response);

}  // namespace stepflow::api
