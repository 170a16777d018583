#pragma once
// The HTTP side of `stepflow server` (default 127.0.0.1:7234, see app/server_config.h) on the HTTP listener
// (http_listener.h: Boost.Beast, keep-alive with idle and head deadlines, bounded bodies and connections):
// GET /healthz, GET /metrics (Prometheus text exposition), the REST API under /api/v1 (rest_api.h) and the
// ops console's static files at / (console_files.h; API routes come first), over
// HTTPS when HttpOptions names a certificate. No HTTP library type appears here (pimpl).
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
#include "engine/api/long_waits.h"
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
  // Connections open at once (idle keep-alive ones included: they hold no thread); more are closed on
  // accept. Default: 4096.
  int max_connections = 4096;
  // A request's head (TLS handshake and headers) must arrive within this from its first byte, or the
  // connection is dropped; a slow client never holds off shutdown. Default: 5 s.
  std::chrono::milliseconds request_deadline{5000};
  // REST calls that wait for an execution (start-sync, history:follow) at once, each on a thread of its own;
  // more are refused with 429 ThrottlingException. Default: 256.
  int max_long_waits = kDefaultMaxLongWaits;
  // The budget of such calls shared with the gRPC API (long_waits.h; not owned, must outlive the server);
  // nullptr = one of max_long_waits places for this server alone. Default: nullptr.
  LongWaitBudget* long_waits = nullptr;
  // The ops console's built files (console_files.h), served at "/" for every GET outside /api/v1, /healthz and
  // /metrics. Default: "" = no console (GET / is a 404 saying so).
  std::string console_dir;
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // Shutdown()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves `engine` (not owned; must outlive the server) on `address` ("127.0.0.1:7234"; port 0 picks a free
  // port). Returns the bound port. Unavailable when the address cannot be bound; FailedPrecondition when
  // already started; InvalidArgument when options.console_dir is set but is not a console build.
  absl::StatusOr<int> Start(engine::Engine* engine, const std::string& address, const HttpOptions& options = {});

  // From now on /healthz answers 503, and REST calls answer 503 ServiceUnavailable; long ones end. Idempotent.
  void BeginShutdown();

  // BeginShutdown, then stops listening and waits for the listener thread. Idempotent.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepflow::api
