#pragma once
// The gRPC server of `stepflow server`: the StateMachines and Executions services over an engine::Engine,
// plus the standard gRPC health service (grpc.health.v1.Health: SERVING while up, NOT_SERVING once
// shutdown begins) and server reflection (grpc.reflection.v1alpha). No gRPC type appears here (pimpl).
//
// Thread-safety: Start and Shutdown are called from one thread; the services run on gRPC's threads.

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
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
