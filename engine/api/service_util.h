#pragma once
// The gRPC side of the handlers (internal to engine/api): the caller of a gRPC call, the admission gate
// (CallGuard) and the reply helper. What is transport-neutral is in handler_env.h.

#include <grpcpp/server_context.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/api/auth.h"
#include "engine/api/error_mapping.h"
#include "engine/api/forwarding.h"
#include "engine/api/handler_env.h"
#include "engine/engine.h"

namespace stepflow::api {

// Who is calling: the bearer token of the "authorization" metadata and the client certificate's subject.
Caller CallerOf(const grpc::ServerContextBase& context);

// The gate of every gRPC handler: the CallGate (handler_env.h) of the call's caller. A refused call must
// return Refusal() at once, before it reads or changes anything, so that it leaves no trace but the audit line.
class CallGuard {
 public:
  CallGuard(ServiceEnv& env, grpc::ServerContextBase* context, Rpc rpc);
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;

  bool admitted() const { return gate_.admitted(); }
  // The refusal as a gRPC status (with its error name). REQUIRES: !admitted().
  grpc::Status Refusal() const { return ToGrpcStatus(gate_.admission().status, context_); }
  // PermissionDenied unless the caller may poll `queue` (worker tokens name their queues).
  absl::Status AdmitQueue(std::string_view queue) const { return gate_.AdmitQueue(queue); }

 private:
  grpc::ServerContextBase* context_;
  std::optional<Caller> caller_;
  CallGate gate_;
};

// The call's deadline in epoch milliseconds, or nullopt when the call has none.
std::optional<common::EpochMillis> CallDeadline(const grpc::ServerContextBase& context);

// Stores `result`'s value in `response` and answers OK, or answers with its error (ToGrpcStatus).
template <typename T>
grpc::Status Reply(grpc::ServerContextBase* context, absl::StatusOr<T> result, T* response) {
  if (!result.ok()) {
    return ToGrpcStatus(result.status(), context);
  }
  *response = std::move(result).value();
  return grpc::Status::OK;
}

// Where a gRPC call came from: its caller's bearer token and the hops of a forwarded call (forwarding.h).
ForwardContext ForwardContextOf(const grpc::ServerContextBase& context);

// The whole of a unary gRPC method over a handler of handlers.h: admit, call `handler(env, request)` (or the
// node that serves the call: CallOrForward), answer.
template <typename Request, typename Response, typename Handler>
grpc::Status AdaptUnary(ServiceEnv& env, grpc::ServerContextBase* context, Rpc rpc, const Request& request,
                        Response* response, Handler handler) {
  CallGuard guard(env, context, rpc);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  return Reply(context, CallOrForward<Request, Response>(env, rpc, request, handler, ForwardContextOf(*context)),
               response);
}

}  // namespace stepflow::api
