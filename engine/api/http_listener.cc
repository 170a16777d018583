#include "engine/api/http_listener.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace stepflow::api {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kMaxRequestBytes = 16 * 1024;
constexpr int kListenBacklog = 128;
constexpr std::size_t kReadChunk = 2048;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    default:
      return "Service Unavailable";
  }
}

// Each blocking read or write waits at most until the request's deadline (and at least 1 ms).
void SetIoTimeout(int fd, SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - SteadyClock::now());
  left = std::max(left, std::chrono::microseconds(1000));
  timeval tv{static_cast<time_t>(left.count() / 1000000), static_cast<suseconds_t>(left.count() % 1000000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// `text` split at every `separator`.
std::vector<std::string_view> Split(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    std::size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return parts;
    }
    text.remove_prefix(at + separator.size());
  }
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// "GET /path?x HTTP/1.1\r\nName: value\r\n..." -> request; nullopt when malformed.
std::optional<HttpRequest> ParseRequest(std::string_view head) {
  std::vector<std::string_view> lines = Split(head, "\r\n");
  std::vector<std::string_view> first = Split(lines[0], " ");
  if (first.size() != 3 || first[2].substr(0, 5) != "HTTP/") {
    return std::nullopt;
  }
  HttpRequest request;
  request.method = std::string(first[0]);
  request.path = std::string(first[1].substr(0, first[1].find('?')));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    std::string name(lines[i].substr(0, colon));
    absl::AsciiStrToLower(&name);
    request.headers[name] = std::string(Trim(lines[i].substr(colon + 1)));
  }
  return request;
}

}  // namespace

struct HttpListener::Impl {
  HttpHandler handler;
  HttpListenerOptions options;
  SSL_CTX* tls = nullptr;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<int, SteadyClock::time_point>> waiting;  // guarded by mu: accepted, not yet served
  std::set<int> serving;                                        // guarded by mu
  std::thread acceptor;
  std::vector<std::thread> workers;

  ~Impl() {
    if (tls != nullptr) {
      SSL_CTX_free(tls);
    }
    for (int fd : {listen_fd, wake[0], wake[1]}) {
      if (fd >= 0) {
        close(fd);
      }
    }
  }

  absl::Status SetUpTls();
  absl::StatusOr<int> Bind(const std::string& address);
  void Accept();
  void Work();
  void Serve(int fd, SteadyClock::time_point deadline);
  // Reads the request head (through `ssl` when not null) until "\r\n\r\n", the size bound or the deadline.
  std::optional<std::string> ReadHead(int fd, SSL* ssl, SteadyClock::time_point deadline);
};

absl::Status HttpListener::Impl::SetUpTls() {
  tls = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(tls, options.tls_cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(tls, options.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(tls) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("cannot use the TLS certificate ", options.tls_cert_file,
                                                   " and key ", options.tls_key_file, " for HTTPS"));
  }
  if (!options.tls_client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(tls, options.tls_client_ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read the client CA ", options.tls_client_ca_file));
    }
    SSL_CTX_set_verify(tls, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> HttpListener::Impl::Bind(const std::string& address) {
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
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || found == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
  }
  for (addrinfo* a = found; a != nullptr && listen_fd < 0; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    int yes = 1;
    // SO_REUSEADDR only: SO_REUSEPORT would let a second server share the port silently.
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes)) == 0 &&
        bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, kListenBacklog) == 0) {
      listen_fd = fd;
    } else if (fd >= 0) {
      close(fd);
    }
  }
  freeaddrinfo(found);
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (listen_fd < 0 || getsockname(listen_fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, " (address in use or invalid)"));
  }
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

void HttpListener::Impl::Accept() {
  pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
  while (!stopping.load()) {
    if (poll(fds, 2, -1) < 0 || (fds[1].revents & POLLIN) != 0) {
      continue;
    }
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (waiting.size() + serving.size() >= static_cast<std::size_t>(options.max_connections)) {
      close(fd);  // past the bound: refuse at once rather than queue without end
      continue;
    }
    waiting.emplace_back(fd, SteadyClock::now() + options.request_deadline);
    cv.notify_one();
  }
}

