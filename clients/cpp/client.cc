#include "clients/cpp/client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "clients/cpp/credentials.h"
#include "stepflow/v1/stepflow.grpc.pb.h"

namespace stepflow::client {
namespace {

constexpr char kErrorNameMetadataKey[] = "stepflow-error";
// Reconnect backoff: gRPC's 1 s initial backoff makes a client that dials a starting server wait a second.
constexpr int kInitialReconnectBackoffMs = 100;
constexpr std::size_t kMaxErrorNameLength = 80;

std::string_view NamePrefix(std::string_view message) {
  std::size_t colon = message.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon > kMaxErrorNameLength || message[0] < 'A' ||
      message[0] > 'Z') {
    return {};
  }
  for (char c : message.substr(0, colon)) {
    bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
    if (!ok) {
      return {};
    }
  }
  return message.substr(0, colon);
}

// The name of an error that carries none (it did not come from Stepflow's handlers).
std::string_view LocalName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "Timeout";
    case grpc::StatusCode::UNAVAILABLE:
      return "ServiceUnavailable";
    case grpc::StatusCode::CANCELLED:
      return "Cancelled";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "ValidationException";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UnknownOperation";
    default:
      return "InternalFailure";
  }
}

absl::Status FromGrpc(const grpc::Status& status, const grpc::ClientContext& context, const char* method) {
  if (status.ok()) {
    return absl::OkStatus();
  }
  std::string message = status.error_message();
  if (NamePrefix(message).empty()) {
    std::string name(LocalName(status.error_code()));
    const auto& trailers = context.GetServerTrailingMetadata();
    auto it = trailers.find(kErrorNameMetadataKey);
    if (it != trailers.end()) {
      name.assign(it->second.data(), it->second.size());
    }
    message = absl::StrCat(name, ": ", method, ": ", message);
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), message);
}

std::chrono::system_clock::time_point DeadlineIn(std::chrono::milliseconds timeout) {
  return std::chrono::system_clock::now() + timeout;
}

// Every item of a paged list: `fetch(token)` returns one page, `items(page)` its repeated field.
template <typename Item, typename Fetch, typename Items>
absl::StatusOr<std::vector<Item>> AllPages(Fetch fetch, Items items) {
  std::vector<Item> all;
  std::string token;
  do {
    auto page = fetch(token);
    if (!page.ok()) {
      return page.status();
    }
    for (Item& item : *items(*page)) {
      all.push_back(std::move(item));
    }
    token = page->next_page_token();
  } while (!token.empty());
  return all;
}

// The server's long-poll wait when the request says 0, and its cap (proto: PollTaskRequest.wait_seconds).
constexpr std::chrono::seconds kServerDefaultPollWait{20};
constexpr std::chrono::seconds kServerMaxPollWait{60};

}  // namespace

std::string ErrorName(const absl::Status& status) {
  return std::string(NamePrefix(std::string_view(status.message().data(), status.message().size())));
}

struct Client::Impl {
  std::string token;  // "" = none
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::StateMachines::Stub> state_machines;
  std::unique_ptr<v1::Executions::Stub> executions;
  std::unique_ptr<v1::Tasks::Stub> tasks;
  std::unique_ptr<v1::DeadLetters::Stub> dead_letters;

  // Adds what every call carries (the bearer token).
  void Prepare(grpc::ClientContext& context) const {
    if (!token.empty()) {
      context.AddMetadata("authorization", "Bearer " + token);
    }
  }

  // One unary call with a deadline: `rpc(stub-bound context, request, response)`.
  template <typename Response, typename Request, typename Rpc>
  absl::StatusOr<Response> Call(const char* method, const Request& request, std::chrono::milliseconds timeout,
                                Rpc rpc) {
    return CallCancellable<Response>(method, request, timeout, std::stop_token(), rpc);
  }

