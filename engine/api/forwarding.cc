#include "engine/api/forwarding.h"

#include <grpcpp/channel.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <condition_variable>

#include "absl/strings/str_cat.h"

namespace stepflow::api {

Forwarder::Forwarder(std::shared_ptr<grpc::ChannelCredentials> credentials) : credentials_(std::move(credentials)) {}

Forwarder::~Forwarder() = default;

std::shared_ptr<grpc::Channel> Forwarder::ChannelTo(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<grpc::Channel>& channel = channels_[address];
  if (channel == nullptr) {
    channel = grpc::CreateChannel(address, credentials_);
  }
  return channel;
}

absl::Status Forwarder::Call(const std::string& address, const char* method, const google::protobuf::Message& request,
                             google::protobuf::Message* response, const ForwardContext& from, int hops) {
  std::string bytes;
  if (!request.SerializeToString(&bytes)) {
    return absl::InternalError("ServiceUnavailable: cannot serialize a request to forward");
  }
  grpc::Slice slice(bytes);
  grpc::ByteBuffer sent(&slice, 1);
  grpc::ByteBuffer received;
  grpc::ClientContext context;
  const auto longest = std::chrono::system_clock::now() + kForwardTimeout;
  context.set_deadline(from.deadline.has_value() ? std::min(*from.deadline, longest) : longest);
  context.AddMetadata(kForwardHopsMetadata, std::to_string(hops));
  if (!from.bearer.empty()) {
    context.AddMetadata("authorization", "Bearer " + from.bearer);
  }
  grpc::GenericStub stub(ChannelTo(address));
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &sent, &received, [&](grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    status = std::move(s);
    done = true;
    cv.notify_one();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  if (!status.ok()) {
    // The owner's answer, error name first as every answer of the API (error_mapping.h).
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  std::vector<grpc::Slice> slices;
  std::string out;
  if (received.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  if (!response->ParseFromString(out)) {
    return absl::UnavailableError(
        absl::StrCat("ServiceUnavailable: the answer forwarded from ", address, " could not be read"));
  }
  return absl::OkStatus();
}

absl::Status ForwardIfElsewhere(ServiceEnv& env, Rpc rpc, const absl::Status& status,
                                const google::protobuf::Message& request, google::protobuf::Message* response,
                                const ForwardContext& from) {
  if (status.ok() || env.forwarder == nullptr) {
    return status;
  }
  auto owner = status.GetPayload(engine::cluster::kOwnerAddressPayload);
  const char* method = ForwardedMethod(rpc);
  if (!owner.has_value() || method == nullptr) {
    return status;
  }
  if (from.hops >= kMaxForwardHops) {
    return absl::UnavailableError(absl::StrCat(status.message(), " (not forwarded: the call was forwarded ",
                                               from.hops, " times already; try again)"));
  }
  return env.forwarder->Call(std::string(*owner), method, request, response, from, from.hops + 1);
}

std::shared_ptr<Forwarder> MakeForwarder(engine::Engine* engine, const std::string& tls_cert_pem,
                                         const std::string& tls_key_pem, const std::string& tls_client_ca_pem) {
  if (engine == nullptr || !engine->Metrics().clustered) {
    return nullptr;
  }
  if (tls_cert_pem.empty()) {
    return std::make_shared<Forwarder>(grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls_client_ca_pem.empty() ? tls_cert_pem : tls_client_ca_pem;
  ssl.pem_cert_chain = tls_cert_pem;
  ssl.pem_private_key = tls_key_pem;
  return std::make_shared<Forwarder>(grpc::SslCredentials(ssl));
}

const char* ForwardedMethod(Rpc rpc) {
  switch (rpc) {
    case Rpc::kCreateStateMachine: return "/stepflow.v1.StateMachines/Create";
    case Rpc::kUpdateStateMachine: return "/stepflow.v1.StateMachines/Update";
    case Rpc::kDeleteStateMachine: return "/stepflow.v1.StateMachines/Delete";
    case Rpc::kPublishStateMachineVersion: return "/stepflow.v1.StateMachines/PublishVersion";
    case Rpc::kDeleteStateMachineVersion: return "/stepflow.v1.StateMachines/DeleteVersion";
    case Rpc::kCreateStateMachineAlias: return "/stepflow.v1.StateMachines/CreateAlias";
    case Rpc::kUpdateStateMachineAlias: return "/stepflow.v1.StateMachines/UpdateAlias";
    case Rpc::kDeleteStateMachineAlias: return "/stepflow.v1.StateMachines/DeleteAlias";
    case Rpc::kStartExecution: return "/stepflow.v1.Executions/Start";
    case Rpc::kStartSyncExecution: return "/stepflow.v1.Executions/StartSync";
    case Rpc::kStopExecution: return "/stepflow.v1.Executions/Stop";
    case Rpc::kRedriveExecution: return "/stepflow.v1.Executions/Redrive";
    case Rpc::kCompleteTask: return "/stepflow.v1.Tasks/Complete";
    case Rpc::kFailTask: return "/stepflow.v1.Tasks/Fail";
    case Rpc::kHeartbeatTask: return "/stepflow.v1.Tasks/Heartbeat";
    case Rpc::kRedriveDeadLetters: return "/stepflow.v1.DeadLetters/Redrive";
    case Rpc::kDiscardDeadLetters: return "/stepflow.v1.DeadLetters/Discard";
    default: return nullptr;
  }
}

}  // namespace stepflow::api
