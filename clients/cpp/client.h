#pragma once
// The C++ client of the Stepflow public API (proto/stepflow/v1/stepflow.proto): one gRPC channel, the
// StateMachines, Executions, Tasks and DeadLetters stubs, and absl::Status errors that keep the server's
// AWS-style error name. Uses only the public API; no engine header. The gRPC types stay in client.cc
// (pimpl); this header brings in the generated messages only.
//
// Errors: the gRPC code becomes the absl code of the same number, and the message starts with the server's
// error name ("ExecutionDoesNotExist: ..."; ErrorName() reads it back). Errors that never reached the server
// get a name too: "ServiceUnavailable" (cannot connect), "Timeout" (the call's deadline passed here).
//
// Thread-safety: a Client may be used from many threads at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "stepflow/v1/stepflow.pb.h"

namespace stepflow::client {

namespace v1 = ::stepflow::v1;

// How to reach and authenticate to a server. The same contract for every Stepflow SDK and the CLI (flag /
// environment variable):
//   token        --token / STEPFLOW_TOKEN             bearer token, sent as "authorization: Bearer TOKEN"
//   tls          --tls / STEPFLOW_TLS=true            TLS (implied by ca_cert, client_cert and client_key)
//   ca_cert      --ca-cert / STEPFLOW_CA_CERT         PEM file of the CA that signed the server's certificate
//                                                     ("" = the system's roots)
//   client_cert  --client-cert / STEPFLOW_CLIENT_CERT PEM file of the client certificate (mutual TLS)
//   client_key   --client-key / STEPFLOW_CLIENT_KEY   PEM file of its private key
struct ClientOptions {
  // Deadline of every call except StartSyncExecution (its own timeout) and WatchExecutionHistory (none).
  // Default: 30 s.
  std::chrono::milliseconds call_timeout{30000};
  // Largest message received. Default: 8 MiB, as the server.
  int max_message_bytes = 8 << 20;
  // Bearer token for servers with a token file. Default: "" = none.
  std::string token;
  // TLS and its files (see above). Default: plaintext.
  bool tls = false;
  std::string ca_cert;
  std::string client_cert;
  std::string client_key;
  // Longest wait between two attempts to reconnect to a server that went away. Short, so that workers are
  // back within a second of a restart; attempts to a closed local port cost next to nothing. Default: 500 ms.
  std::chrono::milliseconds max_reconnect_backoff{500};
};

// Fills the fields of `options` that are empty from STEPFLOW_TOKEN, STEPFLOW_TLS, STEPFLOW_CA_CERT,
// STEPFLOW_CLIENT_CERT and STEPFLOW_CLIENT_KEY. InvalidArgument for STEPFLOW_TLS other than true/false/1/0.
absl::Status ApplyEnvironment(ClientOptions& options);

// The error name at the start of a status message ("ExecutionDoesNotExist"), or "" for OK or none.
std::string ErrorName(const absl::Status& status);

class Client {
 public:
  // Opens a channel to `address` ("127.0.0.1:7233") and waits until it is connected, at most `timeout`.
  // Unavailable ("ServiceUnavailable: cannot connect to ADDRESS within N ms") when it does not connect;
  // InvalidArgument when a TLS file cannot be read.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const std::string& address,
                                                         std::chrono::milliseconds timeout,
                                                         const ClientOptions& options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& address() const { return address_; }

  // --- State machines. `state_machine` is a name or an ARN.
  absl::StatusOr<v1::StateMachine> CreateStateMachine(const std::string& name, const std::string& definition,
                                                      v1::StateMachineType type = v1::STANDARD);
  absl::StatusOr<v1::StateMachine> UpdateStateMachine(const std::string& state_machine,
                                                      const std::string& definition);
  // The whole request, for `publish` and `version_description` (AWS's publish / versionDescription): the
  // revision is then published as a version in the same commit, named by the result's
  // state_machine_version_arn. InvalidArgument (ValidationException) for a description without publish.
  absl::StatusOr<v1::StateMachine> CreateStateMachine(const v1::CreateStateMachineRequest& request);
  absl::StatusOr<v1::StateMachine> UpdateStateMachine(const v1::UpdateStateMachineRequest& request);
  absl::StatusOr<v1::StateMachine> DescribeStateMachine(const std::string& state_machine);
  // One page (page_size 0 = the server's default).
  absl::StatusOr<v1::ListStateMachinesResponse> ListStateMachines(int page_size,
                                                                  const std::string& page_token);
  // Every page.
  absl::StatusOr<std::vector<v1::StateMachine>> ListAllStateMachines();
  absl::Status DeleteStateMachine(const std::string& state_machine);
  absl::StatusOr<v1::ValidateDefinitionResponse> ValidateDefinition(const std::string& definition,
                                                                    v1::StateMachineType type = v1::STANDARD);

