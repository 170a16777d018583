#pragma once
// The HTTP/1.1 listener of `stepflow server` (/healthz, /metrics and the REST API), on Boost.Beast and
// Boost.Asio (all of it in http_listener.cc: no Beast or OpenSSL type in this header). Built to stay up
// under slow or hostile clients (issue 9, section 4; issue 11):
// - asynchronous: a connection holds no thread while it waits, so idle keep-alive connections cost a socket
//   and a buffer each, and `threads` threads serve any number of connections;
// - every request has a total deadline for its head (TLS handshake and headers included, from its first
//   byte), not a per-read timeout, so a client that sends one byte every few seconds is dropped when it
//   passes; its body then gets body_deadline; an idle keep-alive connection is closed after idle_timeout;
// - the head is at most kMaxHeaderBytes (larger: 431, then closed), the body at most max_body_bytes (larger:
//   413, then closed; the default is 8 MiB);
// - at most `max_connections` connections are open at once; more are closed on accept;
// - a long answer (HttpResponse::deferred or ::stream: start-sync, Server-Sent Events) runs on a thread of
//   its own, at most max_long_calls at once (more: 429), and is told to stop on Shutdown;
// - Shutdown closes every connection and joins every thread; it never waits for a client.
// Optional TLS (OpenSSL), optionally mutual.
//
// Thread-safety: Start and Shutdown from one thread; the handler runs on the listener's threads, and
// `deferred`/`stream` on their own threads, concurrently.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace stepflow::api {

// A request head is at most this large (request line and headers).
inline constexpr std::size_t kMaxHeaderBytes = 16 * 1024;

struct HttpRequest {
  std::string method;  // "GET"
  std::string path;    // "/api/v1/executions/arn%3A..." (as sent: not percent-decoded; no query)
  std::string query;   // "pageSize=10&status=RUNNING" ("" when none; not decoded)
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

// Where a streamed answer writes (Server-Sent Events). Thread-safe.
class HttpStreamWriter {
 public:
  virtual ~HttpStreamWriter() = default;
  // Sends `chunk`; false when the client went away, the write timed out, or the listener is stopping.
  virtual bool Write(std::string chunk) = 0;
  // True once the listener is stopping or the connection broke.
  virtual bool Cancelled() const = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more headers
  // A long answer computed off the listener's threads (start-sync): the response is what it returns; it is
  // given the cancellation of the connection. The fields above are then ignored.
  std::function<HttpResponse(const std::function<bool()>& cancelled)> deferred;
  // A streamed answer: `status`, `content_type` and `headers` are sent at once, then `stream` writes the body
  // (no Content-Length; the connection closes after it).
  std::function<void(HttpStreamWriter& writer)> stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpListenerOptions {
  // TLS certificate chain and key files (PEM); empty = plain HTTP. With a client CA file, clients must present
  // a certificate it signed.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // Threads running the event loop and the handler (short calls only). Default: 4.
  int threads = 4;
  // Connections open at once (idle keep-alive ones included); more are closed on accept. Default: 4096.
  int max_connections = 4096;
  // A request's head (TLS handshake and headers) must arrive within this from its first byte. Default: 5 s.
  std::chrono::milliseconds request_deadline{5000};
  // Its body must arrive within this once the head did. Default: 30 s.
  std::chrono::milliseconds body_deadline{30000};
  // A keep-alive connection with no request for this long is closed. Default: 60 s.
  std::chrono::milliseconds idle_timeout{60000};
  // A response (or one streamed chunk) must be taken by the client within this. Default: 10 s.
  std::chrono::milliseconds write_deadline{10000};
  // Largest request body. Default: 8 MiB (the gRPC API's largest message).
  std::size_t max_body_bytes = 8 << 20;
  // Deferred and streamed answers at once; more are answered 429. Default: 256.
  int max_long_calls = 256;
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
  // Stops accepting, tells long answers to stop, closes open connections and joins every thread. Idempotent.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepflow::api
