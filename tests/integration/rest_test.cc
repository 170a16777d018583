// The REST API (/api/v1) of the real server binary, over real HTTP: every route, its errors, paging,
// percent-encoded ARNs, Server-Sent Events, tokens and roles, and hostile clients.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/fixture.h"
#include "tests/integration/rest_fixture.h"
#include "tests/integration/security_fixture.h"

namespace stepflow::itest {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Sends `request` on a new connection to 127.0.0.1:`port` and reads the answer until the server closes (at most
// 10 s); "" when it cannot connect.
std::string RawExchange(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  (void)!send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char chunk[4096];
  for (;;) {
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      break;
    }
    answer.append(chunk, static_cast<std::size_t>(n));
  }
  close(fd);
  return answer;
}


TEST_F(RestTest, StateMachinesCrudWithEmbeddedDefinitionsAndEncodedArns) {
  json::value created = CreateSm("orders", kPassChain);
  std::string arn(created.at("arn").as_string());
  EXPECT_EQ(created.at("definition").at("StartAt").as_string(), "One") << "the definition is a JSON value";
  EXPECT_EQ(created.at("version").as_string(), "1");

  auto by_arn = http_->Get("/api/v1/state-machines/" + Encode(arn));
  ASSERT_TRUE(by_arn);
  EXPECT_EQ(by_arn->status, 200) << by_arn->body;
  EXPECT_EQ(Body(by_arn).at("name").as_string(), "orders");
  auto by_name = http_->Get("/api/v1/state-machines/orders");
  EXPECT_EQ(Body(by_name).at("arn").as_string(), arn);
  auto by_raw_arn = http_->Get("/api/v1/state-machines/" + arn);
  EXPECT_EQ(Body(by_raw_arn).at("arn").as_string(), arn) << "a raw-colon ARN works where no :op follows";

  auto updated = http_->Put("/api/v1/state-machines/" + Encode(arn), std::string(R"({"definition":)") + kFails + "}",
                            kJson);
  EXPECT_EQ(Body(updated).at("version").as_string(), "2");

  CreateSm("second", kPassChain);
  auto page1 = http_->Get("/api/v1/state-machines?pageSize=1");
  json::value p1 = Body(page1);
  ASSERT_EQ(p1.at("stateMachines").as_array().size(), 1u);
  EXPECT_TRUE(p1.at("stateMachines").at(0).at("definition").is_null()) << "lists leave definitions out";
  std::string token(p1.at("nextPageToken").as_string());
  ASSERT_FALSE(token.empty());
  json::value p2 = Body(http_->Get("/api/v1/state-machines?pageSize=1&nextToken=" + Encode(token)));
  ASSERT_EQ(p2.at("stateMachines").as_array().size(), 1u);
  EXPECT_NE(p2.at("stateMachines").at(0).at("name"), p1.at("stateMachines").at(0).at("name"));

  auto valid = http_->Post("/api/v1/state-machines:validate", std::string(R"({"definition":)") + kTwoProblems + "}",
                           kJson);
  json::value v = Body(valid);
  EXPECT_FALSE(v.at("valid").as_bool());
  EXPECT_EQ(v.at("diagnostics").as_array().size(), 2u);

  auto deleted = http_->Delete("/api/v1/state-machines/" + Encode(arn));
  EXPECT_EQ(deleted->status, 200) << deleted->body;
  auto gone = http_->Get("/api/v1/state-machines/" + Encode(arn));
  EXPECT_EQ(gone->status, 404);
  EXPECT_EQ(ErrorOf(gone), "StateMachineDoesNotExist");
}

TEST_F(RestTest, ExecutionsStartSyncDescribeListHistoryAndTheirDefinition) {
  CreateSm("chain", kPassChain);
  auto sync = http_->Post("/api/v1/executions:start-sync",
                          R"({"stateMachine":"chain","name":"s1","input":{"start":true}})", kJson);
  ASSERT_TRUE(sync);
  ASSERT_EQ(sync->status, 200) << sync->body;
  json::value done = Body(sync);
  EXPECT_EQ(done.at("status").as_string(), "SUCCEEDED");
  EXPECT_EQ(done.at("output").at("three").as_int64(), 3) << "the output is a JSON value";
  EXPECT_EQ(done.at("input").at("start").as_bool(), true);
  std::string arn(done.at("arn").as_string());

  json::value described = Body(http_->Get("/api/v1/executions/" + Encode(arn)));
  EXPECT_EQ(described.at("name").as_string(), "s1");

  for (int i = 0; i < 3; ++i) {
    StartExec("chain", "{}", absl::StrCat("e", i));
  }
  json::value first = Body(http_->Get("/api/v1/executions?stateMachine=chain&pageSize=2"));
  ASSERT_EQ(first.at("executions").as_array().size(), 2u);
  std::string token(first.at("nextPageToken").as_string());
  ASSERT_FALSE(token.empty());
  json::value rest = Body(http_->Get("/api/v1/executions?stateMachine=chain&pageSize=2&nextToken=" + Encode(token)));
  EXPECT_EQ(rest.at("executions").as_array().size(), 2u);
  auto forged = http_->Get("/api/v1/executions?stateMachine=other&nextToken=" + Encode(token));
  EXPECT_EQ(forged->status, 400) << "a token is bound to its filters";

  json::value counts = Body(http_->Get("/api/v1/executions:counts?stateMachine=chain"));
  EXPECT_EQ(counts.at("counts").at("SUCCEEDED").to_number<int>() + counts.at("counts").at("RUNNING").to_number<int>(),
            4)
      << json::serialize(counts);
  EXPECT_EQ(counts.at("counts").at("FAILED").to_number<int>(), 0);
  EXPECT_TRUE(counts.at("atLeast").as_array().empty());
  EXPECT_TRUE(counts.at("exact").as_bool()) << "the engine's counts, not a walk of the list";
  // The name prefix filters the list and the counts (then walked from the list: not exact).
  json::value named = Body(http_->Get("/api/v1/executions?stateMachine=chain&namePrefix=e"));
  ASSERT_EQ(named.at("executions").as_array().size(), 3u) << json::serialize(named);
  for (const json::value& e : named.at("executions").as_array()) {
    EXPECT_EQ(e.at("name").as_string().subview().substr(0, 1), "e");
  }
  json::value named_counts = Body(http_->Get("/api/v1/executions:counts?stateMachine=chain&namePrefix=e"));
  EXPECT_FALSE(named_counts.at("exact").as_bool());
  EXPECT_EQ(named_counts.at("counts").at("SUCCEEDED").to_number<int>() +
                named_counts.at("counts").at("RUNNING").to_number<int>(),
            3);
  EXPECT_EQ(http_->Get("/api/v1/executions?namePrefix=" + std::string(81, 'x'))->status, 400);
  json::value succeeded = Body(http_->Get("/api/v1/executions:counts?stateMachine=chain&status=SUCCEEDED"));
  EXPECT_EQ(succeeded.at("counts").as_object().size(), 1u);
  EXPECT_EQ(http_->Get("/api/v1/executions:counts?pageSize=2")->status, 400);

  json::value history = Body(http_->Get("/api/v1/executions/" + Encode(arn) + "/history?reverse=true&pageSize=3"));
  ASSERT_EQ(history.at("events").as_array().size(), 3u);
  EXPECT_EQ(history.at("events").at(0).at("type").as_string(), "ExecutionSucceeded");
  EXPECT_TRUE(history.at("events").at(0).at("details").is_object()) << "details are a JSON value";
  EXPECT_FALSE(history.at("nextPageToken").as_string().empty());

  json::value sm = Body(http_->Get("/api/v1/executions/" + Encode(arn) + "/state-machine"));
  EXPECT_EQ(sm.at("definition").at("StartAt").as_string(), "One");
}

TEST_F(RestTest, SummaryColoursEachStateFromTheHistory) {
  CreateSm("mapper", R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
      "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Inner",
      "States":{"Inner":{"Type":"Pass","End":true}}},"Next":"After"},
      "After":{"Type":"Pass","End":true}}})");
  auto sync = http_->Post("/api/v1/executions:start-sync", R"({"stateMachine":"mapper","input":{"items":[1,2,3]}})",
                          kJson);
  ASSERT_EQ(sync->status, 200) << sync->body;
  std::string arn(Body(sync).at("arn").as_string());
  json::value summary = Body(http_->Get("/api/v1/executions/" + Encode(arn) + "/summary"));
  EXPECT_EQ(summary.at("status").as_string(), "SUCCEEDED") << json::serialize(summary);
  EXPECT_FALSE(summary.at("truncated").as_bool());
  const json::value& map = summary.at("states").at("M");
  EXPECT_EQ(map.at("status").as_string(), "SUCCEEDED");
  EXPECT_EQ(map.at("entered").to_number<int>(), 1);
  EXPECT_EQ(map.at("mapIterations").at("started").to_number<int>(), 3);
  EXPECT_EQ(map.at("lastInput").at("items").as_array().size(), 3u) << "the last input is a JSON value";
  EXPECT_EQ(summary.at("states").at("Inner").at("entered").to_number<int>(), 3);
  EXPECT_EQ(summary.at("states").at("Inner").at("exited").to_number<int>(), 3);

  CreateSm("pausing", WaitThenPass(600));
  json::value running = StartExec("pausing", "{}");
  std::string running_arn(running.at("arn").as_string());
  json::value partial;
  auto until = std::chrono::steady_clock::now() + 10s;
  do {
    partial = Body(http_->Get("/api/v1/executions/" + Encode(running_arn) + "/summary"));
  } while (!partial.at("states").as_object().contains("Pause") && std::chrono::steady_clock::now() < until);
  EXPECT_EQ(partial.at("states").at("Pause").at("status").as_string(), "RUNNING") << json::serialize(partial);
  EXPECT_FALSE(partial.at("states").as_object().contains("Done"));
}

