// The execution handlers (handlers.h), the two long calls included.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/handlers.h"
#include "engine/api/page_tokens.h"
#include "engine/errors.h"
#include "engine/names.h"

namespace stepflow::api {
namespace {


// StartSync answers this long before the call's deadline, so that its DeadlineExceeded reaches the client
// (with the error name) before the client's own deadline fires.
constexpr common::EpochMillis kDeadlineMarginMs = 50;

constexpr char kEmptyInput[] = "{}";

bool IsFinalEvent(const std::string& type) {
  return type == "ExecutionSucceeded" || type == "ExecutionFailed" || type == "ExecutionTimedOut" ||
         type == "ExecutionAborted";
}

absl::Status Cancelled() { return absl::CancelledError("Cancelled: the call was cancelled"); }

// The ARN that `request` names: its execution_arn, or the ARN of the standard execution `name` of
// `state_machine` (exactly one of the two ways).
absl::StatusOr<std::string> ExecutionArnOf(const v1::DescribeExecutionRequest& request) {
  const bool by_name = !request.state_machine().empty() || !request.name().empty();
  if (!request.execution_arn().empty()) {
    if (by_name) {
      return absl::InvalidArgumentError(
          "ValidationException: give execution_arn, or state_machine and name, not both");
    }
    return request.execution_arn();
  }
  if (!by_name) {
    return absl::InvalidArgumentError(
        "ValidationException: execution_arn, or state_machine and name, must be given");
  }
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  RETURN_IF_ERROR(RequireField(request.name(), "name"));
  RETURN_IF_ERROR(engine::ValidateName(request.name(), "execution"));
  absl::StatusOr<std::string> machine = engine::StateMachineNameOf(request.state_machine());
  if (absl::IsNotFound(machine.status())) {
    // A name that cannot exist here has no executions either.
    return engine::errors::ExecutionDoesNotExist(
        absl::StrCat("execution '", request.name(), "' of state machine '", request.state_machine(), "'"));
  }
  RETURN_IF_ERROR(machine.status());
  return engine::ExecutionArn(*machine, request.name());
}


// Starts (or finds, by name) the execution of `request`. With `wait_until`, then also waits until then for its end
// (Engine::StartExecutionAndWait): the ended record, or the start's (RUNNING) when the time passed first.
absl::StatusOr<engine::ExecutionInfoRecord> StartOne(ServiceEnv& env, const v1::StartExecutionRequest& request,
                                                     std::optional<common::EpochMillis> wait_until = std::nullopt) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  const std::string& input = request.input().empty() ? std::string(kEmptyInput) : request.input();
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord record,
                   wait_until.has_value()
                       ? env.engine->StartExecutionAndWait(request.state_machine(), request.name(), input, *wait_until)
                       : env.engine->StartExecution(request.state_machine(), request.name(), input));
  spdlog::debug("execution started execution={} state_machine={} version={}", record.arn,
                record.state_machine_arn, record.state_machine_version);
  return record;
}

// The end of a call's next wait slice: kWaitSlice from now, or the call's deadline less a margin when that comes
// first (`*last`: no slice follows).
common::EpochMillis NextSliceEnd(const LongCall& call, bool* last) {
  common::EpochMillis slice_end = NowMillis() + kWaitSlice.count();
  *last = false;
  if (call.deadline.has_value() && *call.deadline - kDeadlineMarginMs <= slice_end) {
    slice_end = *call.deadline - kDeadlineMarginMs;
    *last = true;
  }
  return slice_end;
}

