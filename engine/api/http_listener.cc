// The HTTP listener (http_listener.h) on Boost.Beast. All Beast and Asio code of the server is in this file.
#include "engine/api/http_listener.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/thread_name.h"

namespace stepflow::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using ErrorCode = beast::error_code;

constexpr int kListenBacklog = 128;
constexpr std::size_t kReadChunk = 2048;
// How often a waiting long answer looks at shutdown, and how long a failed accept (EMFILE) backs off.
constexpr std::chrono::milliseconds kPollSlice{250};
constexpr std::chrono::milliseconds kAcceptBackoff{50};

// A short error answer of the listener itself, in the REST API's error shape.
HttpResponse ListenerError(int status, std::string_view name, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = absl::StrCat("{\"error\":\"", std::string(name), "\",\"message\":\"", std::string(message), "\"}\n");
  return response;
}

// One long answer's thread, and whether it has finished (so that it can be joined without waiting).
struct LongThread {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
};

// A one-shot result that a long answer's thread waits for, in slices, until the listener stops.
class Completion {
 public:
  void Set(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    ok_ = ok;
    cv_.notify_all();
  }
  // The result, or false once `stopping` is set first.
  bool Wait(const std::atomic<bool>& stopping) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!finished_) {
      if (stopping.load()) {
        return false;
      }
      cv_.wait_for(lock, kPollSlice);
    }
    return ok_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  bool ok_ = false;
};

}  // namespace

// What the listener's sessions share with it (a named namespace: its members are defined after the sessions
// that use them).
namespace listener_internal {
struct Core {
  HttpHandler handler;
  HttpListenerOptions options;
  std::optional<ssl::context> tls;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<int> connections{0};
  std::atomic<int> long_calls{0};
  std::mutex long_mu;
  std::list<LongThread> long_threads;  // guarded by long_mu
  // Destroyed after the acceptor and the timer that use it, and before the members above, which the sessions
  // held by its pending operations use.
  net::io_context io;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> backoff;

