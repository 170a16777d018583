#pragma once
// The HTTP listener of `stepflow server` (default 127.0.0.1:7234, see server_config.h): GET /healthz and GET /metrics (Prometheus
// text exposition). No HTTP library type appears here (pimpl).
//
//   GET /healthz   200 "ok" while serving; 503 "shutting down" once BeginShutdown was called
//   GET /metrics   stepflow_up, stepflow_start_time_seconds (listener start, Unix seconds) and the engine's
//                  counters and queue depths (engine::EngineMetrics)
//
// Thread-safety: Start, BeginShutdown and Shutdown are called from one thread; requests run on the HTTP
// library's threads.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/engine.h"

namespace stepflow::api {

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // Shutdown()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves `engine` (not owned; must outlive the server) on `address` ("127.0.0.1:7234"; port 0 picks a free
  // port). Returns the bound port. Unavailable when the address cannot be bound; FailedPrecondition when
  // already started.
  absl::StatusOr<int> Start(engine::Engine* engine, const std::string& address);

  // From now on /healthz answers 503. Idempotent.
  void BeginShutdown();

  // BeginShutdown, then stops listening and waits for the listener thread. Idempotent.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepflow::api