  // The same, cancelled (CANCELLED) when `stop` is requested.
  template <typename Response, typename Request, typename Rpc>
  absl::StatusOr<Response> CallCancellable(const char* method, const Request& request,
                                           std::chrono::milliseconds timeout, std::stop_token stop, Rpc rpc,
                                           bool wait_for_ready = false) {
    grpc::ClientContext context;
    Prepare(context);
    context.set_deadline(DeadlineIn(timeout));
    context.set_wait_for_ready(wait_for_ready);
    std::stop_callback cancel(stop, [&context] { context.TryCancel(); });
    Response response;
    grpc::Status status = rpc(&context, request, &response);
    if (!status.ok()) {
      return FromGrpc(status, context, method);
    }
    return response;
  }
};

Client::Client(std::string address, ClientOptions options, std::unique_ptr<Impl> impl)
    : address_(std::move(address)), options_(options), impl_(std::move(impl)) {}

Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& address,
                                                        std::chrono::milliseconds timeout,
                                                        const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kInitialReconnectBackoffMs);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kInitialReconnectBackoffMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(options.max_reconnect_backoff.count()));
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = ChannelCredentials(options);
  if (!credentials.ok()) {
    return credentials.status();
  }
  auto impl = std::make_unique<Impl>();
  impl->token = options.token;
  impl->channel = grpc::CreateCustomChannel(address, *credentials, args);
  if (!impl->channel->WaitForConnected(DeadlineIn(timeout))) {
    return absl::UnavailableError(absl::StrCat("ServiceUnavailable: cannot connect to ", address, " within ",
                                               timeout.count(), " ms (is `stepflow server` running?)"));
  }
  impl->state_machines = v1::StateMachines::NewStub(impl->channel);
  impl->executions = v1::Executions::NewStub(impl->channel);
  impl->tasks = v1::Tasks::NewStub(impl->channel);
  impl->dead_letters = v1::DeadLetters::NewStub(impl->channel);
  return std::unique_ptr<Client>(new Client(address, options, std::move(impl)));
}

absl::StatusOr<v1::StateMachine> Client::CreateStateMachine(const std::string& name,
                                                            const std::string& definition,
                                                            v1::StateMachineType type) {
  v1::CreateStateMachineRequest request;
  request.set_name(name);
  request.set_definition(definition);
  request.set_type(type);
  return CreateStateMachine(request);
}

absl::StatusOr<v1::StateMachine> Client::CreateStateMachine(const v1::CreateStateMachineRequest& request) {
  return impl_->Call<v1::StateMachine>(
      "CreateStateMachine", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->Create(c, rq, rs); });
}

absl::StatusOr<v1::StateMachine> Client::UpdateStateMachine(const std::string& state_machine,
                                                            const std::string& definition) {
  v1::UpdateStateMachineRequest request;
  request.set_state_machine(state_machine);
  request.set_definition(definition);
  return UpdateStateMachine(request);
}

absl::StatusOr<v1::StateMachine> Client::UpdateStateMachine(const v1::UpdateStateMachineRequest& request) {
  return impl_->Call<v1::StateMachine>(
      "UpdateStateMachine", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->Update(c, rq, rs); });
}

absl::StatusOr<v1::StateMachineVersion> Client::PublishStateMachineVersion(const std::string& state_machine,
                                                                           const std::string& description,
                                                                           std::int64_t revision) {
  v1::PublishStateMachineVersionRequest request;
  request.set_state_machine(state_machine);
  request.set_description(description);
  request.set_revision(revision);
  return impl_->Call<v1::StateMachineVersion>(
      "PublishStateMachineVersion", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->PublishVersion(c, rq, rs); });
}

absl::StatusOr<v1::ListStateMachineVersionsResponse> Client::ListStateMachineVersions(
    const std::string& state_machine, int page_size, const std::string& page_token) {
  v1::ListStateMachineVersionsRequest request;
  request.set_state_machine(state_machine);
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  return impl_->Call<v1::ListStateMachineVersionsResponse>(
      "ListStateMachineVersions", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->ListVersions(c, rq, rs); });
}

absl::StatusOr<std::vector<v1::StateMachineVersion>> Client::ListAllStateMachineVersions(
    const std::string& state_machine) {
  return AllPages<v1::StateMachineVersion>(
      [&](const std::string& token) { return ListStateMachineVersions(state_machine, 0, token); },
      [](v1::ListStateMachineVersionsResponse& page) { return page.mutable_versions(); });
}