void HttpListener::Impl::Work() {
  for (;;) {
    std::pair<int, SteadyClock::time_point> next;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stopping.load() || !waiting.empty(); });
      if (waiting.empty()) {
        return;
      }
      next = waiting.front();
      waiting.pop_front();
      serving.insert(next.first);
    }
    Serve(next.first, next.second);
    std::lock_guard<std::mutex> lock(mu);
    serving.erase(next.first);
    close(next.first);
  }
}

std::optional<std::string> HttpListener::Impl::ReadHead(int fd, SSL* ssl, SteadyClock::time_point deadline) {
  std::string head;
  char buffer[kReadChunk];
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (SteadyClock::now() >= deadline || head.size() > kMaxRequestBytes || stopping.load()) {
      return std::nullopt;
    }
    SetIoTimeout(fd, deadline);
    int n = ssl != nullptr ? SSL_read(ssl, buffer, sizeof(buffer))
                           : static_cast<int>(recv(fd, buffer, sizeof(buffer), 0));
    if (n <= 0) {
      return std::nullopt;
    }
    head.append(buffer, static_cast<std::size_t>(n));
  }
  return head.substr(0, head.find("\r\n\r\n"));
}

void HttpListener::Impl::Serve(int fd, SteadyClock::time_point deadline) {
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, SSL_free);
  if (tls != nullptr) {
    ssl.reset(SSL_new(tls));
    SSL_set_fd(ssl.get(), fd);
    SetIoTimeout(fd, deadline);
    if (SSL_accept(ssl.get()) != 1 || SteadyClock::now() >= deadline) {
      ERR_clear_error();
      return;
    }
  }
  std::optional<std::string> head = ReadHead(fd, ssl.get(), deadline);
  if (!head.has_value()) {
    ERR_clear_error();
    return;  // too slow, too big or gone: dropped without an answer
  }
  std::optional<HttpRequest> request = ParseRequest(*head);
  HttpResponse response = request.has_value() ? handler(*request) : HttpResponse{400, "text/plain", "bad request\n"};
  std::string out = absl::StrCat("HTTP/1.1 ", response.status, " ", Reason(response.status),
                                 "\r\nContent-Type: ", response.content_type, "\r\nContent-Length: ",
                                 response.body.size(), "\r\nConnection: close\r\n\r\n", response.body);
  SetIoTimeout(fd, deadline + options.request_deadline);  // the answer gets its own bounded time
  std::size_t sent = 0;
  while (sent < out.size()) {
    int n = ssl != nullptr ? SSL_write(ssl.get(), out.data() + sent, static_cast<int>(out.size() - sent))
                           : static_cast<int>(send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL));
    if (n <= 0) {
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  if (ssl != nullptr) {
    SSL_shutdown(ssl.get());
  }
  ERR_clear_error();
}

HttpListener::HttpListener() = default;

HttpListener::~HttpListener() { Shutdown(); }

absl::StatusOr<int> HttpListener::Start(const std::string& address, HttpHandler handler,
                                        const HttpListenerOptions& options) {
  if (impl_ != nullptr) {
    return absl::FailedPreconditionError("the HTTP listener is already started");
  }
  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  impl->options = options;
  if (!options.tls_cert_file.empty()) {
    if (absl::Status s = impl->SetUpTls(); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<int> port = impl->Bind(address);
  if (!port.ok()) {
    return port.status();
  }
  if (pipe2(impl->wake, O_CLOEXEC) != 0) {
    return absl::InternalError("InternalFailure: pipe2 failed");
  }
  Impl* self = impl.get();
  impl->acceptor = std::thread([self] { self->Accept(); });
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    impl->workers.emplace_back([self] { self->Work(); });
  }
  impl_ = std::move(impl);
  return *port;
}

void HttpListener::Shutdown() {
  if (impl_ == nullptr) {
    return;
  }
  impl_->stopping.store(true);
  char byte = 0;
  (void)!write(impl_->wake[1], &byte, 1);
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (int fd : impl_->serving) {
      shutdown(fd, SHUT_RDWR);  // a slow client's read returns now
    }
    for (const auto& [fd, deadline] : impl_->waiting) {
      close(fd);
    }
    impl_->waiting.clear();
  }
  impl_->cv.notify_all();
  impl_->acceptor.join();
  for (std::thread& t : impl_->workers) {
    t.join();
  }
  impl_.reset();
}

}  // namespace stepflow::api