  // --- Published versions (AWS's PublishStateMachineVersion, ...). Errors as the proto states them:
  // NotFound (StateMachineDoesNotExist, ResourceNotFound), FailedPrecondition (ConflictException),
  // ResourceExhausted (ServiceQuotaExceededException), InvalidArgument (InvalidArn, ValidationException).
  // Idempotent: the latest revision's version when it has one. `revision` 0 = any; otherwise
  // ConflictException unless it is the latest.
  absl::StatusOr<v1::StateMachineVersion> PublishStateMachineVersion(const std::string& state_machine,
                                                                     const std::string& description = "",
                                                                     std::int64_t revision = 0);
  // One page, newest first, without definitions.
  absl::StatusOr<v1::ListStateMachineVersionsResponse> ListStateMachineVersions(const std::string& state_machine,
                                                                                int page_size,
                                                                                const std::string& page_token);
  // Every page.
  absl::StatusOr<std::vector<v1::StateMachineVersion>> ListAllStateMachineVersions(const std::string& state_machine);
  absl::StatusOr<v1::StateMachineVersion> DescribeStateMachineVersion(const std::string& version_arn);
  // OK when it does not exist; ConflictException while an alias routes to it.
  absl::Status DeleteStateMachineVersion(const std::string& version_arn);

  // --- Aliases: a name routing starts to one or two versions by weight. The request carries the routes.
  absl::StatusOr<v1::StateMachineAlias> CreateStateMachineAlias(const v1::CreateStateMachineAliasRequest& request);
  // Absent description / empty routing: unchanged.
  absl::StatusOr<v1::StateMachineAlias> UpdateStateMachineAlias(const v1::UpdateStateMachineAliasRequest& request);
  absl::StatusOr<v1::StateMachineAlias> DescribeStateMachineAlias(const std::string& alias_arn);
  // One page, by name.
  absl::StatusOr<v1::ListStateMachineAliasesResponse> ListStateMachineAliases(const std::string& state_machine,
                                                                              int page_size,
                                                                              const std::string& page_token);
  // Every page.
  absl::StatusOr<std::vector<v1::StateMachineAlias>> ListAllStateMachineAliases(const std::string& state_machine);
  // NotFound (ResourceNotFound).
  absl::Status DeleteStateMachineAlias(const std::string& alias_arn);

  // --- TestState (AWS's TestState): runs one state of a definition without an execution. InvalidArgument
  // (InvalidDefinition, InvalidExecutionInput, ValidationException).
  absl::StatusOr<v1::TestStateResponse> TestState(const v1::TestStateRequest& request);

  // --- Executions. `input` is JSON text ("" = "{}"); `name` "" lets the server pick one.
  absl::StatusOr<v1::Execution> StartExecution(const std::string& state_machine, const std::string& input,
                                               const std::string& name = "");
  // Starts and waits until the execution ends, at most `timeout` (then DeadlineExceeded; it keeps running).
  absl::StatusOr<v1::Execution> StartSyncExecution(const std::string& state_machine, const std::string& input,
                                                   const std::string& name,
                                                   std::chrono::milliseconds timeout);
  absl::StatusOr<v1::Execution> DescribeExecution(const std::string& execution_arn);
  // The standard execution `name` of `state_machine` (a name or an ARN), without knowing its ARN.
  // NotFound (ExecutionDoesNotExist).
  absl::StatusOr<v1::Execution> DescribeExecutionByName(const std::string& state_machine, const std::string& name);
  // One page.
  absl::StatusOr<v1::GetExecutionHistoryResponse> GetExecutionHistoryPage(
      const v1::GetExecutionHistoryRequest& request);
  // Every event, oldest first (or newest first with `reverse_order`).
  absl::StatusOr<std::vector<v1::HistoryEvent>> GetExecutionHistory(const std::string& execution_arn,
                                                                    bool reverse_order = false);
  // Streams the events with id > after_event_id and follows the execution until it ends: `on_event` is called
  // for each, in order, on the calling thread. OK when the execution ended (all events delivered) or when
  // `on_event` returned false (the stream is cancelled).
  absl::Status WatchExecutionHistory(const std::string& execution_arn, std::int64_t after_event_id,
                                     const std::function<bool(const v1::HistoryEvent&)>& on_event);
  // One page; the request carries the filters. Its state_machine may be a version or alias ARN: the executions
  // started on that version or through that alias (not with a status filter: ValidationException).
  absl::StatusOr<v1::ListExecutionsResponse> ListExecutions(const v1::ListExecutionsRequest& request);
  // Every page for these filters (page_token ignored).
  absl::StatusOr<std::vector<v1::Execution>> ListAllExecutions(v1::ListExecutionsRequest request);
  absl::StatusOr<v1::Execution> StopExecution(const std::string& execution_arn, const std::string& error = "",
                                              const std::string& cause = "");
  absl::StatusOr<v1::StateMachine> DescribeStateMachineForExecution(const std::string& execution_arn);
  // AWS's RedriveExecution: resumes a FAILED, TIMED_OUT or ABORTED execution from the state that failed.
  // FailedPrecondition (ExecutionNotRedrivable) otherwise; NotFound (ExecutionDoesNotExist).
  absl::StatusOr<v1::Execution> RedriveExecution(const std::string& execution_arn);