absl::StatusOr<v1::StateMachineVersion> Client::DescribeStateMachineVersion(const std::string& version_arn) {
  v1::DescribeStateMachineVersionRequest request;
  request.set_version_arn(version_arn);
  return impl_->Call<v1::StateMachineVersion>(
      "DescribeStateMachineVersion", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->DescribeVersion(c, rq, rs); });
}

absl::Status Client::DeleteStateMachineVersion(const std::string& version_arn) {
  v1::DeleteStateMachineVersionRequest request;
  request.set_version_arn(version_arn);
  return impl_
      ->Call<v1::DeleteStateMachineVersionResponse>(
          "DeleteStateMachineVersion", request, options_.call_timeout,
          [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->DeleteVersion(c, rq, rs); })
      .status();
}

absl::StatusOr<v1::StateMachineAlias> Client::CreateStateMachineAlias(
    const v1::CreateStateMachineAliasRequest& request) {
  return impl_->Call<v1::StateMachineAlias>(
      "CreateStateMachineAlias", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->CreateAlias(c, rq, rs); });
}

absl::StatusOr<v1::StateMachineAlias> Client::UpdateStateMachineAlias(
    const v1::UpdateStateMachineAliasRequest& request) {
  return impl_->Call<v1::StateMachineAlias>(
      "UpdateStateMachineAlias", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->UpdateAlias(c, rq, rs); });
}

absl::StatusOr<v1::StateMachineAlias> Client::DescribeStateMachineAlias(const std::string& alias_arn) {
  v1::DescribeStateMachineAliasRequest request;
  request.set_alias_arn(alias_arn);
  return impl_->Call<v1::StateMachineAlias>(
      "DescribeStateMachineAlias", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->DescribeAlias(c, rq, rs); });
}

absl::StatusOr<v1::ListStateMachineAliasesResponse> Client::ListStateMachineAliases(
    const std::string& state_machine, int page_size, const std::string& page_token) {
  v1::ListStateMachineAliasesRequest request;
  request.set_state_machine(state_machine);
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  return impl_->Call<v1::ListStateMachineAliasesResponse>(
      "ListStateMachineAliases", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->ListAliases(c, rq, rs); });
}

absl::StatusOr<std::vector<v1::StateMachineAlias>> Client::ListAllStateMachineAliases(
    const std::string& state_machine) {
  return AllPages<v1::StateMachineAlias>(
      [&](const std::string& token) { return ListStateMachineAliases(state_machine, 0, token); },
      [](v1::ListStateMachineAliasesResponse& page) { return page.mutable_aliases(); });
}

absl::Status Client::DeleteStateMachineAlias(const std::string& alias_arn) {
  v1::DeleteStateMachineAliasRequest request;
  request.set_alias_arn(alias_arn);
  return impl_
      ->Call<v1::DeleteStateMachineAliasResponse>(
          "DeleteStateMachineAlias", request, options_.call_timeout,
          [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->DeleteAlias(c, rq, rs); })
      .status();
}

absl::StatusOr<v1::StateMachine> Client::DescribeStateMachine(const std::string& state_machine) {
  v1::DescribeStateMachineRequest request;
  request.set_state_machine(state_machine);
  return impl_->Call<v1::StateMachine>(
      "DescribeStateMachine", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->Describe(c, rq, rs); });
}

absl::StatusOr<v1::ListStateMachinesResponse> Client::ListStateMachines(int page_size,
                                                                        const std::string& page_token) {
  v1::ListStateMachinesRequest request;
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  return impl_->Call<v1::ListStateMachinesResponse>(
      "ListStateMachines", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->List(c, rq, rs); });
}

absl::StatusOr<std::vector<v1::StateMachine>> Client::ListAllStateMachines() {
  return AllPages<v1::StateMachine>([&](const std::string& token) { return ListStateMachines(0, token); },
                                    [](v1::ListStateMachinesResponse& page) { return page.mutable_state_machines(); });
}