// Waits until the execution ends, the call's deadline (less a margin) passes, the call is cancelled or the
// server stops. `call.cancelled` is asked after each slice that ended without the execution's end, not before
// the first: most executions of a waiting start end within it, and a synchronous gRPC server's IsCancelled
// polls the call's completion queue (a system call and a thread hand-off, ~4% of the server's CPU in W3).
absl::StatusOr<engine::ExecutionInfoRecord> WaitUntilDone(ServiceEnv& env, const LongCall& call,
                                                          const std::string& arn) {
  for (;;) {
    RETURN_IF_ERROR(CheckNotStopping(env));
    bool last = false;
    const common::EpochMillis slice_end = NextSliceEnd(call, &last);
    absl::StatusOr<engine::ExecutionInfoRecord> done = env.engine->WaitForCompletion(arn, slice_end);
    if (done.ok() || done.status().code() != absl::StatusCode::kDeadlineExceeded || last) {
      return done;
    }
    if (call.cancelled()) {
      return Cancelled();
    }
  }
}

// Emits events after `after_event_id` until the execution ended and all its events were emitted.
absl::Status Follow(ServiceEnv& env, const LongCall& call, const std::string& arn, std::int64_t after_event_id,
                    const std::function<bool(const v1::HistoryEvent&)>& emit) {
  std::int64_t after = after_event_id;
  for (;;) {
    if (call.cancelled()) {
      return Cancelled();
    }
    RETURN_IF_ERROR(CheckNotStopping(env));
    common::EpochMillis slice_end = NowMillis() + kWaitSlice.count();
    if (call.deadline.has_value() && *call.deadline <= slice_end) {
      if (*call.deadline <= NowMillis()) {
        return absl::DeadlineExceededError("Timeout: the call's deadline passed");
      }
      slice_end = *call.deadline;
    }
    ASSIGN_OR_RETURN(std::vector<engine::HistoryEventRecord> events,
                     env.engine->WaitForHistory(arn, after, slice_end));
    for (const engine::HistoryEventRecord& event : events) {
      if (!emit(ToProto(event))) {
        return Cancelled();  // the client went away
      }
      after = event.id;
      if (IsFinalEvent(event.type)) {
        return absl::OkStatus();
      }
    }
    if (events.empty()) {
      // Nothing new within the slice: either still running, or it ended before `after` (the client asked
      // from beyond the final event).
      ASSIGN_OR_RETURN(engine::ExecutionInfoRecord record, env.engine->DescribeExecution(arn));
      if (record.status != sm::ExecutionStatus::kRunning) {
        // One last look: events committed between the wait and the describe.
        ASSIGN_OR_RETURN(std::vector<engine::HistoryEventRecord> tail,
                         env.engine->WaitForHistory(arn, after, NowMillis()));
        for (const engine::HistoryEventRecord& event : tail) {
          if (!emit(ToProto(event))) {
            return Cancelled();
          }
        }
        return absl::OkStatus();
      }
    }
  }
}

}  // namespace
absl::StatusOr<v1::GetExecutionHistoryResponse> GetExecutionHistory(ServiceEnv& env,
                                                             const v1::GetExecutionHistoryRequest& request) {
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size(), kDefaultHistoryPageSize));
  const std::string scope = absl::StrCat(request.reverse_order() ? "r:" : "f:", request.execution_arn());
  ASSIGN_OR_RETURN(std::string page_token, OpenPageToken(*env.engine, "history", scope, request.page_token()));
  ASSIGN_OR_RETURN(engine::Page<engine::HistoryEventRecord> page,
                   env.engine->GetExecutionHistory(request.execution_arn(), page_size, page_token,
                                              request.reverse_order()));
  v1::GetExecutionHistoryResponse response;
  for (const engine::HistoryEventRecord& event : page.items) {
    *response.add_events() = ToProto(event);
  }
  response.set_next_page_token(SealPageToken(*env.engine, "history", scope, page.next_page_token));
  return response;
}

