// Bulk stop and redrive over a filter (handlers.h: StopMatchingExecutions, RedriveMatchingExecutions): one page
// of the list, each execution acted on as its single call would be.
#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/handlers.h"

namespace stepflow::api {
namespace {

using ActOne = std::function<absl::Status(const std::string& arn)>;

absl::Status CheckBulkRequest(const v1::BulkExecutionsRequest& request) {
  const v1::ListExecutionsRequest& filter = request.filter();
  RETURN_IF_ERROR(RequireField(filter.state_machine(), "filter.state_machine"));
  if (!filter.page_token().empty() || filter.page_size() != 0) {
    return absl::InvalidArgumentError(
        "ValidationException: filter takes no paging fields (page_token is the request's own)");
  }
  if (request.max_executions() < 1) {
    return absl::InvalidArgumentError(
        "ValidationException: max_executions must be at least 1 (the number of executions confirmed)");
  }
  return absl::OkStatus();
}

// The executions of one page of `list`, each given to `act`. An execution that `act` finds in another status
// than `status` (FailedPrecondition, and the record agrees) is skipped: it ended, or another call was first.
absl::StatusOr<v1::BulkExecutionsResponse> ActOnPage(ServiceEnv& env, const v1::BulkExecutionsRequest& request,
                                                     v1::ExecutionStatus status, const ActOne& act) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  v1::ListExecutionsRequest list = request.filter();
  list.set_status(status);
  list.set_page_size(std::min(request.max_executions(), kMaxBulkPerCall));
  list.set_page_token(request.page_token());
  ASSIGN_OR_RETURN(v1::ListExecutionsResponse page, ListExecutions(env, list));
  v1::BulkExecutionsResponse response;
  for (const v1::Execution& e : page.executions()) {
    absl::Status done = act(e.arn());
    if (done.ok()) {
      response.set_done(response.done() + 1);
      continue;
    }
    if (absl::IsUnavailable(done)) {
      return done;  // shutting down or storage trouble: the caller resumes with the same token
    }
    if (absl::IsFailedPrecondition(done)) {
      v1::DescribeExecutionRequest describe;
      describe.set_execution_arn(e.arn());
      absl::StatusOr<v1::Execution> now = DescribeExecution(env, describe);
      if (now.ok() && now->status() != status) {
        response.set_skipped(response.skipped() + 1);
        continue;
      }
    }
    v1::BulkExecutionFailure* failure = response.add_failures();
    failure->set_execution_arn(e.arn());
    failure->set_error(std::string(done.message()));
  }
  response.set_next_page_token(page.next_page_token());
  return response;
}

}  // namespace

absl::StatusOr<v1::BulkExecutionsResponse> StopMatchingExecutions(ServiceEnv& env,
                                                                  const v1::BulkExecutionsRequest& request) {
  RETURN_IF_ERROR(CheckBulkRequest(request));
  const v1::ExecutionStatus status = request.filter().status();
  if (status != v1::EXECUTION_STATUS_UNSPECIFIED && status != v1::RUNNING) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: only RUNNING executions can be stopped; "
                                                   "filter.status is ", v1::ExecutionStatus_Name(status)));
  }
  RETURN_IF_ERROR(CheckTextLimit(request.error(), "error", kMaxErrorNameChars));
  RETURN_IF_ERROR(CheckByteLimit(request.cause(), "cause", kMaxCauseBytes));
  return ActOnPage(env, request, v1::RUNNING, [&](const std::string& arn) {
    v1::StopExecutionRequest stop;
    stop.set_execution_arn(arn);
    stop.set_error(request.error());
    stop.set_cause(request.cause());
    return StopExecution(env, stop).status();
  });
}

absl::StatusOr<v1::BulkExecutionsResponse> RedriveMatchingExecutions(ServiceEnv& env,
                                                                     const v1::BulkExecutionsRequest& request) {
  RETURN_IF_ERROR(CheckBulkRequest(request));
  const v1::ExecutionStatus status = request.filter().status();
  if (status != v1::FAILED && status != v1::TIMED_OUT && status != v1::ABORTED) {
    return absl::InvalidArgumentError(
        "ValidationException: filter.status must be FAILED, TIMED_OUT or ABORTED (the executions to redrive)");
  }
  if (!request.error().empty() || !request.cause().empty()) {
    return absl::InvalidArgumentError("ValidationException: error and cause are for stop, not redrive");
  }
  return ActOnPage(env, request, status, [&](const std::string& arn) {
    v1::RedriveExecutionRequest redrive;
    redrive.set_execution_arn(arn);
    return RedriveExecution(env, redrive).status();
  });
}

}  // namespace stepflow::api