TEST_F(RestTest, StopAndRedrive) {
  CreateSm("waits", WaitThenPass(600));
  json::value e = StartExec("waits", R"({"x":1})");
  std::string arn(e.at("arn").as_string());
  auto stopped = http_->Post("/api/v1/executions/" + Encode(arn) + ":stop",
                             R"({"error":"Ops.Stop","cause":"by REST"})", kJson);
  ASSERT_EQ(stopped->status, 200) << stopped->body;
  EXPECT_EQ(Body(stopped).at("status").as_string(), "ABORTED");
  auto again = http_->Post("/api/v1/executions/" + Encode(arn) + ":stop", "", kJson);
  EXPECT_EQ(again->status, 409) << again->body;
  auto redriven = http_->Post("/api/v1/executions/" + Encode(arn) + ":redrive", "", kJson);
  ASSERT_TRUE(redriven);
  EXPECT_EQ(Body(redriven).at("status").as_string(), "RUNNING") << redriven->body;
  EXPECT_EQ(Body(redriven).at("redriveCount").as_int64(), 1);
}

TEST_F(RestTest, ErrorsAreNamedWithTheirHttpStatus) {
  CreateSm("chain", kPassChain);
  auto unknown_route = http_->Get("/api/v1/nope");
  EXPECT_EQ(unknown_route->status, 404);
  EXPECT_EQ(ErrorOf(unknown_route), "ResourceNotFound");
  auto unknown_exec = http_->Get("/api/v1/executions/" + Encode("arn:aws:states:us-east-1:0:execution:chain:x"));
  EXPECT_EQ(unknown_exec->status, 404);
  EXPECT_EQ(ErrorOf(unknown_exec), "ExecutionDoesNotExist");
  auto not_json = http_->Post("/api/v1/executions", R"({"stateMachine":"chain","input":{"a":})", kJson);
  EXPECT_EQ(not_json->status, 400);
  EXPECT_EQ(ErrorOf(not_json), "SerializationException");
  auto infinite = http_->Post("/api/v1/executions", R"({"stateMachine":"chain","input":{"a":1e400}})", kJson);
  EXPECT_EQ(infinite->status, 400);
  EXPECT_EQ(ErrorOf(infinite), "ValidationException");
  EXPECT_THAT(infinite->body, HasSubstr("/input/a"));
  auto bad_param = http_->Get("/api/v1/executions?colour=red");
  EXPECT_EQ(bad_param->status, 400);
  EXPECT_THAT(bad_param->body, HasSubstr("unknown query parameter colour"));
  auto bad_status = http_->Get("/api/v1/executions?status=SLEEPING");
  EXPECT_EQ(bad_status->status, 400);
  auto bad_escape = http_->Get("/api/v1/executions/arn%3");
  EXPECT_EQ(bad_escape->status, 400);
  auto wrong_method = http_->Delete("/api/v1/executions");
  EXPECT_EQ(wrong_method->status, 400);
  auto form = http_->Post("/api/v1/executions", "stateMachine=chain", "application/x-www-form-urlencoded");
  EXPECT_EQ(form->status, 400);
  EXPECT_EQ(ErrorOf(form), "UnsupportedMediaType");
  auto cross = http_->Post("/api/v1/executions", httplib::Headers{{"Origin", "http://evil.example"}},
                           R"({"stateMachine":"chain"})", kJson);
  EXPECT_EQ(cross->status, 403);
  EXPECT_EQ(ErrorOf(cross), "AccessDeniedException");
  auto missing = http_->Post("/api/v1/executions", "{}", kJson);
  EXPECT_EQ(missing->status, 400);
  EXPECT_THAT(missing->body, HasSubstr("state_machine is required"));
}

