#include "engine/api/forwarding.h"

#include <grpcpp/channel.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <condition_variable>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/poll_pump.h"
#include "stepflow/v1/stepflow.pb.h"

namespace stepflow::api {
namespace {

// How often a forwarded call under way asks whether its caller went away.
constexpr std::chrono::milliseconds kGoneCheckInterval{20};

// Tasks.Poll on the other nodes, for the pump's fan-out (poll_pump.h).
class ForwardingPeerPoller final : public PeerPoller {
 public:
  ForwardingPeerPoller(engine::Engine* engine, std::shared_ptr<Forwarder> forwarder)
      : engine_(engine), forwarder_(std::move(forwarder)) {}

  std::vector<std::string> Peers() override { return engine_->PeerAddresses(); }

  ParkedPoll::Result Poll(const std::string& address, const ParkedPoll& poll, common::EpochMillis call_deadline,
                          const std::function<bool()>& gone) override {
    v1::PollTaskRequest request;
    request.set_queue(poll.queue);
    request.set_worker_identity(poll.identity);
    ForwardContext from = poll.from;
    from.deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(call_deadline));
    v1::PollTaskResponse response;
    // Hop count 1: the other node takes only a task waiting now and never fans the poll out again.
    RETURN_IF_ERROR(forwarder_->Call(address, "/stepflow.v1.Tasks/Poll", request, &response, from,
                                     std::max(1, from.hops + 1), gone));
    if (response.task_token().empty()) {
      return std::optional<engine::PolledTask>();
    }
    engine::PolledTask task;
    task.token = response.task_token();
    task.queue = response.queue();
    task.input = response.input();
    const v1::TaskContext& c = response.context();
    task.execution_arn = c.execution_arn();
    task.state_machine_arn = c.state_machine_arn();
    task.state_name = c.state_name();
    task.attempt = c.attempt();
    task.scheduled = ToEpochMillis(c.scheduled());
    task.deadline = c.has_deadline() ? ToEpochMillis(c.deadline()) : 0;
    task.heartbeat_seconds = c.heartbeat_seconds();
    return std::optional<engine::PolledTask>(std::move(task));
  }

 private:
  engine::Engine* engine_;
  std::shared_ptr<Forwarder> forwarder_;
};

}  // namespace

std::unique_ptr<PeerPoller> MakePeerPoller(engine::Engine* engine, std::shared_ptr<Forwarder> forwarder) {
  if (engine == nullptr || forwarder == nullptr) {
    return nullptr;
  }
  return std::make_unique<ForwardingPeerPoller>(engine, std::move(forwarder));
}

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
                             google::protobuf::Message* response, const ForwardContext& from, int hops,
                             const std::function<bool()>& gone) {
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
    bool cancelled = false;
    while (!cv.wait_for(lock, kGoneCheckInterval, [&] { return done; })) {
      if (!cancelled && gone && gone()) {
        cancelled = true;
        context.TryCancel();  // the callback still runs, with Cancelled
      }
    }
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
