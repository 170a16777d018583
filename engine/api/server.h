#pragma once
// The gRPC server of `stepflow server`: the StateMachines and Executions services over an engine::Engine,
// plus the standard gRPC health service (grpc.health.v1.Health: SERVING while up, NOT_SERVING once
// shutdown begins) and, when options.reflection, server reflection (grpc.reflection.v1alpha). No gRPC type
// appears here (pimpl).
//
// Security (README "Security"): TLS when options.tls_cert_pem is set (mutual when tls_client_ca_pem is);
// options.authorizer decides every stepflow.v1 call (auth.h; in CallGuard); every mutating call and every
// refused call writes one audit line (audit.h), from a server interceptor that sees the final status.
//
// Thread-safety: Start and Shutdown are called from one thread; the services run on gRPC's threads.

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/api/auth.h"
#include "engine/api/long_waits.h"
#include "engine/engine.h"

namespace stepflow::api {

struct ServerOptions {
  // How long Shutdown lets in-flight calls finish before cancelling them. Long calls (StartSync,
  // WatchHistory) notice shutdown within kWaitSlice and answer Unavailable, so this is rarely reached.
  // Default: 5 s.
  std::chrono::milliseconds shutdown_grace{5000};
  // Largest request or response message. Default: 8 MiB (a 1 MiB definition, a 256 KiB payload, a page of
  // 1,000 history events with their details).
  int max_message_bytes = 8 << 20;
  // TLS: the server's certificate chain and private key (PEM text); empty = plaintext. With a client CA
  // (PEM), clients must present a certificate it signed (mTLS). Default: plaintext.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::string tls_client_ca_pem;
  // Decides who may call what (not owned; must outlive the server). Default: nullptr = every call allowed.
  const Authorizer* authorizer = nullptr;
  // Serve grpc.reflection.v1alpha (lets any caller list the API). Default: off.
  bool reflection = false;
  // Concurrent calls on one connection (HTTP/2 streams); more wait for the client to free one. Default: 1000.
  int max_concurrent_streams = 1000;
  // Threads serving calls at once; a call beyond it is refused with RESOURCE_EXHAUSTED. Default: 2000.
  int max_threads = 2000;
  // Threads kept polling for synchronous calls per completion queue (one queue per core).
  int max_idle_pollers = 64;
  // Calls that wait for an execution (StartSync, WatchHistory) at once; more are refused with
  // RESOURCE_EXHAUSTED (ThrottlingException). Default: 256.
  int max_long_waits = kDefaultMaxLongWaits;
  // The budget of such calls shared with the REST API (long_waits.h; not owned, must outlive the server);
  // nullptr = one of max_long_waits places for this server alone. Default: nullptr.
  LongWaitBudget* long_waits = nullptr;
  // Threads that wait on the task matcher for parked long polls (poll_pump.h), whatever their number.
  // Default: 32.
  int poll_executors = 32;
  // Keepalive: the server pings a connection silent for this long and closes it when the ping is not
  // answered within keepalive_timeout (half-open connections). Default: 60 s / 20 s.
  std::chrono::milliseconds keepalive_time{60000};
  std::chrono::milliseconds keepalive_timeout{20000};
  // A connection with no call in flight for this long is closed (the client reconnects when it needs to).
  // Default: 10 min.
  std::chrono::milliseconds max_connection_idle{600000};
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();  // Shutdown()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves `engine` (not owned; must outlive the server) on `address` ("127.0.0.1:7233"; port 0 picks a free
  // port). Returns the bound port. Unavailable when the address cannot be bound; FailedPrecondition when
  // already started.
  absl::StatusOr<int> Start(engine::Engine* engine, const std::string& address);

  // Answers Unavailable to new calls (reads excepted) and NOT_SERVING to health checks, lets the running
  // calls finish (at most options.shutdown_grace; then they are cancelled), then stops listening. Idempotent.
  // Does not shut the engine down.
  void Shutdown();

 private:
  struct Impl;
  ServerOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepflow::api
