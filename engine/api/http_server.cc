#include "engine/api/http_server.h"

#include <atomic>
#include <fstream>
#include <iterator>
#include <chrono>
#include <cstdint>
#include <optional>

#include "engine/api/forwarding.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/api/audit.h"
#include "engine/api/console_files.h"
#include "engine/api/error_mapping.h"
#include "engine/api/forwarding.h"
#include "engine/api/handler_env.h"
#include "engine/api/http_listener.h"
#include "engine/api/rest_api.h"

namespace stepflow::api {
namespace {

constexpr char kTextPlain[] = "text/plain; charset=utf-8";
constexpr char kPrometheusText[] = "text/plain; version=0.0.4; charset=utf-8";

HttpResponse Text(int status, const char* content_type, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = content_type;
  response.body = std::move(body);
  return response;
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
  AppendMetric(body, "stepflow_task_polls_waiting", "gauge",
               "Workers' polls waiting in the matcher for a task, by queue (more may be parked behind them).");
  for (const auto& [queue, waiting] : m.polls_waiting) {
    absl::StrAppend(&body, "stepflow_task_polls_waiting{queue=\"", LabelValue(queue), "\"} ", waiting, "\n");
  }
  AppendMetric(body, "stepflow_tasks_started_at_schedule_total", "counter",
               "Tasks started in the commit that scheduled them, for a poll that was waiting.");
  absl::StrAppend(&body, "stepflow_tasks_started_at_schedule_total ", m.tasks_started_at_schedule, "\n");
  if (m.clustered) {
    AppendMetric(body, "stepflow_cluster_partitions_owned", "gauge",
                 "Logical partitions whose lease this node holds (several nodes over PostgreSQL).");
    absl::StrAppend(&body, "stepflow_cluster_partitions_owned ", m.cluster_partitions_owned, "\n");
    AppendMetric(body, "stepflow_cluster_nodes_seen", "gauge", "Live nodes this node saw in its last lease round.");
    absl::StrAppend(&body, "stepflow_cluster_nodes_seen ", m.cluster_nodes_seen, "\n");
  }
}

// The caller of an HTTP request: its bearer token (authorization header).
Caller HttpCaller(const HttpRequest& req) {
  Caller caller;
  if (auto it = req.headers.find("authorization"); it != req.headers.end()) {
    std::string value = it->second;
    constexpr std::string_view kBearer = "Bearer ";
    if (value.size() >= kBearer.size() && absl::EqualsIgnoreCase(absl::string_view(value.data(), kBearer.size()),
                                                          absl::string_view(kBearer.data(), kBearer.size()))) {
      value.erase(0, kBearer.size());
    }
    caller.bearer = value;
  }
  return caller;
}

// The 401/403 answer (with the error name), after its audit line, when `req` may not make `rpc`.
std::optional<HttpResponse> RefuseHttp(const Authorizer& authorizer, const HttpRequest& req, Rpc rpc) {
  Admission admission = authorizer.Admit(HttpCaller(req), rpc);
  if (admission.status.ok()) {
    return std::nullopt;
  }
  HttpResponse res;
  res.status = absl::IsUnauthenticated(admission.status) ? 401 : 403;
  res.body = absl::StrCat(admission.status.message(), "\n");
  AuditRecord record{admission.who, PolicyOf(rpc).method, "", absl::StrCat(res.status),
                     std::string(ErrorNamePrefix(std::string(admission.status.message())))};
  WriteAuditLine(record);
  return res;
}

}  // namespace

struct HttpServer::Impl {
  engine::Engine* engine = nullptr;
  const Authorizer* authorizer = nullptr;
  std::int64_t start_time_seconds = 0;
  std::atomic<bool> stopping{false};
  std::optional<ConsoleFiles> console;  // none when no console_dir
  ServiceEnv env;  // the REST API's; long waits counted in options.long_waits when shared
  RestApi rest{&env};
  HttpListener listener;  // last: stopped first, while what its threads use is still there

  static bool IsRest(const std::string& path) {
    const std::string_view prefix(kRestPrefix);
    return path.compare(0, prefix.size(), prefix) == 0 && (path.size() == prefix.size() || path[prefix.size()] == '/');
  }

