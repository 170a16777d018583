#pragma once
// A small HTTP/1.x listener for the few GET endpoints of `stepflow server` (/healthz, /metrics), built to
// stay up under slow or hostile clients (issue 9, section 4):
// - every connection has a total deadline for its request (TLS handshake and headers included), not a
//   per-read timeout, so a client that sends one byte every few seconds is dropped when it passes;
// - at most `max_connections` connections are served or queued at once; more are closed at once;
// - one request per connection (Connection: close), headers at most kMaxRequestBytes;
// - Shutdown closes the open connections, so it never waits for a client.
// Optional TLS (OpenSSL), optionally mutual. Internal to engine/api (no OpenSSL type in this header).
//
// Thread-safety: Start and Shutdown from one thread; the handler runs on the listener's worker threads.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace stepflow::api {

struct HttpRequest {
  std::string method;  // "GET"
  std::string path;    // "/metrics" (the query string removed)
  std::map<std::string, std::string> headers;  // names lowercased
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpListenerOptions {
  // TLS certificate chain and key files (PEM); empty = plain HTTP. With a client CA file, clients must present
  // a certificate it signed.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // Threads serving connections. Default: 4 (the endpoints answer in microseconds).
  int threads = 4;
  // Connections served or waiting at once; more are closed on accept. Default: 64.
  int max_connections = 64;
  // The whole request (handshake and headers) must arrive within this. Default: 5 s.
  std::chrono::milliseconds request_deadline{5000};
};

class HttpListener {
 public:
  HttpListener();
  ~HttpListener();  // Shutdown()
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Listens on `address` (HOST:PORT; port 0 picks one) and serves `handler`. Returns the bound port.
  // InvalidArgument for a bad address or TLS files; Unavailable when it cannot bind.
  absl::StatusOr<int> Start(const std::string& address, HttpHandler handler, const HttpListenerOptions& options);
  // Stops accepting, closes open connections and joins every thread. Idempotent.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepflow::api