absl::Status Client::DeleteStateMachine(const std::string& state_machine) {
  v1::DeleteStateMachineRequest request;
  request.set_state_machine(state_machine);
  return impl_
      ->Call<v1::DeleteStateMachineResponse>(
          "DeleteStateMachine", request, options_.call_timeout,
          [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->Delete(c, rq, rs); })
      .status();
}

absl::StatusOr<v1::ValidateDefinitionResponse> Client::ValidateDefinition(const std::string& definition,
                                                                          v1::StateMachineType type) {
  v1::ValidateDefinitionRequest request;
  request.set_definition(definition);
  request.set_type(type);
  return impl_->Call<v1::ValidateDefinitionResponse>(
      "ValidateDefinition", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->Validate(c, rq, rs); });
}

// One StateMachines call that takes and returns messages as they are.
#define STEPFLOW_STATE_MACHINES_CALL(Response, method, rpc, request)                                            \
  impl_->Call<Response>(method, request, options_.call_timeout,                                                \
                        [&](auto* c, const auto& rq, auto* rs) { return impl_->state_machines->rpc(c, rq, rs); })

absl::StatusOr<v1::TestStateResponse> Client::TestState(const v1::TestStateRequest& request) {
  return STEPFLOW_STATE_MACHINES_CALL(v1::TestStateResponse, "TestState", TestState, request);
}

#undef STEPFLOW_STATE_MACHINES_CALL

absl::StatusOr<v1::Execution> Client::StartExecution(const std::string& state_machine,
                                                     const std::string& input, const std::string& name) {
  v1::StartExecutionRequest request;
  request.set_state_machine(state_machine);
  request.set_input(input);
  request.set_name(name);
  return impl_->Call<v1::Execution>(
      "StartExecution", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->executions->Start(c, rq, rs); });
}

absl::StatusOr<v1::Execution> Client::StartSyncExecution(const std::string& state_machine,
                                                         const std::string& input, const std::string& name,
                                                         std::chrono::milliseconds timeout) {
  v1::StartExecutionRequest request;
  request.set_state_machine(state_machine);
  request.set_input(input);
  request.set_name(name);
  return impl_->Call<v1::Execution>(
      "StartSyncExecution", request, timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->executions->StartSync(c, rq, rs); });
}

absl::StatusOr<v1::Execution> Client::DescribeExecution(const std::string& execution_arn) {
  v1::DescribeExecutionRequest request;
  request.set_execution_arn(execution_arn);
  return impl_->Call<v1::Execution>(
      "DescribeExecution", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->executions->Describe(c, rq, rs); });
}

absl::StatusOr<v1::Execution> Client::DescribeExecutionByName(const std::string& state_machine,
                                                              const std::string& name) {
  v1::DescribeExecutionRequest request;
  request.set_state_machine(state_machine);
  request.set_name(name);
  return impl_->Call<v1::Execution>(
      "DescribeExecution", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->executions->Describe(c, rq, rs); });
}

absl::StatusOr<v1::GetExecutionHistoryResponse> Client::GetExecutionHistoryPage(
    const v1::GetExecutionHistoryRequest& request) {
  return impl_->Call<v1::GetExecutionHistoryResponse>(
      "GetExecutionHistory", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->executions->GetHistory(c, rq, rs); });
}

