#pragma once
// The HTTP listener of `stepflow server` (http_listener.h: request deadlines, bounded connections) (default 127.0.0.1:7234, see server_config.h): GET /healthz and GET /metrics (Prometheus
// text exposition), over HTTPS when HttpOptions names a certificate. No HTTP library type appears here (pimpl).
//
//   GET /healthz   200 "ok" while serving; 503 "shutting down" once BeginShutdown was called
//   GET /metrics   (needs a reader token when tokens are in force: 401 UnrecognizedClientException, 403
//                  AccessDeniedException) stepflow_up, stepflow_start_time_seconds (listener start, Unix seconds) and the engine's
//                  counters and queue depths (engine::EngineMetrics)
//
// Thread-safety: Start, BeginShutdown and Shutdown are called from one thread; requests run on the HTTP
// library's threads.

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/api/auth.h"
#include "engine/engine.h"

namespace stepflow::api {

struct HttpOptions {
  // HTTPS: certificate chain and private key files (PEM); with a client CA file, clients must present a
  // certificate it signed. Default: none (plain HTTP).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // Who may read /metrics (reader or above, as "authorization: Bearer TOKEN"); /healthz stays open. Not
  // owned. Default: nullptr = open.
  const Authorizer* authorizer = nullptr;
  // Threads serving connections. Default: 4.
  int threads = 4;
  // Connections served or waiting at once; more are closed on accept. Default: 64.
  int max_connections = 64;
  // The whole request (TLS handshake and headers) must arrive within this, or the connection is dropped: a
  // slow client holds a thread at most this long, and never holds off shutdown. Default: 5 s.
  std::chrono::milliseconds request_deadline{5000};
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // Shutdown()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves `engine` (not owned; must outlive the server) on `address` ("127.0.0.1:7234"; port 0 picks a free
  // port). Returns the bound port. Unavailable when the address cannot be bound; FailedPrecondition when
  // already started.
  absl::StatusOr<int> Start(engine::Engine* engine, const std::string& address, const HttpOptions& options = {});

  // From now on /healthz answers 503. Idempotent.
  void BeginShutdown();

  // BeginShutdown, then stops listening and waits for the listener thread. Idempotent.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepflow::api
