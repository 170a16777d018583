#include "engine/api/audit_interceptor.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "absl/strings/str_cat.h"
#include "engine/api/audit.h"
#include "engine/api/error_mapping.h"
#include "engine/api/service_util.h"

namespace stepflow::api {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Request fields that name what a call acts on, in the order looked for.
constexpr const char* kResourceFields[] = {"execution_arn", "state_machine", "name", "queue", "id"};
// A task token is a credential of sorts: the audit line carries a prefix of its SHA-256 only.
constexpr std::size_t kTokenDigestChars = 16;

// Errors gRPC makes itself carry no name: a request that does not parse (malformed protobuf, or a string
// field that is not valid UTF-8, which proto3 refuses) is answered INTERNAL with an empty message. It is an
// invalid request: InvalidArgument, SerializationException. Any other unnamed error gets InternalFailure.
grpc::Status NameLibraryErrors(grpc::experimental::InterceptorBatchMethods* methods) {
  grpc::Status status = methods->GetSendStatus();
  if (status.ok() || !ErrorNamePrefix(status.error_message()).empty()) {
    return status;
  }
  std::string name = "InternalFailure";
  grpc::StatusCode code = status.error_code();
  std::string message = status.error_message();
  if (code == grpc::StatusCode::INTERNAL && (message.empty() || message == "No payload")) {
    name = "SerializationException";
    code = grpc::StatusCode::INVALID_ARGUMENT;
    message = "the request is not a valid message (malformed protobuf, or a string field that is not UTF-8)";
  } else if (code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    name = "ThrottlingException";
  }
  grpc::Status named(code, absl::StrCat(name, ": ", TruncateForMessage(message, kMaxErrorMessageBytes)));
  if (auto* trailers = methods->GetSendTrailingMetadata(); trailers != nullptr) {
    trailers->emplace(kErrorNameMetadataKey, name);
  }
  methods->ModifySendStatus(named);
  return named;
}

class AuditInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuditInterceptor(grpc::experimental::ServerRpcInfo* info, const RpcPolicy* policy, const Authorizer* authorizer)
      : info_(info), policy_(policy), authorizer_(authorizer) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) && resource_.empty()) {
      if (const auto* request = static_cast<const google::protobuf::Message*>(methods->GetRecvMessage())) {
        resource_ = AuditResourceOf(*request);
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = NameLibraryErrors(methods);
      bool refused = status.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                     status.error_code() == grpc::StatusCode::UNAUTHENTICATED;
      if (policy_->mutating || refused) {
        AuditRecord record;
        record.who = CallerName(authorizer_, CallerOf(*info_->server_context()));
        record.rpc = policy_->method;
        record.resource = resource_;
        record.result = GrpcCodeName(status.error_code());
        if (!status.ok()) {
          record.error = std::string(ErrorNamePrefix(status.error_message()));
        }
        WriteAuditLine(record);
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  const RpcPolicy* policy_;
  const Authorizer* authorizer_;
  std::string resource_;
};

}  // namespace

std::string AuditResourceOf(const google::protobuf::Message& request) {
  const google::protobuf::Descriptor* d = request.GetDescriptor();
  const google::protobuf::Reflection* r = request.GetReflection();
  for (const char* name : kResourceFields) {
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(name);
    if (f != nullptr && f->type() == google::protobuf::FieldDescriptor::TYPE_STRING && !f->is_repeated()) {
      std::string value = r->GetString(request, f);
      if (!value.empty()) {
        return TruncateForMessage(value);
      }
    }
  }
  if (const google::protobuf::FieldDescriptor* f = d->FindFieldByName("task_token"); f != nullptr) {
    return "task:" + Sha256Hex(r->GetString(request, f)).substr(0, kTokenDigestChars);
  }
  if (const google::protobuf::FieldDescriptor* f = d->FindFieldByName("filter");
      f != nullptr && r->HasField(request, f)) {
    return "filter";
  }
  return "";
}

const char* GrpcCodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {
      "OK",        "CANCELLED",          "UNKNOWN",        "INVALID_ARGUMENT",  "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS",     "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",       "UNIMPLEMENTED",  "INTERNAL",          "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(std::size(kNames)) ? kNames[i] : "UNKNOWN";
}

grpc::experimental::Interceptor* AuditInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const RpcPolicy* policy = PolicyOfMethod(info->method() == nullptr ? "" : info->method());
  if (policy == nullptr) {
    return nullptr;  // health, reflection: not audited
  }
  return new AuditInterceptor(info, policy, authorizer_);
}

}  // namespace stepflow::api