absl::StatusOr<std::vector<v1::HistoryEvent>> Client::GetExecutionHistory(const std::string& execution_arn,
                                                                          bool reverse_order) {
  v1::GetExecutionHistoryRequest request;
  request.set_execution_arn(execution_arn);
  request.set_reverse_order(reverse_order);
  std::vector<v1::HistoryEvent> all;
  do {
    absl::StatusOr<v1::GetExecutionHistoryResponse> page = GetExecutionHistoryPage(request);
    if (!page.ok()) {
      return page.status();
    }
    for (v1::HistoryEvent& event : *page->mutable_events()) {
      all.push_back(std::move(event));
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return all;
}

absl::Status Client::WatchExecutionHistory(const std::string& execution_arn, std::int64_t after_event_id,
                                           const std::function<bool(const v1::HistoryEvent&)>& on_event) {
  v1::WatchExecutionHistoryRequest request;
  request.set_execution_arn(execution_arn);
  request.set_after_event_id(after_event_id);
  grpc::ClientContext context;
  impl_->Prepare(context);
  std::unique_ptr<grpc::ClientReader<v1::HistoryEvent>> reader =
      impl_->executions->WatchHistory(&context, request);
  v1::HistoryEvent event;
  bool stopped_by_caller = false;
  while (reader->Read(&event)) {
    if (!on_event(event)) {
      stopped_by_caller = true;
      context.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (stopped_by_caller) {
    return absl::OkStatus();
  }
  return FromGrpc(status, context, "WatchExecutionHistory");
}

absl::StatusOr<v1::ListExecutionsResponse> Client::ListExecutions(const v1::ListExecutionsRequest& request) {
  return impl_->Call<v1::ListExecutionsResponse>(
      "ListExecutions", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->executions->List(c, rq, rs); });
}

absl::StatusOr<std::vector<v1::Execution>> Client::ListAllExecutions(v1::ListExecutionsRequest request) {
  std::vector<v1::Execution> all;
  request.clear_page_token();
  do {
    absl::StatusOr<v1::ListExecutionsResponse> page = ListExecutions(request);
    if (!page.ok()) {
      return page.status();
    }
    for (v1::Execution& e : *page->mutable_executions()) {
      all.push_back(std::move(e));
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return all;
}

absl::StatusOr<v1::Execution> Client::StopExecution(const std::string& execution_arn,
                                                    const std::string& error, const std::string& cause) {
  v1::StopExecutionRequest request;
  request.set_execution_arn(execution_arn);
  request.set_error(error);
  request.set_cause(cause);
  return impl_->Call<v1::Execution>(
      "StopExecution", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->executions->Stop(c, rq, rs); });
}

absl::StatusOr<v1::StateMachine> Client::DescribeStateMachineForExecution(const std::string& execution_arn) {
  v1::DescribeStateMachineForExecutionRequest request;
  request.set_execution_arn(execution_arn);
  return impl_->Call<v1::StateMachine>("DescribeStateMachineForExecution", request, options_.call_timeout,
                                       [&](auto* c, const auto& rq, auto* rs) {
                                         return impl_->executions->DescribeStateMachineForExecution(c, rq,
                                                                                                    rs);
                                       });
}

absl::StatusOr<v1::Execution> Client::RedriveExecution(const std::string& execution_arn) {
  v1::RedriveExecutionRequest request;
  request.set_execution_arn(execution_arn);
  return impl_->Call<v1::Execution>(
      "RedriveExecution", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->executions->Redrive(c, rq, rs); });
}

absl::StatusOr<v1::PollTaskResponse> Client::PollTask(const std::string& queue, const std::string& identity,
                                                      std::chrono::seconds wait, std::stop_token stop) {
  v1::PollTaskRequest request;
  request.set_queue(queue);
  request.set_worker_identity(identity);
  request.set_wait_seconds(static_cast<std::int32_t>(wait.count()));
  std::chrono::seconds server_wait =
      wait.count() <= 0 ? kServerDefaultPollWait : std::min(wait, kServerMaxPollWait);
  return impl_->CallCancellable<v1::PollTaskResponse>(
      "PollTask", request, server_wait + options_.call_timeout, std::move(stop),
      [&](auto* c, const auto& rq, auto* rs) { return impl_->tasks->Poll(c, rq, rs); }, /*wait_for_ready=*/true);
}

absl::Status Client::CompleteTask(const std::string& task_token, const std::string& output) {
  v1::CompleteTaskRequest request;
  request.set_task_token(task_token);
  request.set_output(output);
  return impl_
      ->Call<v1::CompleteTaskResponse>(
          "CompleteTask", request, options_.call_timeout,
          [&](auto* c, const auto& rq, auto* rs) { return impl_->tasks->Complete(c, rq, rs); })
      .status();
}

absl::Status Client::FailTask(const std::string& task_token, const std::string& error,
                              const std::string& cause) {
  v1::FailTaskRequest request;
  request.set_task_token(task_token);
  request.set_error(error);
  request.set_cause(cause);
  return impl_
      ->Call<v1::FailTaskResponse>(
          "FailTask", request, options_.call_timeout,
          [&](auto* c, const auto& rq, auto* rs) { return impl_->tasks->Fail(c, rq, rs); })
      .status();
}

absl::StatusOr<bool> Client::HeartbeatTask(const std::string& task_token) {
  v1::HeartbeatTaskRequest request;
  request.set_task_token(task_token);
  absl::StatusOr<v1::HeartbeatTaskResponse> response = impl_->Call<v1::HeartbeatTaskResponse>(
      "HeartbeatTask", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->tasks->Heartbeat(c, rq, rs); });
  if (!response.ok()) {
    return response.status();
  }
  return response->cancelled();
}

absl::StatusOr<std::vector<v1::PollTaskResponse>> Client::PollTasks(const std::string& queue,
                                                                    const std::string& identity, int max_tasks,
                                                                    std::chrono::seconds wait, std::stop_token stop) {
  v1::PollTaskBatchRequest request;
  request.set_queue(queue);
  request.set_worker_identity(identity);
  request.set_wait_seconds(static_cast<std::int32_t>(wait.count()));
  request.set_max_tasks(max_tasks);
  std::chrono::seconds server_wait =
      wait.count() <= 0 ? kServerDefaultPollWait : std::min(wait, kServerMaxPollWait);
  absl::StatusOr<v1::PollTaskBatchResponse> response = impl_->CallCancellable<v1::PollTaskBatchResponse>(
      "PollTasks", request, server_wait + options_.call_timeout, std::move(stop),
      [&](auto* c, const auto& rq, auto* rs) { return impl_->tasks->PollBatch(c, rq, rs); },
      /*wait_for_ready=*/true);
  if (!response.ok()) {
    return response.status();
  }
  return std::vector<v1::PollTaskResponse>(std::make_move_iterator(response->mutable_tasks()->begin()),
                                           std::make_move_iterator(response->mutable_tasks()->end()));
}

absl::StatusOr<v1::ReportTaskBatchResponse> Client::ReportTasks(const v1::ReportTaskBatchRequest& request) {
  return impl_->Call<v1::ReportTaskBatchResponse>(
      "ReportTasks", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->tasks->ReportBatch(c, rq, rs); });
}

absl::StatusOr<v1::ListDeadLettersResponse> Client::ListDeadLetters(
    const v1::ListDeadLettersRequest& request) {
  return impl_->Call<v1::ListDeadLettersResponse>(
      "ListDeadLetters", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->dead_letters->List(c, rq, rs); });
}

