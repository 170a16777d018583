#pragma once
// The gRPC server interceptor that writes the audit log (audit.h) for every stepflow.v1 call: it sees the
// request (for the resource it names) and the final status, whoever answered it (a handler, or its
// CallGuard refusing the caller). Internal to engine/api; Server installs it.

#include <grpcpp/support/server_interceptor.h>

#include <google/protobuf/message.h>

#include <string>

#include "engine/api/auth.h"

namespace stepflow::api {

// What a request names for the audit line: an ARN, a name, a queue, an id, a task token's digest, "filter", or "".
// Shared with the REST API, so that both transports write the same line.
std::string AuditResourceOf(const google::protobuf::Message& request);
// "OK", "PERMISSION_DENIED", ...: the audit line's result.
const char* GrpcCodeName(grpc::StatusCode code);

class AuditInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `authorizer` names the callers (not owned; may be nullptr: no tokens).
  explicit AuditInterceptorFactory(const Authorizer* authorizer) : authorizer_(authorizer) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  const Authorizer* authorizer_;
};

}  // namespace stepflow::api