absl::StatusOr<v1::ListExecutionsResponse> ListExecutions(ServiceEnv& env,
                                                  const v1::ListExecutionsRequest& request) {
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size(), kDefaultListPageSize));
  ASSIGN_OR_RETURN(engine::ExecutionFilter filter, ToFilter(request));
  v1::ListExecutionsRequest filters = request;  // the scope of the token: the filters, not the paging
  filters.clear_page_token();
  filters.clear_page_size();
  const std::string scope = filters.SerializeAsString();
  ASSIGN_OR_RETURN(std::string page_token, OpenPageToken(*env.engine, "executions", scope, request.page_token()));
  ASSIGN_OR_RETURN(engine::Page<engine::ExecutionInfoRecord> page,
                   env.engine->ListExecutions(filter, page_size, page_token));
  v1::ListExecutionsResponse response;
  for (const engine::ExecutionInfoRecord& record : page.items) {
    v1::Execution* e = response.add_executions();
    *e = ToProto(record);
    e->clear_input();
    e->clear_output();
  }
  response.set_next_page_token(SealPageToken(*env.engine, "executions", scope, page.next_page_token));
  return response;
}

absl::StatusOr<v1::Execution> DescribeExecution(ServiceEnv& env,
                                         const v1::DescribeExecutionRequest& request) {
  ASSIGN_OR_RETURN(std::string arn, ExecutionArnOf(request));
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord record, env.engine->DescribeExecution(arn));
  return ToProto(record);
}

absl::StatusOr<v1::Execution> StopExecution(ServiceEnv& env, const v1::StopExecutionRequest& request) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  RETURN_IF_ERROR(CheckTextLimit(request.error(), "error", kMaxErrorNameChars));
  RETURN_IF_ERROR(CheckByteLimit(request.cause(), "cause", kMaxCauseBytes));
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord record,
                   env.engine->StopExecution(request.execution_arn(), request.error(), request.cause()));
  spdlog::info("execution stopped execution={} status={} error={}", record.arn,
               sm::ExecutionStatusName(record.status), request.error());
  return ToProto(record);
}

absl::StatusOr<v1::StateMachine> DescribeStateMachineForExecution(
    ServiceEnv& env, const v1::DescribeStateMachineForExecutionRequest& request) {
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  ASSIGN_OR_RETURN(engine::StateMachineInfo info,
                   env.engine->DescribeStateMachineForExecution(request.execution_arn()));
  return ToProto(info);
}


absl::StatusOr<v1::Execution> StartExecution(ServiceEnv& env, const v1::StartExecutionRequest& request) {
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord record, StartOne(env, request));
  return ToProto(record);
}

absl::StatusOr<v1::Execution> RedriveExecution(ServiceEnv& env, const v1::RedriveExecutionRequest& request) {
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  RETURN_IF_ERROR(CheckNotStopping(env));
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord record, env.engine->RedriveExecution(request.execution_arn()));
  spdlog::info("execution redriven execution={}", record.arn);
  return ToProto(record);
}

absl::StatusOr<v1::Execution> StartExecutionSync(ServiceEnv& env, const v1::StartExecutionRequest& request,
                                                 const LongCall& call) {
  LongWaitSlot slot(env);
  RETURN_IF_ERROR(slot.status());
  // The first slice is waited by the start itself, which watches for the end from before it submits the start.
  bool last = false;
  const common::EpochMillis first_slice_end = NextSliceEnd(call, &last);
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord started, StartOne(env, request, first_slice_end));
  if (started.status != sm::ExecutionStatus::kRunning) {
    // It ended within its start's commit (a chain of Pass states, or one started before by this name) or within
    // the first slice: the record is the committed one.
    return ToProto(started);
  }
  if (!last && call.cancelled()) {
    return Cancelled();
  }
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord done, WaitUntilDone(env, call, started.arn));
  return ToProto(done);
}

absl::Status FollowHistory(ServiceEnv& env, const v1::WatchExecutionHistoryRequest& request, const LongCall& call,
                           const std::function<bool(const v1::HistoryEvent&)>& emit) {
  LongWaitSlot slot(env);
  RETURN_IF_ERROR(slot.status());
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  if (request.after_event_id() < 0) {
    return absl::InvalidArgumentError("ValidationException: after_event_id must not be negative");
  }
  return Follow(env, call, request.execution_arn(), request.after_event_id(), emit);
}

}  // namespace stepflow::api