absl::StatusOr<std::vector<v1::DeadLetter>> Client::ListAllDeadLetters(const v1::DeadLetterFilter& filter) {
  v1::ListDeadLettersRequest request;
  *request.mutable_filter() = filter;
  std::vector<v1::DeadLetter> all;
  do {
    absl::StatusOr<v1::ListDeadLettersResponse> page = ListDeadLetters(request);
    if (!page.ok()) {
      return page.status();
    }
    for (v1::DeadLetter& entry : *page->mutable_dead_letters()) {
      all.push_back(std::move(entry));
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return all;
}

absl::StatusOr<v1::DeadLetter> Client::GetDeadLetter(const std::string& id) {
  v1::GetDeadLetterRequest request;
  request.set_id(id);
  return impl_->Call<v1::DeadLetter>(
      "GetDeadLetter", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->dead_letters->Get(c, rq, rs); });
}

absl::StatusOr<v1::RedriveDeadLettersResponse> Client::RedriveDeadLetters(
    const v1::RedriveDeadLettersRequest& request) {
  return impl_->Call<v1::RedriveDeadLettersResponse>(
      "RedriveDeadLetters", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->dead_letters->Redrive(c, rq, rs); });
}

absl::StatusOr<v1::DiscardDeadLettersResponse> Client::DiscardDeadLetters(
    const v1::DiscardDeadLettersRequest& request) {
  return impl_->Call<v1::DiscardDeadLettersResponse>(
      "DiscardDeadLetters", request, options_.call_timeout,
      [&](auto* c, const auto& rq, auto* rs) { return impl_->dead_letters->Discard(c, rq, rs); });
}

}  // namespace stepflow::client
