#include "engine/api/server.h"

#include "engine/api/forwarding.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/api/audit_interceptor.h"
#include "engine/api/executions_service.h"
#include "engine/api/poll_pump.h"
#include "engine/api/tasks_service.h"
#include "engine/api/state_machines_service.h"

namespace stepflow::api {
namespace {

constexpr std::chrono::milliseconds kShutdownPoll{5};

std::shared_ptr<grpc::ServerCredentials> Credentials(const ServerOptions& options) {
  if (options.tls_cert_pem.empty()) {
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions ssl(options.tls_client_ca_pem.empty()
                                            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = options.tls_client_ca_pem;
  ssl.pem_key_cert_pairs.push_back({options.tls_key_pem, options.tls_cert_pem});
  return grpc::SslServerCredentials(ssl);
}

// gRPC's reflection library registers its plugin with every ServerBuilder as soon as it is linked; this
// option takes it out again when reflection is off.
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
                                    return p->name() == "proto_server_reflection";
                                  }),
                   plugins->end());
  }
};

// Bounds on connections, threads and idle or half-open connections (issue 9, section 4).
void SetTransportBounds(const ServerOptions& options, grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options.keepalive_time.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options.keepalive_timeout.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, static_cast<int>(options.max_connection_idle.count()));
  grpc::ResourceQuota quota("stepflow-server");
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  // The synchronous methods' threads: a thread that has served a call goes back to polling only while fewer
  // than MAX_POLLERS threads poll, and otherwise exits; with gRPC's default of 2, calls that block (StartSync
  // waits for its execution's end) made the server create and destroy a thread per few calls. Idle pollers
  // cost a stack each and wake once per CQ timeout.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, options.max_idle_pollers);
}

}  // namespace

struct Server::Impl {
  ServiceEnv env;
  std::unique_ptr<PollPump> poll_pump;
  StateMachinesService state_machines{&env};
  ExecutionsService executions{&env};
  TasksService tasks{&env};
  DeadLettersService dead_letters{&env};
  std::unique_ptr<grpc::Server> server;
};

Server::Server(ServerOptions options) : options_(options) {}

Server::~Server() { Shutdown(); }

absl::StatusOr<int> Server::Start(engine::Engine* engine, const std::string& address) {
  if (impl_ != nullptr) {
    return absl::FailedPreconditionError("the server is already started");
  }
  auto impl = std::make_unique<Impl>();
  impl->env.engine = engine;
  impl->env.authorizer = options_.authorizer;
  impl->env.SetLongWaits(options_.long_waits, options_.max_long_waits);
  impl->env.forwarder =
      MakeForwarder(engine, options_.tls_cert_pem, options_.tls_key_pem, options_.tls_client_ca_pem);
  // In a cluster, idle polls also ask the other nodes for their tasks (poll_pump.h).
  impl->poll_pump =
      std::make_unique<PollPump>(engine, options_.poll_executors, MakePeerPoller(engine, impl->env.forwarder));
  impl->env.poll_pump = impl->poll_pump.get();
  grpc::EnableDefaultHealthCheckService(true);
  if (options_.reflection) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  }
  grpc::ServerBuilder builder;
  if (!options_.reflection) {
    builder.SetOption(std::make_unique<WithoutReflection>());
  }
  int port = 0;
  builder.AddListeningPort(address, Credentials(options_), &port);
  SetTransportBounds(options_, builder);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<AuditInterceptorFactory>(options_.authorizer));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  // gRPC sets SO_REUSEPORT by default: a second server on the same port would then share it silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_message_bytes);
  builder.RegisterService(&impl->state_machines);
  builder.RegisterService(&impl->executions);
  builder.RegisterService(&impl->tasks);
  builder.RegisterService(&impl->dead_letters);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || port == 0) {
    if (impl->server != nullptr) {
      impl->server->Shutdown();
    }
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, " (address in use or invalid)"));
  }
  grpc::HealthCheckServiceInterface* health = impl->server->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(true);
  }
  impl_ = std::move(impl);
  return port;
}

void Server::Shutdown() {
  if (impl_ == nullptr) {
    return;
  }
  impl_->env.stopping.store(true);
  impl_->poll_pump->Stop();  // parked polls answer Unavailable now
  grpc::HealthCheckServiceInterface* health = impl_->server->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(false);
  }
  // Let the running handlers finish (new ones answer Unavailable at once), then stop gRPC with an immediate
  // deadline: grpc::Server::Shutdown(deadline) would otherwise wait the whole deadline for idle client
  // connections to go away.
  auto grace_end = std::chrono::steady_clock::now() + options_.shutdown_grace;
  while (impl_->env.active_calls.load() > 0 && std::chrono::steady_clock::now() < grace_end) {
    std::this_thread::sleep_for(kShutdownPoll);
  }
  impl_->server->Shutdown(std::chrono::system_clock::now());
  impl_->server->Wait();
  impl_.reset();
}

}  // namespace stepflow::api