  absl::Status SetUpTls();
  absl::StatusOr<int> Bind(const std::string& address);
  void Accept();
  void OnAccept(ErrorCode ec, tcp::socket socket);
  // Runs `work` on a thread of its own (joined by Shutdown); reaps the threads that finished.
  void SpawnLong(std::function<void()> work);
};

// One connection: reads requests one after the other (keep-alive), answers each, within the deadlines of
// HttpListenerOptions. Lives as long as an operation of it is pending (shared_from_this), and as long as a
// long answer's thread holds it. Its operations run on its strand.
template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>>, public HttpStreamWriter {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(Core& listener, tcp::socket socket)
      : listener_(listener), stream_(MakeStream(listener, std::move(socket))) {
    listener_.connections.fetch_add(1);
  }
  ~Session() override { listener_.connections.fetch_sub(1); }

  void Run() {
    Lowest().expires_after(listener_.options.request_deadline);
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](ErrorCode ec) {
                                if (ec) {
                                  self->Close();
                                  return;
                                }
                                self->ReadHead();
                              });
    } else {
      ReadHead();
    }
  }

  bool Write(std::string chunk) override {
    if (Cancelled()) {
      return false;
    }
    auto done = std::make_shared<Completion>();
    auto data = std::make_shared<std::string>(std::move(chunk));
    net::post(stream_.get_executor(), [self = this->shared_from_this(), done, data] {
      self->Lowest().expires_after(self->listener_.options.write_deadline);
      net::async_write(self->stream_, net::buffer(*data), [self, done, data](ErrorCode ec, std::size_t) {
        if (ec) {
          self->broken_.store(true);
        }
        done->Set(!ec);
      });
    });
    return done->Wait(listener_.stopping);
  }

  bool Cancelled() const override { return listener_.stopping.load() || broken_.load(); }

 private:
  static Stream MakeStream(Core& listener, tcp::socket socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *listener.tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // Waits (at most idle_timeout) for the first byte of the next request on a kept-alive connection.
  void WaitForRequest() {
    if (buffer_.size() > 0) {
      Lowest().expires_after(listener_.options.request_deadline);
      ReadHead();
      return;
    }
    Lowest().expires_after(listener_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this()](ErrorCode ec, std::size_t n) {
                              if (ec || self->listener_.stopping.load()) {
                                self->Close();
                                return;
                              }
                              self->buffer_.commit(n);
                              self->Lowest().expires_after(self->listener_.options.request_deadline);
                              self->ReadHead();
                            });
  }

  void ReadHead() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
    parser_->body_limit(listener_.options.max_body_bytes);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](ErrorCode ec, std::size_t) { self->OnHead(ec); });
  }

  void OnHead(ErrorCode ec) {
    if (ec == http::error::header_limit) {
      Respond(ListenerError(431, "ValidationException", "the request head is larger than 16 KiB"), false, 11);
      return;
    }
    if (ec == http::error::body_limit) {
      RespondTooLarge();  // Content-Length says so: refused before the body is read
      return;
    }
    if (ec || listener_.stopping.load()) {
      Close();  // too slow, malformed, gone, or shutting down: dropped without an answer
      return;
    }
    boost::optional<std::uint64_t> length = parser_->content_length();
    if (length && *length > listener_.options.max_body_bytes) {
      RespondTooLarge();
      return;
    }
    Lowest().expires_after(listener_.options.body_deadline);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](ErrorCode ec, std::size_t) { self->OnBody(ec); });
  }

  void OnBody(ErrorCode ec) {
    if (ec == http::error::body_limit) {
      RespondTooLarge();
      return;
    }
    if (ec || listener_.stopping.load()) {
      Close();
      return;
    }
    Dispatch();
  }

  void RespondTooLarge() {
    Respond(ListenerError(413, "ValidationException",
                          absl::StrCat("the request body is larger than ", listener_.options.max_body_bytes,
                                       " bytes")),
            false, parser_->get().version());
  }

  void Dispatch() {
    http::request<http::string_body> message = parser_->release();
    HttpRequest request;
    request.method = std::string(message.method_string());
    std::string_view target(message.target().data(), message.target().size());
    std::size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
      request.query = std::string(target.substr(question + 1));
    }
    for (const auto& field : message) {
      std::string name(field.name_string());
      absl::AsciiStrToLower(&name);
      request.headers[name] = std::string(field.value());
    }
    request.body = std::move(message.body());
    const bool keep_alive = message.keep_alive();
    const unsigned version = message.version();
    HttpResponse response = listener_.handler(request);
    if (response.deferred || response.stream) {
      StartLong(std::move(response), keep_alive, version);
      return;
    }
    Respond(std::move(response), keep_alive, version);
  }

  // Runs a deferred or streamed answer on a thread of its own.
  void StartLong(HttpResponse response, bool keep_alive, unsigned version) {
    if (listener_.long_calls.fetch_add(1) >= listener_.options.max_long_calls) {
      listener_.long_calls.fetch_sub(1);
      Respond(ListenerError(429, "ThrottlingException", "too many long calls (start-sync, follow); retry later"),
              keep_alive, version);
      return;
    }
    if (response.stream) {
      WatchForClose();
    }
    auto self = this->shared_from_this();
    listener_.SpawnLong([self, response = std::move(response), keep_alive, version]() mutable {
      if (response.deferred) {
        HttpResponse answer = response.deferred([self] { return self->Cancelled(); });
        net::post(self->stream_.get_executor(), [self, answer = std::move(answer), keep_alive, version]() mutable {
          self->Respond(std::move(answer), keep_alive, version);
        });
      } else {
        std::string head = absl::StrCat("HTTP/1.1 ", response.status, " OK\r\nContent-Type: ", response.content_type,
                                         "\r\nCache-Control: no-cache\r\nConnection: close\r\n");
        for (const auto& [name, value] : response.headers) {
          absl::StrAppend(&head, name, ": ", value, "\r\n");
        }
        head += "\r\n";
        if (self->Write(std::move(head))) {
          response.stream(*self);
        }
        net::post(self->stream_.get_executor(), [self] { self->Close(); });
      }
      self->listener_.long_calls.fetch_sub(1);
    });
  }

  // While a stream is written, a read waits (without deadline) for the client to close: a closed connection
  // cancels the stream at once instead of at its next write. Whatever the client sends meanwhile is dropped.
  void WatchForClose() {
    Lowest().expires_never();
    stream_.async_read_some(buffer_.prepare(kReadChunk), [self = this->shared_from_this()](ErrorCode ec, std::size_t) {
      if (ec) {
        self->broken_.store(true);
        return;
      }
      self->buffer_.clear();
      self->WatchForClose();
    });
  }

  void Respond(HttpResponse response, bool keep_alive, unsigned version) {
    auto message = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    message->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) {
      message->set(name, value);
    }
    message->body() = std::move(response.body);
    const bool keep = keep_alive && !listener_.stopping.load();
    message->keep_alive(keep);
    message->prepare_payload();
    Lowest().expires_after(listener_.options.write_deadline);
    http::async_write(stream_, *message,
                      [self = this->shared_from_this(), message, keep](ErrorCode ec, std::size_t) {
                        if (ec || !keep) {
                          self->Close();
                          return;
                        }
                        self->WaitForRequest();
                      });
  }

  void Close() {
    broken_.store(true);
    if constexpr (kTls) {
      Lowest().expires_after(listener_.options.write_deadline);
      stream_.async_shutdown([self = this->shared_from_this()](ErrorCode) { self->CloseSocket(); });
    } else {
      CloseSocket();
    }
  }

  void CloseSocket() {
    ErrorCode ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  Core& listener_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::atomic<bool> broken_{false};
};

}  // namespace

