#pragma once
// The request handlers of the public API, shared by both transports (internal to engine/api): engine + request
// message -> response message. Each checks its request (the only place it is checked), pages, calls the engine
// and converts; errors are absl::Status with the AWS-style error name first in the message, mapped to the wire
// by error_mapping.h. The gRPC services (*_service.cc) and the REST API (rest_api.cc) are thin adapters: they
// admit the caller (CallGate), call one handler and write its answer.
//
// The two long calls (StartExecutionSync, FollowHistory) take a place in env.long_waits first, and
// wait in slices of kWaitSlice so that they notice `cancelled`, their deadline and a server shutdown within
// one slice.
//
// Thread-safety: every handler may run concurrently with any other; they keep no state of their own.

#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/api/handler_env.h"
#include "stepflow/v1/stepflow.pb.h"
#include <google/protobuf/struct.pb.h>

namespace stepflow::api {

// State machines.
absl::StatusOr<v1::StateMachine> CreateStateMachine(ServiceEnv& env, const v1::CreateStateMachineRequest& request);
absl::StatusOr<v1::StateMachine> UpdateStateMachine(ServiceEnv& env, const v1::UpdateStateMachineRequest& request);
absl::StatusOr<v1::StateMachine> DescribeStateMachine(ServiceEnv& env,
                                                      const v1::DescribeStateMachineRequest& request);
absl::StatusOr<v1::ListStateMachinesResponse> ListStateMachines(ServiceEnv& env,
                                                                const v1::ListStateMachinesRequest& request);
absl::StatusOr<v1::DeleteStateMachineResponse> DeleteStateMachine(ServiceEnv& env,
                                                                  const v1::DeleteStateMachineRequest& request);
absl::StatusOr<v1::ValidateDefinitionResponse> ValidateDefinition(ServiceEnv& env,
                                                                  const v1::ValidateDefinitionRequest& request);

// Versions and aliases (version_handlers.cc).
absl::StatusOr<v1::StateMachineVersion> PublishStateMachineVersion(
    ServiceEnv& env, const v1::PublishStateMachineVersionRequest& request);
absl::StatusOr<v1::ListStateMachineVersionsResponse> ListStateMachineVersions(
    ServiceEnv& env, const v1::ListStateMachineVersionsRequest& request);
absl::StatusOr<v1::StateMachineVersion> DescribeStateMachineVersion(
    ServiceEnv& env, const v1::DescribeStateMachineVersionRequest& request);
absl::StatusOr<v1::DeleteStateMachineVersionResponse> DeleteStateMachineVersion(
    ServiceEnv& env, const v1::DeleteStateMachineVersionRequest& request);
absl::StatusOr<v1::StateMachineAlias> CreateStateMachineAlias(ServiceEnv& env,
                                                              const v1::CreateStateMachineAliasRequest& request);
absl::StatusOr<v1::StateMachineAlias> UpdateStateMachineAlias(ServiceEnv& env,
                                                              const v1::UpdateStateMachineAliasRequest& request);
absl::StatusOr<v1::StateMachineAlias> DescribeStateMachineAlias(
    ServiceEnv& env, const v1::DescribeStateMachineAliasRequest& request);
absl::StatusOr<v1::ListStateMachineAliasesResponse> ListStateMachineAliases(
    ServiceEnv& env, const v1::ListStateMachineAliasesRequest& request);
absl::StatusOr<v1::DeleteStateMachineAliasResponse> DeleteStateMachineAlias(
    ServiceEnv& env, const v1::DeleteStateMachineAliasRequest& request);

// TestState (test_state_handler.cc): one state run on the request's input and mock (engine/test_state.h);
// nothing is stored. Its errors are sm::TestState's, all InvalidArgument.
absl::StatusOr<v1::TestStateResponse> TestState(ServiceEnv& env, const v1::TestStateRequest& request);

// Executions.
absl::StatusOr<v1::Execution> StartExecution(ServiceEnv& env, const v1::StartExecutionRequest& request);
absl::StatusOr<v1::Execution> DescribeExecution(ServiceEnv& env, const v1::DescribeExecutionRequest& request);
absl::StatusOr<v1::GetExecutionHistoryResponse> GetExecutionHistory(
    ServiceEnv& env, const v1::GetExecutionHistoryRequest& request);
absl::StatusOr<v1::ListExecutionsResponse> ListExecutions(ServiceEnv& env, const v1::ListExecutionsRequest& request);
absl::StatusOr<v1::Execution> StopExecution(ServiceEnv& env, const v1::StopExecutionRequest& request);
absl::StatusOr<v1::StateMachine> DescribeStateMachineForExecution(
    ServiceEnv& env, const v1::DescribeStateMachineForExecutionRequest& request);
absl::StatusOr<v1::Execution> RedriveExecution(ServiceEnv& env, const v1::RedriveExecutionRequest& request);

// How many history events SummarizeExecution folds at most; beyond, the summary says "truncated": true.
inline constexpr std::int64_t kMaxSummaryEvents = 100000;

// Each state's summary, folded from the history on the server (REST GET /executions/{arn}/summary):
//   {"executionArn", "status", "eventsRead", "truncated",
//    "states": {"<name>": {"status": "RUNNING|SUCCEEDED|FAILED|ABORTED", "entered": n, "exited": n,
//               "lastInput": <JSON>, "lastOutput": <JSON>,
//               "mapIterations": {"started": n, "succeeded": n, "failed": n, "aborted": n}}}}
// A state is SUCCEEDED when it exited as often as it was entered, else RUNNING while the execution runs, else
// as the execution ended (FAILED, or ABORTED). Work is bounded by kMaxSummaryEvents. NotFound for an unknown
// execution.
absl::StatusOr<google::protobuf::Struct> SummarizeExecution(ServiceEnv& env,
                                                           const v1::DescribeExecutionRequest& request);

// The data flow of one state (REST GET /executions/{arn}/data-flow?state=NAME&atEventId=N): its last entry up to
// event N (0 = the whole history; at most kMaxSummaryEvents read), with each step of its JSONPath pipeline as
// the interpreter takes it: sm::TestState runs the state of the execution's definition on the entry's recorded
// input, variables and $$, with the task's recorded result as its mock, and its inspection data gives the steps:
//   {"executionArn", "state", "type", "queryLanguage", "enteredEventId", "exitedEventId", "truncated",
//    "steps": [{"step": "input"|"InputPath"|"Parameters"|"result"|"ResultSelector"|"ResultPath"|"OutputPath"|
//               "Arguments"|"output", "value": <JSON> | "unknown": "<why>" | "error": "<name: cause>",
//               "recorded": true (read from the history), "note"}]}
// Steps are empty when the state was not entered by then. Paths read the top-level variables as of the state's
// entry (folded from the history's assignedVariables; not those of an enclosing Map iteration or Parallel
// branch) and a $$ of Execution (with the run's input), State and StateMachine only. NotFound for an unknown execution
// (ExecutionDoesNotExist) or state (StateDoesNotExist); InvalidArgument for a missing state or a negative
// at_event_id.
absl::StatusOr<google::protobuf::Struct> GetStateDataFlow(ServiceEnv& env, const v1::GetStateDataFlowRequest& request);

// Without a start-time range or a name prefix, the counts are the engine's (exact, kept with every status
// change: engine::Engine::CountExecutions). With one, counting walks the filtered list and stops at this many
// executions per status; a count that reached it is listed in "atLeast".
inline constexpr std::int64_t kMaxCountedPerStatus = 10000;

// Executions per status that the list's filters select (status, state machine, name prefix, start-time range;
// no paging):
//   {"counts": {"RUNNING": n, "SUCCEEDED": n, "FAILED": n, "TIMED_OUT": n, "ABORTED": n, "QUARANTINED": n},
//    "exact": true|false, "atLeast": ["<status whose count reached the cap>"...], "cap": kMaxCountedPerStatus}
// QUARANTINED only with the engine's counts (RUNNING leaves them out). InvalidArgument for paging fields or a
// bad filter; NotFound (StateMachineDoesNotExist) for an unknown state machine.
absl::StatusOr<google::protobuf::Struct> CountExecutions(ServiceEnv& env, const v1::ListExecutionsRequest& request);

// Bulk actions over a filter (bulk_handler.cc; REST POST /executions:stop-matching and :redrive-matching):
// one page of the executions `request.filter` selects (at most min(max_executions, kMaxBulkPerCall)), each
// stopped (or redriven) through the engine as a single call would, so that racing calls on the same executions
// serialize in its partitions: an execution is stopped or redriven once, by one of them; the others count it as
// skipped. InvalidArgument (ValidationException) for a missing state machine, a status the action cannot take,
// paging fields in the filter, max_executions < 1; NotFound for an unknown state machine; Unavailable on shutdown.
inline constexpr int kMaxBulkPerCall = 100;
absl::StatusOr<v1::BulkExecutionsResponse> StopMatchingExecutions(ServiceEnv& env,
                                                                  const v1::BulkExecutionsRequest& request);
absl::StatusOr<v1::BulkExecutionsResponse> RedriveMatchingExecutions(ServiceEnv& env,
                                                                     const v1::BulkExecutionsRequest& request);

// How a long call may end early.
struct LongCall {
  // True once the caller went away (polled once per slice). Default: never.
  std::function<bool()> cancelled = [] { return false; };
  // When the caller stops waiting (epoch ms); nullopt = no deadline. StartExecutionSync answers
  // DeadlineExceeded ("Timeout") a little before it, so that the answer reaches the caller in time.
  std::optional<common::EpochMillis> deadline;
};

// Starts the execution and waits until it ends. ResourceExhausted (ThrottlingException) past
// env.long_waits; DeadlineExceeded at the deadline; Cancelled; Unavailable on shutdown.
absl::StatusOr<v1::Execution> StartExecutionSync(ServiceEnv& env, const v1::StartExecutionRequest& request,
                                                 const LongCall& call);

// Sends every event after request.after_event_id to `emit`, in order, until the execution ended and all its
// events were sent (OK). `emit` returns false when the caller went away (then Cancelled). The other errors as
// StartExecutionSync's.
absl::Status FollowHistory(ServiceEnv& env, const v1::WatchExecutionHistoryRequest& request, const LongCall& call,
                           const std::function<bool(const v1::HistoryEvent&)>& emit);

// Dead letters.
absl::StatusOr<v1::ListDeadLettersResponse> ListDeadLetters(ServiceEnv& env,
                                                            const v1::ListDeadLettersRequest& request);
absl::StatusOr<v1::DeadLetter> GetDeadLetter(ServiceEnv& env, const v1::GetDeadLetterRequest& request);
absl::StatusOr<v1::RedriveDeadLettersResponse> RedriveDeadLetters(ServiceEnv& env,
                                                                  const v1::RedriveDeadLettersRequest& request);
absl::StatusOr<v1::DiscardDeadLettersResponse> DiscardDeadLetters(ServiceEnv& env,
                                                                  const v1::DiscardDeadLettersRequest& request);

}  // namespace stepflow::api
