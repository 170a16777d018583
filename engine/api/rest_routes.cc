// The REST API's routes (rest_api.h): each one a thin adapter over a handler of handlers.h.
#include <chrono>
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/api/forwarding.h"
#include "engine/api/handlers.h"
#include "engine/api/openapi_document.h"
#include "engine/api/rest_api.h"
#include "engine/api/rest_call.h"
#include "engine/api/rest_json.h"

namespace stepflow::api::rest {
namespace {

// How often a quiet Server-Sent Events stream gets a comment line.
constexpr std::chrono::seconds kSseHeartbeat{15};

template <typename Request, typename Response>
using Handler = absl::StatusOr<Response> (*)(ServiceEnv&, const Request&);

// What every route does first: the request message, the cross-site check for mutating calls, the gate.
// Returns the refusal to answer, or nullopt when the call may go on.
// The request fields that a route's "{...}" path segments fill, in order (empty: none).
using PathFields = std::vector<const char*>;

PathFields FieldsOf(const char* path_field) { return path_field == nullptr ? PathFields{} : PathFields{path_field}; }

template <typename Request>
std::optional<HttpResponse> Admit(ServiceEnv& env, const HttpRequest& http, Rpc rpc, const PathFields& path_fields,
                                  const PathParams& params, Request& request, const Caller& caller,
                                  const CallGate& gate) {
  // A cross-site request is refused before its body is even parsed.
  absl::Status status = PolicyOf(rpc).mutating ? CheckNotCrossSite(http) : absl::OkStatus();
  if (status.ok()) {
    status = BuildRequest(http, path_fields.empty() ? nullptr : path_fields.front(),
                          params.empty() ? "" : params.front(), &request);
  }
  // The further path segments: string fields of the request, set over whatever the query or body said.
  for (std::size_t i = 1; status.ok() && i < path_fields.size() && i < params.size(); ++i) {
    const google::protobuf::FieldDescriptor* f = request.GetDescriptor()->FindFieldByName(path_fields[i]);
    request.GetReflection()->SetString(&request, f, params[i]);
  }
  if (status.ok() && !gate.admitted()) {
    status = gate.admission().status;
    Audit(env, caller, rpc, request, status);
  }
  if (!status.ok()) {
    return ErrorAnswer(status);
  }
  return std::nullopt;
}

// A route answered by one unary handler.
template <typename Request, typename Response>
Route Unary(const char* method, const char* pattern, Rpc rpc, PathFields path_fields,
            Handler<Request, Response> handler) {
  return Route{method, pattern, [rpc, path_fields, handler](ServiceEnv& env, const HttpRequest& http,
                                                            const PathParams& params) {
                 Request request;
                 Caller caller = CallerOf(http);
                 CallGate gate(env, &caller, rpc);
                 if (std::optional<HttpResponse> refused =
                         Admit(env, http, rpc, path_fields, params, request, caller, gate)) {
                   return *refused;
                 }
                 absl::StatusOr<Response> response =
                     CallOrForward<Request, Response>(env, rpc, request, handler, ForwardContext{caller.bearer.value_or(""), std::nullopt, 0});
                 Audit(env, caller, rpc, request, response.status());
                 return response.ok() ? JsonAnswer(*response) : ErrorAnswer(response.status());
               }};
}

template <typename Request, typename Response>
Route Unary(const char* method, const char* pattern, Rpc rpc, const char* path_field,
            Handler<Request, Response> handler) {
  return Unary(method, pattern, rpc, FieldsOf(path_field), handler);
}

// "timeoutSeconds" of start-sync, removed from the query (it is no field of the request message).
absl::StatusOr<int> TakeTimeout(HttpRequest& http) {
  int seconds = kDefaultStartSyncSeconds;
  std::string rest;
  constexpr std::string_view kTimeout = "timeoutSeconds=";
  for (std::string_view pair : Split(http.query, '&', true)) {
    if (pair.substr(0, kTimeout.size()) == kTimeout) {
      if (!absl::SimpleAtoi(std::string(pair.substr(kTimeout.size())), &seconds) || seconds < 1 || seconds > kMaxStartSyncSeconds) {
        return absl::InvalidArgumentError(absl::StrCat("ValidationException: timeoutSeconds must be between 1 and ",
                                                       kMaxStartSyncSeconds));
      }
    } else {
      absl::StrAppend(&rest, rest.empty() ? "" : "&", std::string(pair));
    }
  }
  http.query = rest;
  return seconds;
}

HttpResponse ServeStartSync(ServiceEnv& env, const HttpRequest& original, const PathParams& params) {
  HttpRequest http = original;
  absl::StatusOr<int> timeout = TakeTimeout(http);
  if (!timeout.ok()) {
    return ErrorAnswer(timeout.status());
  }
  auto request = std::make_shared<v1::StartExecutionRequest>();
  Caller caller = CallerOf(http);
  auto gate = std::make_shared<CallGate>(env, &caller, Rpc::kStartSyncExecution);
  if (std::optional<HttpResponse> refused =
          Admit(env, http, Rpc::kStartSyncExecution, PathFields{}, params, *request, caller, *gate)) {
    return *refused;
  }
  HttpResponse answer;
  // The wait runs on a long-call thread of the listener (bounded), never on its event loop.
  answer.deferred = [&env, request, gate, caller, seconds = *timeout](const std::function<bool()>& cancelled) {
    LongCall call;
    call.cancelled = cancelled;
    call.deadline = NowMillis() + seconds * 1000LL;
    absl::StatusOr<v1::Execution> done = StartExecutionSync(env, *request, call);
    Audit(env, caller, Rpc::kStartSyncExecution, *request, done.status());
    return done.ok() ? JsonAnswer(*done) : ErrorAnswer(done.status());
  };
  return answer;
}

// Server-Sent Events: one event per history event ("id: <event id>", "data: <HistoryEvent JSON>"), then
// "event: end" when the execution ended, or "event: error" with the error body. Resumes after the
// Last-Event-ID header (or the afterEventId query parameter).
HttpResponse ServeFollow(ServiceEnv& env, const HttpRequest& http, const PathParams& params) {
  auto request = std::make_shared<v1::WatchExecutionHistoryRequest>();
  Caller caller = CallerOf(http);
  auto gate = std::make_shared<CallGate>(env, &caller, Rpc::kWatchExecutionHistory);
  if (std::optional<HttpResponse> refused =
          Admit(env, http, Rpc::kWatchExecutionHistory, FieldsOf("execution_arn"), params, *request, caller, *gate)) {
    return *refused;
  }
  if (auto last = http.headers.find("last-event-id"); last != http.headers.end()) {
    std::int64_t after = 0;
    if (!absl::SimpleAtoi(last->second, &after) || after < 0) {
      return ErrorAnswer(absl::InvalidArgumentError(
          "ValidationException: Last-Event-ID must be the id of a history event (a number)"));
    }
    request->set_after_event_id(after);
  }
  // An unknown execution is a 404 answer, not an error event.
  v1::DescribeExecutionRequest describe;
  describe.set_execution_arn(request->execution_arn());
  if (absl::StatusOr<v1::Execution> e = DescribeExecution(env, describe); !e.ok()) {
    return ErrorAnswer(e.status());
  }
  HttpResponse answer;
  answer.content_type = "text/event-stream";
  answer.stream = [&env, request, gate](HttpStreamWriter& writer) {
    // A comment line every kSseHeartbeat while nothing happens: a client that vanished without closing is
    // noticed by the failed write, and proxies keep the stream open.
    auto last_write = std::chrono::steady_clock::now();
    LongCall call;
    call.cancelled = [&writer, &last_write] {
      if (writer.Cancelled()) {
        return true;
      }
      if (std::chrono::steady_clock::now() - last_write >= kSseHeartbeat) {
        last_write = std::chrono::steady_clock::now();
        return !writer.Write(":\n\n");
      }
      return false;
    };
    absl::Status status = FollowHistory(env, *request, call, [&writer, &last_write](const v1::HistoryEvent& event) {
      last_write = std::chrono::steady_clock::now();
      return writer.Write(absl::StrCat("id: ", event.id(), "\ndata: ", MessageToJson(event), "\n\n"));
    });
    if (status.ok()) {
      writer.Write("event: end\ndata: {}\n\n");
    } else if (!absl::IsCancelled(status)) {
      writer.Write(absl::StrCat("event: error\ndata: ", ErrorToJson(status), "\n\n"));
    }
  };
  return answer;
}

HttpResponse ServeOpenApi(ServiceEnv&, const HttpRequest&, const PathParams&) {
  HttpResponse answer;
  answer.content_type = "application/json";
  answer.body = std::string(kOpenApiDocument);
  return answer;
}

}  // namespace

const std::vector<Route>& AllRoutes() {
  static const std::vector<Route> routes = {
      Unary("POST", "/state-machines", Rpc::kCreateStateMachine, nullptr, CreateStateMachine),
      Unary("GET", "/state-machines", Rpc::kListStateMachines, nullptr, ListStateMachines),
      Unary("POST", "/state-machines:validate", Rpc::kValidateDefinition, nullptr, ValidateDefinition),
      Unary("GET", "/state-machines/{arn}", Rpc::kDescribeStateMachine, "state_machine", DescribeStateMachine),
      Unary("PUT", "/state-machines/{arn}", Rpc::kUpdateStateMachine, "state_machine", UpdateStateMachine),
      Unary("DELETE", "/state-machines/{arn}", Rpc::kDeleteStateMachine, "state_machine", DeleteStateMachine),
      // Versions and aliases (issue 12).
      Unary("POST", "/state-machines/{arn}/versions", Rpc::kPublishStateMachineVersion, "state_machine",
            PublishStateMachineVersion),
      Unary("GET", "/state-machines/{arn}/versions", Rpc::kListStateMachineVersions, "state_machine",
            ListStateMachineVersions),
      Unary("GET", "/versions/{arn}", Rpc::kDescribeStateMachineVersion, "version_arn", DescribeStateMachineVersion),
      Unary("DELETE", "/versions/{arn}", Rpc::kDeleteStateMachineVersion, "version_arn", DeleteStateMachineVersion),
      Unary("POST", "/aliases", Rpc::kCreateStateMachineAlias, nullptr, CreateStateMachineAlias),
      Unary("GET", "/state-machines/{arn}/aliases", Rpc::kListStateMachineAliases, "state_machine",
            ListStateMachineAliases),
      Unary("GET", "/aliases/{arn}", Rpc::kDescribeStateMachineAlias, "alias_arn", DescribeStateMachineAlias),
      Unary("PUT", "/aliases/{arn}", Rpc::kUpdateStateMachineAlias, "alias_arn", UpdateStateMachineAlias),
      Unary("DELETE", "/aliases/{arn}", Rpc::kDeleteStateMachineAlias, "alias_arn", DeleteStateMachineAlias),
      Unary("POST", "/state-machines:test-state", Rpc::kTestState, nullptr, TestState),
      Unary("POST", "/executions", Rpc::kStartExecution, nullptr, StartExecution),
      Route{"POST", "/executions:start-sync", ServeStartSync},
      Unary("GET", "/executions", Rpc::kListExecutions, nullptr, ListExecutions),
      Unary("GET", "/executions:counts", Rpc::kListExecutions, nullptr, CountExecutions),
      // Bulk actions over a filter, page by page (the same roles and audit as one stop or redrive).
      Unary("POST", "/executions:stop-matching", Rpc::kStopExecution, nullptr, StopMatchingExecutions),
      Unary("POST", "/executions:redrive-matching", Rpc::kRedriveExecution, nullptr, RedriveMatchingExecutions),
      Unary("GET", "/executions/{arn}", Rpc::kDescribeExecution, "execution_arn", DescribeExecution),
      Unary("GET", "/state-machines/{arn}/executions/{name}", Rpc::kDescribeExecution,
            PathFields{"state_machine", "name"}, DescribeExecution),
      Unary("GET", "/executions/{arn}/history", Rpc::kGetExecutionHistory, "execution_arn", GetExecutionHistory),
      Route{"GET", "/executions/{arn}/history:follow", ServeFollow},
      Unary("POST", "/executions/{arn}:stop", Rpc::kStopExecution, "execution_arn", StopExecution),
      Unary("POST", "/executions/{arn}:redrive", Rpc::kRedriveExecution, "execution_arn", RedriveExecution),
      Unary("GET", "/executions/{arn}/state-machine", Rpc::kDescribeStateMachineForExecution, "execution_arn",
            DescribeStateMachineForExecution),
      Unary("GET", "/executions/{arn}/summary", Rpc::kGetExecutionHistory, "execution_arn", SummarizeExecution),
      Unary("GET", "/executions/{arn}/data-flow", Rpc::kGetExecutionHistory, "execution_arn", GetStateDataFlow),
      Unary("GET", "/dead-letters", Rpc::kListDeadLetters, nullptr, ListDeadLetters),
      Unary("GET", "/dead-letters/{id}", Rpc::kGetDeadLetter, "id", GetDeadLetter),
      Unary("POST", "/dead-letters:redrive", Rpc::kRedriveDeadLetters, nullptr, RedriveDeadLetters),
      Unary("POST", "/dead-letters:discard", Rpc::kDiscardDeadLetters, nullptr, DiscardDeadLetters),
      Route{"GET", "/openapi.json", ServeOpenApi},
  };
  return routes;
}

}  // namespace stepflow::api::rest