namespace listener_internal {

absl::Status Core::SetUpTls() {
  tls.emplace(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ErrorCode ec;
  tls->use_certificate_chain_file(options.tls_cert_file, ec);
  if (!ec) {
    tls->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
  }
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("cannot use the TLS certificate ", options.tls_cert_file,
                                                   " and key ", options.tls_key_file, " for HTTPS"));
  }
  if (!options.tls_client_ca_file.empty()) {
    tls->load_verify_file(options.tls_client_ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read the client CA ", options.tls_client_ca_file));
    }
    tls->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Core::Bind(const std::string& address) {
  std::size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("not HOST:PORT: '", address, "'"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  ErrorCode ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
  }
  for (const auto& entry : endpoints) {
    tcp::acceptor candidate(io);
    // SO_REUSEADDR only: SO_REUSEPORT would let a second server share the port silently.
    if (!candidate.open(entry.endpoint().protocol(), ec) &&
        !candidate.set_option(net::socket_base::reuse_address(true), ec) && !candidate.bind(entry.endpoint(), ec) &&
        !candidate.listen(kListenBacklog, ec)) {
      acceptor.emplace(std::move(candidate));
      break;
    }
  }
  if (!acceptor.has_value()) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, " (address in use or invalid)"));
  }
  return acceptor->local_endpoint().port();
}

void Core::Accept() {
  acceptor->async_accept(net::make_strand(io), [this](ErrorCode ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void Core::OnAccept(ErrorCode ec, tcp::socket socket) {
  if (stopping.load() || !acceptor->is_open()) {
    return;
  }
  if (ec) {
    // Out of descriptors, or a connection reset before it was taken: back off a little, then go on.
    backoff->expires_after(kAcceptBackoff);
    backoff->async_wait([this](ErrorCode) { Accept(); });
    return;
  }
  if (connections.load() >= options.max_connections) {
    ErrorCode ignored;
    socket.close(ignored);  // past the bound: refuse at once rather than queue without end
  } else if (tls.has_value()) {
    std::make_shared<Session<true>>(*this, std::move(socket))->Run();
  } else {
    std::make_shared<Session<false>>(*this, std::move(socket))->Run();
  }
  Accept();
}

void Core::SpawnLong(std::function<void()> work) {
  std::lock_guard<std::mutex> lock(long_mu);
  for (auto it = long_threads.begin(); it != long_threads.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = long_threads.erase(it);
    } else {
      ++it;
    }
  }
  LongThread& entry = long_threads.emplace_back();
  entry.thread = std::thread([work = std::move(work), done = entry.done] {
    common::NameThisThread("sf-http-long");
    work();
    done->store(true);
  });
}

}  // namespace listener_internal

using listener_internal::Core;

struct HttpListener::Impl {
  Core core;
};

HttpListener::HttpListener() = default;

HttpListener::~HttpListener() { Shutdown(); }

absl::StatusOr<int> HttpListener::Start(const std::string& address, HttpHandler handler,
                                        const HttpListenerOptions& options) {
  if (impl_ != nullptr) {
    return absl::FailedPreconditionError("the HTTP listener is already started");
  }
  auto impl = std::make_unique<Impl>();
  impl->core.handler = std::move(handler);
  impl->core.options = options;
  if (!options.tls_cert_file.empty()) {
    if (absl::Status s = impl->core.SetUpTls(); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<int> port = impl->core.Bind(address);
  if (!port.ok()) {
    return port.status();
  }
  impl->core.backoff.emplace(impl->core.io);
  impl->core.Accept();
  Core* self = &impl->core;
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    impl->core.threads.emplace_back([self] {
      common::NameThisThread("sf-http");
      self->io.run();
    });
  }
  impl_ = std::move(impl);
  return *port;
}

void HttpListener::Shutdown() {
  if (impl_ == nullptr) {
    return;
  }
  impl_->core.stopping.store(true);
  // Stopping the loop abandons every pending read and write; the sessions are freed with the loop below.
  impl_->core.io.stop();
  for (std::thread& t : impl_->core.threads) {
    t.join();
  }
  {
    // Long answers see `stopping` within one slice (their writes and waits poll it).
    std::lock_guard<std::mutex> lock(impl_->core.long_mu);
    for (LongThread& entry : impl_->core.long_threads) {
      entry.thread.join();
    }
    impl_->core.long_threads.clear();
  }
  impl_->core.backoff.reset();
  impl_->core.acceptor.reset();
  impl_.reset();
}

}  // namespace stepflow::api