TEST_F(RestTest, FollowStreamsTheHistoryToTheEndAndResumesAfterLastEventId) {
  CreateSm("pause", WaitThenPass(1));
  json::value e = StartExec("pause", "{}");
  std::string path = "/api/v1/executions/" + Encode(std::string(e.at("arn").as_string())) + "/history:follow";
  std::string stream;
  auto r = http_->Get(path, [&](const char* data, std::size_t n) {
    stream.append(data, n);
    return true;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  EXPECT_THAT(stream, HasSubstr("id: 1\ndata: {"));
  EXPECT_THAT(stream, HasSubstr("\"type\":\"ExecutionSucceeded\""));
  EXPECT_THAT(stream, HasSubstr("event: end\n"));

  std::string resumed;
  auto again = http_->Get(path, httplib::Headers{{"Last-Event-ID", "2"}}, [&](const char* data, std::size_t n) {
    resumed.append(data, n);
    return true;
  });
  ASSERT_TRUE(again);
  EXPECT_EQ(resumed.find("id: 1\n"), std::string::npos);
  EXPECT_EQ(resumed.find("id: 2\n"), std::string::npos);
  EXPECT_EQ(resumed.rfind("id: 3\n", 0), 0u) << resumed;
  EXPECT_THAT(resumed, HasSubstr("event: end\n"));

  auto unknown = http_->Get("/api/v1/executions/" + Encode("arn:aws:states:us-east-1:123456789012:execution:pause:nope") +
                            "/history:follow");
  EXPECT_EQ(unknown->status, 404) << unknown->body;
  EXPECT_EQ(ErrorOf(unknown), "ExecutionDoesNotExist");
}

// A follower of an execution that never ends does not hold off SIGTERM.
TEST_F(RestTest, ShutdownEndsAFollower) {
  CreateSm("long", WaitThenPass(600));
  json::value e = StartExec("long", "{}");
  std::string path = "/api/v1/executions/" + Encode(std::string(e.at("arn").as_string())) + "/history:follow";
  std::atomic<bool> got_first{false};
  std::thread follower([&, port = PortOf(server().http_address())] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    c.Get(path, [&](const char*, std::size_t) {
      got_first.store(true);
      return true;
    });
  });
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!got_first.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(got_first.load());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(StopServer(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  follower.join();
}

TEST_F(RestTest, HostileClients) {
  int port = PortOf(server().http_address());
  // An oversized body is refused with 413 before it is read; an oversized head with 431.
  std::string too_big = RawExchange(port, "POST /api/v1/executions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                          "application/json\r\nContent-Length: 9437184\r\n\r\n{");
  EXPECT_THAT(too_big, ::testing::StartsWith("HTTP/1.1 413 "));
  EXPECT_THAT(too_big, HasSubstr("larger than 8388608 bytes"));
  std::string big_head = RawExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                               std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_THAT(big_head, ::testing::StartsWith("HTTP/1.1 431 "));
  // A head that never ends is dropped at its deadline (5 s) without an answer.
  auto t_slow = std::chrono::steady_clock::now();
  EXPECT_EQ(RawExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n"), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t_slow, 9s);

  // 1,000 idle keep-alive connections hold no thread: /healthz and the API still answer at once.
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
    idle.push_back(fd);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto health = Http(server().http_address())->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto list = Http(server().http_address())->Get("/api/v1/state-machines");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  for (int fd : idle) {
    close(fd);
  }

  // Keep-alive: several requests on one connection.
  httplib::Client keep("127.0.0.1", port);
  keep.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    auto r = keep.Get("/api/v1/state-machines");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

// A task with no Retry that its worker fails becomes a dead letter; the REST routes list, get, redrive (with a
// patched input) and discard it.
TEST_F(RestTest, DeadLettersListGetRedriveAndDiscard) {
  CreateSm("charge", R"({"StartAt":"Charge","States":{"Charge":{"Type":"Task","Resource":"activity:cards",
      "End":true}}})");
  auto fail_one = [&](const std::string& name) {
    StartExec("charge", R"({"amount":5})", name);
    absl::StatusOr<v1::PollTaskResponse> task = client().PollTask("cards", "rest-test", 10s);
    ASSERT_TRUE(task.ok()) << task.status();
    ASSERT_FALSE(task->task_token().empty());
    ASSERT_TRUE(client().FailTask(task->task_token(), "Card.Declined", "no funds").ok());
  };
  fail_one("d1");
  fail_one("d2");
  json::value listed;
  auto until = std::chrono::steady_clock::now() + 10s;
  do {
    listed = Body(http_->Get("/api/v1/dead-letters?queue=cards&error=Card.Declined"));
  } while (listed.at("deadLetters").as_array().size() < 2 && std::chrono::steady_clock::now() < until);
  ASSERT_EQ(listed.at("deadLetters").as_array().size(), 2u) << json::serialize(listed);
  const json::value& first = listed.at("deadLetters").at(0);
  EXPECT_EQ(first.at("input").at("amount").as_int64(), 5) << "the payload is a JSON value";
  EXPECT_EQ(first.at("attempts").at(0).at("error").as_string(), "Card.Declined");
  std::string id(first.at("id").as_string());
  std::string other(listed.at("deadLetters").at(1).at("id").as_string());
  EXPECT_EQ(Body(http_->Get("/api/v1/dead-letters?queue=elsewhere")).at("deadLetters").as_array().size(), 0u);

  json::value got = Body(http_->Get("/api/v1/dead-letters/" + Encode(id)));
  EXPECT_EQ(got.at("queue").as_string(), "cards");
  auto missing = http_->Get("/api/v1/dead-letters/nope");
  EXPECT_EQ(missing->status, 404) << missing->body;

  auto both = http_->Post("/api/v1/dead-letters:redrive", R"({"id":"x","filter":{}})", kJson);
  EXPECT_EQ(both->status, 400);
  auto redriven = http_->Post("/api/v1/dead-letters:redrive",
                              absl::StrCat(R"({"id":")", id, R"(","input":{"amount":1}})"), kJson);
  ASSERT_EQ(redriven->status, 200) << redriven->body;
  json::value outcomes = Body(redriven);
  ASSERT_EQ(outcomes.at("outcomes").as_array().size(), 1u);
  EXPECT_EQ(outcomes.at("outcomes").at(0).at("error").as_string(), "");
  absl::StatusOr<v1::PollTaskResponse> again = client().PollTask("cards", "rest-test", 10s);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(again->input(), HasSubstr("\"amount\":1")) << "the patched input reached the worker";
  ASSERT_TRUE(client().CompleteTask(again->task_token(), "{}").ok());
  // The summary of the redriven execution: the state that failed before the redrive succeeded after it.
  const std::string summary_path = absl::StrCat(
      "/api/v1/executions/", Encode(std::string(outcomes.at("outcomes").at(0).at("executionArn").as_string())),
      "/summary");
  json::value summary;
  auto summary_until = std::chrono::steady_clock::now() + 10s;
  do {
    summary = Body(http_->Get(summary_path));
  } while (summary.at("status").as_string() == "RUNNING" && std::chrono::steady_clock::now() < summary_until);
  ASSERT_EQ(summary.at("status").as_string(), "SUCCEEDED") << json::serialize(summary);
  EXPECT_EQ(summary.at("states").at("Charge").at("status").as_string(), "SUCCEEDED") << json::serialize(summary);

  auto discarded = http_->Post("/api/v1/dead-letters:discard", absl::StrCat(R"({"id":")", other, R"("})"), kJson);
  ASSERT_EQ(discarded->status, 200) << discarded->body;
  EXPECT_EQ(http_->Get("/api/v1/dead-letters/" + Encode(other))->status, 404);
}

// At most 256 long calls at once; more are refused by name; a follower that closes its connection frees its
// place at once (not at the execution's next event).
TEST_F(RestTest, LongCallsAreBoundedAndAClosedFollowerFreesItsPlace) {
  CreateSm("long", WaitThenPass(600));
  json::value e = StartExec("long", "{}");
  const std::string request = "GET /api/v1/executions/" + Encode(std::string(e.at("arn").as_string())) +
                              "/history:follow HTTP/1.1\r\nHost: x\r\n\r\n";
  const int port = PortOf(server().http_address());
  auto open_follower = [&](std::string& answer) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
    (void)!send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char chunk[4096];
    while (answer.find("id: 1\n") == std::string::npos && answer.find("\r\n\r\n{") == std::string::npos) {
      ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        break;
      }
      answer.append(chunk, static_cast<std::size_t>(n));
    }
    return fd;
  };
  std::vector<int> followers;
  for (int i = 0; i < 256; ++i) {
    std::string answer;
    followers.push_back(open_follower(answer));
    ASSERT_THAT(answer, HasSubstr("id: 1\n")) << "follower " << i;
  }
  std::string refused;
  int extra = open_follower(refused);
  close(extra);
  EXPECT_THAT(refused, ::testing::StartsWith("HTTP/1.1 429 "));
  EXPECT_THAT(refused, HasSubstr("ThrottlingException"));

  for (int fd : followers) {
    close(fd);
  }
  std::string again;
  auto until = std::chrono::steady_clock::now() + 5s;
  do {
    again.clear();
    close(open_follower(again));
  } while (again.find("id: 1\n") == std::string::npos && std::chrono::steady_clock::now() < until);
  EXPECT_THAT(again, HasSubstr("id: 1\n")) << "the closed followers' places were freed";
}

class RestSecurityTest : public SecurityFixture {};

TEST_F(RestSecurityTest, RolesAreTheGrpcRolesAndTheAuditLineTheSame) {
  StartServer({"--token-file", WriteTokenFile()});
  auto http = Http(server_->http_address());
  auto bearer = [](const std::string& role) {
    return httplib::Headers{{"Authorization", "Bearer " + TestTokens().at(role)}};
  };
  auto anonymous = http->Get("/api/v1/state-machines");
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(ErrorOf(anonymous), "UnrecognizedClientException");
  auto reader_list = http->Get("/api/v1/state-machines", bearer("reader"));
  EXPECT_EQ(reader_list->status, 200);
  auto reader_create = http->Post("/api/v1/state-machines", bearer("reader"),
                                  std::string(R"({"name":"sm","definition":)") + kPassChain + "}", kJson);
  EXPECT_EQ(reader_create->status, 403);
  EXPECT_EQ(ErrorOf(reader_create), "AccessDeniedException");
  auto admin_create = http->Post("/api/v1/state-machines", bearer("admin"),
                                 std::string(R"({"name":"sm","definition":)") + kPassChain + "}", kJson);
  EXPECT_EQ(admin_create->status, 200) << admin_create->body;
  auto worker_start = http->Post("/api/v1/executions", bearer("worker"), R"({"stateMachine":"sm"})", kJson);
  EXPECT_EQ(worker_start->status, 403);
  auto operator_start = http->Post("/api/v1/executions", bearer("operator"), R"({"stateMachine":"sm"})", kJson);
  EXPECT_EQ(operator_start->status, 200) << operator_start->body;

  std::string audit = AuditLog();
  EXPECT_THAT(audit, HasSubstr(R"("who":"admin-token","rpc":"/stepflow.v1.StateMachines/Create","resource":"sm","result":"OK")"));
  EXPECT_THAT(audit, HasSubstr(R"("who":"reader-token","rpc":"/stepflow.v1.StateMachines/Create","resource":"sm","result":"PERMISSION_DENIED","error":"AccessDeniedException")"));
  EXPECT_THAT(audit, HasSubstr(R"("who":"operator-token","rpc":"/stepflow.v1.Executions/Start","resource":"sm","result":"OK")"));
  EXPECT_THAT(audit, HasSubstr(R"("who":"anonymous","rpc":"/stepflow.v1.StateMachines/List")"));
}

}  // namespace
}  // namespace stepflow::itest