  HttpResponse ServeConsole(const std::string& path) const {
    if (!console.has_value()) {
      return Text(404, kTextPlain,
                  path == "/" ? "not found (no console installed: build it with `make console`, or --console-dir)\n"
                              : "not found\n");
    }
    ConsoleResponse file = console->Serve(path);
    if (file.body == nullptr) {
      return Text(404, kTextPlain, "not found\n");
    }
    HttpResponse response = Text(200, file.content_type.c_str(), *file.body);
    response.headers.emplace_back("Cache-Control", file.cache_control);
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return response;
  }

  HttpResponse Handle(const HttpRequest& req) const {
    if (IsRest(req.path)) {
      return rest.Handle(req);
    }
    if (req.method != "GET") {
      return Text(405, kTextPlain, "only GET\n");
    }
    if (req.path == "/healthz") {
      return stopping.load() ? Text(503, kTextPlain, "shutting down\n")
                             : Text(200, kTextPlain, "ok\n");
    }
    if (req.path != "/metrics") {
      return ServeConsole(req.path);
    }
    if (authorizer != nullptr) {
      if (std::optional<HttpResponse> refused = RefuseHttp(*authorizer, req, Rpc::kHttpMetrics)) {
        return *refused;
      }
    }
    std::string body = absl::StrCat(
        "# HELP stepflow_up 1 while the server is serving.\n"
        "# TYPE stepflow_up gauge\n"
        "stepflow_up ",
        stopping.load() ? 0 : 1,
        "\n"
        "# HELP stepflow_start_time_seconds When the HTTP listener started, in Unix seconds.\n"
        "# TYPE stepflow_start_time_seconds gauge\n"
        "stepflow_start_time_seconds ",
        start_time_seconds, "\n");
    if (engine != nullptr) {
      AppendEngineMetrics(engine->Metrics(), body);
    }
    return Text(200, kPrometheusText, body);
  }
};

HttpServer::HttpServer() = default;

HttpServer::~HttpServer() { Shutdown(); }

absl::StatusOr<int> HttpServer::Start(engine::Engine* engine, const std::string& address,
                                      const HttpOptions& options) {
  if (impl_ != nullptr) {
    return absl::FailedPreconditionError("the HTTP server is already started");
  }
  auto impl = std::make_unique<Impl>();
  impl->engine = engine;
  impl->authorizer = options.authorizer;
  impl->env.engine = engine;
  impl->env.authorizer = options.authorizer;
  impl->env.SetLongWaits(options.long_waits, options.max_long_waits);
  {
    // Calls served by another node go there over gRPC (forwarding.h), with the node's TLS files when it has them.
    auto read = [](const std::string& path) {
      std::ifstream in(path, std::ios::binary);
      return path.empty() ? std::string() : std::string(std::istreambuf_iterator<char>(in), {});
    };
    impl->env.forwarder = MakeForwarder(engine, read(options.tls_cert_file), read(options.tls_key_file),
                                        read(options.tls_client_ca_file));
  }
  if (!options.console_dir.empty()) {
    absl::StatusOr<ConsoleFiles> console = ConsoleFiles::Load(options.console_dir);
    if (!console.ok()) {
      return console.status();
    }
    impl->console = std::move(*console);
  }
  impl->start_time_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  HttpListenerOptions listener;
  listener.tls_cert_file = options.tls_cert_file;
  listener.tls_key_file = options.tls_key_file;
  listener.tls_client_ca_file = options.tls_client_ca_file;
  listener.threads = options.threads;
  listener.max_connections = options.max_connections;
  listener.request_deadline = options.request_deadline;
  listener.max_long_calls = options.max_long_waits;
  Impl* self = impl.get();
  absl::StatusOr<int> port =
      impl->listener.Start(address, [self](const HttpRequest& req) { return self->Handle(req); }, listener);
  if (!port.ok()) {
    return port.status();
  }
  impl_ = std::move(impl);
  return *port;
}

void HttpServer::BeginShutdown() {
  if (impl_ != nullptr) {
    impl_->stopping.store(true);
    impl_->env.stopping.store(true);  // long REST calls end within kWaitSlice
  }
}

void HttpServer::Shutdown() {
  if (impl_ == nullptr) {
    return;
  }
  BeginShutdown();
  impl_->listener.Shutdown();
  impl_.reset();
}

}  // namespace stepflow::api
