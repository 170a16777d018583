#pragma once
// Forwarding of calls between the nodes of a cluster (issue 14, part 3; internal to engine/api). In cluster
// mode the engine answers a call for an execution (or a state machine write) that another node serves with
// Unavailable carrying the owner's address (engine/cluster/owner_payload.h). The one place that acts on it is
// CallOrForward, which both transports' unary adapters (service_util.h AdaptUnary, rest_routes.cc Unary) go
// through: it sends the same request, as the gRPC method of the call, to the owner, with the caller's bearer
// token and a hop count, and answers with the owner's answer. A call is forwarded at most kMaxForwardHops
// times (ownership that moves while a call travels); past that, or for a call no method serves, the
// engine's Unavailable is the answer.
//
// Thread-safety: thread-safe.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/api/auth.h"
#include "engine/api/handler_env.h"
#include "engine/cluster/owner_payload.h"

namespace grpc {
class Channel;
class ChannelCredentials;
}  // namespace grpc

namespace stepflow::api {

inline constexpr int kMaxForwardHops = 2;
// Metadata of a forwarded call: how many nodes forwarded it so far.
inline constexpr char kForwardHopsMetadata[] = "x-stepflow-forward-hops";
// The longest a forwarded call may take.
inline constexpr std::chrono::seconds kForwardTimeout{30};

// Where a call came from, for forwarding it on.
struct ForwardContext {
  std::string bearer;  // the caller's bearer token ("" = none)
  // The caller's deadline, passed on (a node paused while it still looks like the owner must not hold the
  // call longer than its caller waits); none: kForwardTimeout.
  std::optional<std::chrono::system_clock::time_point> deadline;
  int hops = 0;               // forwards before this node
};

class Forwarder {
 public:
  // `credentials` of the channels to the other nodes (insecure, or TLS trusting the cluster's CA).
  explicit Forwarder(std::shared_ptr<grpc::ChannelCredentials> credentials);
  ~Forwarder();

  // Sends `request` as gRPC method `method` ("/stepflow.v1.Executions/Start") to `address`, with the caller's
  // `from.bearer` token and `hops`, by `from.deadline`; fills `response`. The owner's error as it answered it.
  // `gone` (may be empty) is asked every few milliseconds while the call is under way: when it says true the
  // call is cancelled (the other node sees its caller go away) and its answer is Cancelled.
  absl::Status Call(const std::string& address, const char* method, const google::protobuf::Message& request,
                    google::protobuf::Message* response, const ForwardContext& from, int hops,
                    const std::function<bool()>& gone = {});

 private:
  std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address);

  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;  // guarded by mu_; bounded by the nodes
};

// The forwarder of a server over `engine`: nullptr unless the engine runs in cluster mode. Channels to the
// other nodes use TLS when `tls_cert_pem` is set (trusting `tls_client_ca_pem`, else that certificate, and
// presenting the node's certificate and key), plaintext otherwise.
std::shared_ptr<Forwarder> MakeForwarder(engine::Engine* engine, const std::string& tls_cert_pem,
                                         const std::string& tls_key_pem, const std::string& tls_client_ca_pem);

class PeerPoller;
// The fan-out of idle polls over the other nodes (poll_pump.h): each node `engine` names (PeerAddresses) is
// asked through `forwarder` with Tasks.Poll, the caller's token, and hop count 1, which makes that node take
// only a task waiting there now. nullptr when `forwarder` is (not a cluster). Neither is owned by the result;
// both must outlive it.
std::unique_ptr<PeerPoller> MakePeerPoller(engine::Engine* engine, std::shared_ptr<Forwarder> forwarder);

// The gRPC method that serves `rpc` when forwarded; nullptr when it is never forwarded (reads served by every
// node from the shared store, streams, long waits).
const char* ForwardedMethod(Rpc rpc);


// `status` as it is, unless it says another node serves the call (the engine's owner payload) and the call
// may be forwarded: then that node's answer to `request`, written to `response`.
absl::Status ForwardIfElsewhere(ServiceEnv& env, Rpc rpc, const absl::Status& status,
                                const google::protobuf::Message& request, google::protobuf::Message* response,
                                const ForwardContext& from);

// The handler's answer, or, when the engine said another node serves the call, that node's answer.
template <typename Request, typename Response, typename Handler>
absl::StatusOr<Response> CallOrForward(ServiceEnv& env, Rpc rpc, const Request& request, Handler handler,
                                       const ForwardContext& from) {
  absl::StatusOr<Response> result = handler(env, request);
  if (result.ok() || env.forwarder == nullptr) {
    return result;
  }
  Response response;
  absl::Status forwarded = ForwardIfElsewhere(env, rpc, result.status(), request, &response, from);
  if (!forwarded.ok()) {
    return forwarded;
  }
  return response;
}

}  // namespace stepflow::api
