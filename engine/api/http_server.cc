#include "engine/api/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace stepflow::api {
namespace {

constexpr std::chrono::milliseconds kStartPoll{1};
constexpr char kTextPlain[] = "text/plain; charset=utf-8";
constexpr char kPrometheusText[] = "text/plain; version=0.0.4; charset=utf-8";

// httplib's default sets SO_REUSEPORT on Linux: a second server on the same port would then share it
// silently. SO_REUSEADDR only (restart while old connections are in TIME_WAIT).
void SocketOptions(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

// A Prometheus label value: backslash, double quote and newline escaped.
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void AppendMetric(std::string& body, const char* name, const char* type, const char* help) {
  absl::StrAppend(&body, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void AppendEngineMetrics(const engine::EngineMetrics& m, std::string& body) {
  AppendMetric(body, "stepflow_commits_total", "counter", "Write batches the partitions committed.");
  absl::StrAppend(&body, "stepflow_commits_total ", m.commits, "\n");
  AppendMetric(body, "stepflow_history_events_total", "counter", "History events committed (state transitions).");
  absl::StrAppend(&body, "stepflow_history_events_total ", m.history_events, "\n");
  AppendMetric(body, "stepflow_executions_started_total", "counter", "Executions started.");
  absl::StrAppend(&body, "stepflow_executions_started_total ", m.executions_started, "\n");
  AppendMetric(body, "stepflow_executions_ended_total", "counter", "Executions that ended, by status.");
  for (const auto& [status, n] : m.executions_ended) {
    absl::StrAppend(&body, "stepflow_executions_ended_total{status=\"", status, "\"} ", n, "\n");
  }
  AppendMetric(body, "stepflow_tasks_scheduled_total", "counter", "Task attempts scheduled for workers.");
  absl::StrAppend(&body, "stepflow_tasks_scheduled_total ", m.tasks_scheduled, "\n");
  AppendMetric(body, "stepflow_dead_letters_recorded_total", "counter", "Tasks moved to a dead-letter list.");
  absl::StrAppend(&body, "stepflow_dead_letters_recorded_total ", m.dead_letters_recorded, "\n");
  AppendMetric(body, "stepflow_executions_quarantined", "gauge",
               "Executions set aside at start-up because their stored rows could not be replayed.");
  absl::StrAppend(&body, "stepflow_executions_quarantined ", m.executions_quarantined, "\n");
  AppendMetric(body, "stepflow_task_queue_depth", "gauge", "Tasks waiting for a worker, by queue.");
  for (const auto& [queue, depth] : m.queue_depths) {
    absl::StrAppend(&body, "stepflow_task_queue_depth{queue=\"", LabelValue(queue), "\"} ", depth, "\n");
  }
}

}  // namespace

struct HttpServer::Impl {
  engine::Engine* engine = nullptr;
  std::int64_t start_time_seconds = 0;
  std::atomic<bool> stopping{false};
  std::atomic<bool> listener_done{false};
  httplib::Server server;
  std::thread listener;
};

HttpServer::HttpServer() = default;

HttpServer::~HttpServer() { Shutdown(); }

absl::StatusOr<int> HttpServer::Start(engine::Engine* engine, const std::string& address) {
  if (impl_ != nullptr) {
    return absl::FailedPreconditionError("the HTTP server is already started");
  }
  std::size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("not HOST:PORT: '", address, "'"));
  }
  std::string host = address.substr(0, colon);
  auto impl = std::make_unique<Impl>();
  impl->engine = engine;
  impl->start_time_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  Impl* self = impl.get();
  impl->server.set_socket_options(SocketOptions);
  // An idle keep-alive connection holds a worker (and so Shutdown) for at most this long.
  impl->server.set_keep_alive_timeout(1);
  impl->server.Get("/healthz", [self](const httplib::Request&, httplib::Response& res) {
    if (self->stopping.load()) {
      res.status = 503;
      res.set_content("shutting down\n", kTextPlain);
    } else {
      res.status = 200;
      res.set_content("ok\n", kTextPlain);
    }
  });
  impl->server.Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
    std::string body = absl::StrCat(
        "# HELP stepflow_up 1 while the server is serving.\n"
        "# TYPE stepflow_up gauge\n"
        "stepflow_up ",
        self->stopping.load() ? 0 : 1,
        "\n"
        "# HELP stepflow_start_time_seconds When the HTTP listener started, in Unix seconds.\n"
        "# TYPE stepflow_start_time_seconds gauge\n"
        "stepflow_start_time_seconds ",
        self->start_time_seconds, "\n");
    if (self->engine != nullptr) {
      AppendEngineMetrics(self->engine->Metrics(), body);
    }
    res.status = 200;
    res.set_content(body, kPrometheusText);
  });
  if (port == 0) {
    port = impl->server.bind_to_any_port(host);
  } else if (!impl->server.bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, " (address in use or invalid)"));
  }
  impl->listener = std::thread([self] {
    self->server.listen_after_bind();
    self->listener_done.store(true);
  });
  impl_ = std::move(impl);
  return port;
}

void HttpServer::BeginShutdown() {
  if (impl_ != nullptr) {
    impl_->stopping.store(true);
  }
}

void HttpServer::Shutdown() {
  if (impl_ == nullptr) {
    return;
  }
  BeginShutdown();
  // httplib's stop() does nothing until the listener thread has entered its accept loop (is_running): wait
  // for that first, or the thread would never return.
  while (!impl_->server.is_running() && !impl_->listener_done.load()) {
    std::this_thread::sleep_for(kStartPoll);
  }
  impl_->server.stop();
  impl_->listener.join();
  impl_.reset();
}

}  // namespace stepflow::api
