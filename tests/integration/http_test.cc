// The real server's HTTP listener: GET /healthz and GET /metrics over a raw HTTP/1.0 socket request, and the
// listener going away on shutdown.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "tests/integration/fixture.h"

namespace stepflow::itest {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct HttpResponse {
  int status = 0;
  std::string headers;
  std::string body;
};

int PortOf(const std::string& address) {
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) << address;
  return port;
}

// Connects to 127.0.0.1:`port`; -1 when the connection is refused.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// GET `path` as HTTP/1.0 and reads the response to the end of the stream; nullopt when it cannot connect.
std::optional<HttpResponse> Get(int port, const std::string& path) {
  int fd = Connect(port);
  if (fd < 0) {
    return std::nullopt;
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return std::nullopt;
  }
  std::string raw;
  char chunk[4096];
  for (;;) {
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      break;
    }
    raw.append(chunk, static_cast<std::size_t>(n));
  }
  close(fd);
  HttpResponse response;
  std::size_t end_of_headers = raw.find("\r\n\r\n");
  std::size_t space = raw.find(' ');
  if (end_of_headers == std::string::npos || space == std::string::npos ||
      !absl::SimpleAtoi(raw.substr(space + 1, 3), &response.status)) {
    ADD_FAILURE() << "not an HTTP response: '" << raw << "'";
    return response;
  }
  response.headers = raw.substr(0, end_of_headers);
  response.body = raw.substr(end_of_headers + 4);
  return response;
}

using HttpTest = ServerFixture;

TEST_F(HttpTest, HealthzAndMetrics) {
  EXPECT_THAT(server().http_address(), StartsWith("127.0.0.1:"));
  int port = PortOf(server().http_address());
  ASSERT_GT(port, 0);
  EXPECT_NE(server().http_address(), server().address());

  std::optional<HttpResponse> health = Get(port, "/healthz");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");

  std::optional<HttpResponse> metrics = Get(port, "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->headers, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(metrics->body, HasSubstr("# TYPE stepflow_up gauge\nstepflow_up 1\n"));
  EXPECT_THAT(metrics->body, HasSubstr("# TYPE stepflow_start_time_seconds gauge\nstepflow_start_time_seconds "));

  // Unknown API routes and files are 404 (a path without an extension may be one of the console's client
  // routes, answered with its index.html when the console is installed beside the binary).
  for (const char* path : {"/api/v1/nope", "/nope.txt"}) {
    std::optional<HttpResponse> unknown = Get(port, path);
    ASSERT_TRUE(unknown.has_value()) << path;
    EXPECT_EQ(unknown->status, 404) << path;
  }

  // The gRPC API is unaffected, and the engine's counters follow what it did.
  Create("http-side", kPassChain);
  absl::StatusOr<v1::Execution> done =
      client().StartSyncExecution("http-side", "{}", "m1", std::chrono::seconds(60));
  ASSERT_TRUE(done.ok()) << done.status();
  std::optional<HttpResponse> after = Get(port, "/metrics");
  ASSERT_TRUE(after.has_value());
  EXPECT_THAT(after->body, HasSubstr("# TYPE stepflow_executions_started_total counter\n"
                                     "stepflow_executions_started_total 1\n"));
  EXPECT_THAT(after->body, HasSubstr("stepflow_executions_ended_total{status=\"SUCCEEDED\"} 1\n"));
  EXPECT_THAT(after->body, HasSubstr("# TYPE stepflow_history_events_total counter\n"));
  EXPECT_THAT(after->body, HasSubstr("# TYPE stepflow_task_queue_depth gauge\n"));
}

TEST_F(HttpTest, ShutdownStopsTheHttpListener) {
  int port = PortOf(server().http_address());
  ASSERT_TRUE(Get(port, "/healthz").has_value());
  ASSERT_EQ(StopServer(), 0);
  EXPECT_THAT(last_log_, HasSubstr("http on address="));
  EXPECT_FALSE(Get(port, "/healthz").has_value());
}

TEST_F(HttpTest, AddressInUseFailsTheStart) {
  int port = PortOf(server().http_address());
  TempDir other;
  absl::StatusOr<std::unique_ptr<ServerProcess>> second =
      ServerProcess::Start(other.path() + "/data", {"--http-address", "127.0.0.1:" + std::to_string(port)});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("exited (status 1)"));
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("cannot listen"));
}

}  // namespace
}  // namespace stepflow::itest