  // --- Tasks (for workers; clients/cpp/worker.h builds on these). A task is named by its opaque token.
  //
  // Long-polls `queue` for up to `wait` (0 = the server's default, 20 s; the server caps it at 60 s). The
  // call's deadline is the wait plus call_timeout, so a long poll never times out here first. While the
  // server is unreachable the poll waits for it to come back (wait-for-ready, within that deadline) instead
  // of failing at once, so that a worker polls again as soon as a restarted server listens. An empty
  // task_token means no task came: poll again. `stop` cancels the call (Cancelled); a task the server handed
  // out at that very moment is not lost but waits for its lease (TimeoutSeconds/HeartbeatSeconds) to run out.
  absl::StatusOr<v1::PollTaskResponse> PollTask(const std::string& queue, const std::string& identity,
                                                std::chrono::seconds wait, std::stop_token stop = {});
  // Reports success with `output` (JSON text; "" = "{}"). Repeating a completion is OK. InvalidArgument
  // (InvalidToken, InvalidOutput), NotFound (TaskDoesNotExist), FailedPrecondition (TaskTimedOut: timed out,
  // cancelled, or the execution ended).
  absl::Status CompleteTask(const std::string& task_token, const std::string& output);
  // Reports failure with an ASL error name ("" = States.TaskFailed) and cause. Errors as CompleteTask.
  absl::Status FailTask(const std::string& task_token, const std::string& error, const std::string& cause);
  // Resets the task's HeartbeatSeconds clock. true when the execution no longer wants the result (stopped,
  // timed out, a sibling branch failed): the worker should stop. Errors as CompleteTask.
  absl::StatusOr<bool> HeartbeatTask(const std::string& task_token);
  // The batched calls (the Worker uses them): up to `max_tasks` tasks per poll (1..256; empty: none came),
  // waiting and cancelled as PollTask.
  absl::StatusOr<std::vector<v1::PollTaskResponse>> PollTasks(const std::string& queue, const std::string& identity,
                                                              int max_tasks, std::chrono::seconds wait,
                                                              std::stop_token stop = {});
  // Many reports in one call (at most 1,000 and 4 MiB: InvalidArgument ValidationException beyond); one
  // result per report, in order, each what CompleteTask/FailTask/HeartbeatTask would have answered. The
  // request's `polls` (one per queue, wait_seconds 0) bring back tasks for the slots the reports free, in the
  // response's `tasks`: first those the reports' own commits schedule, started in those commits.
  absl::StatusOr<v1::ReportTaskBatchResponse> ReportTasks(const v1::ReportTaskBatchRequest& request);

  // --- Dead letters (tasks whose retries ran out).
  // One page (page_size 0 = the server's default, 100), in the server's order (by execution ARN, then oldest
  // first); the request carries the filter.
  absl::StatusOr<v1::ListDeadLettersResponse> ListDeadLetters(const v1::ListDeadLettersRequest& request);
  // Every entry matching `filter`, in the same order.
  absl::StatusOr<std::vector<v1::DeadLetter>> ListAllDeadLetters(const v1::DeadLetterFilter& filter);
  // NotFound (DeadLetterDoesNotExist).
  absl::StatusOr<v1::DeadLetter> GetDeadLetter(const std::string& id);
  // Re-runs the entries (one `id`, or every entry matching `filter`) and resumes their executions; one
  // outcome per entry (its `error` set when that entry could not be redriven). A non-OK status means the
  // request as a whole failed (InvalidArgument: both or neither of id and filter; NotFound for an id).
  absl::StatusOr<v1::RedriveDeadLettersResponse> RedriveDeadLetters(
      const v1::RedriveDeadLettersRequest& request);
  // Removes the entries; outcomes and errors as RedriveDeadLetters.
  absl::StatusOr<v1::DiscardDeadLettersResponse> DiscardDeadLetters(
      const v1::DiscardDeadLettersRequest& request);

 private:
  struct Impl;
  Client(std::string address, ClientOptions options, std::unique_ptr<Impl> impl);

  std::string address_;
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepflow::client
