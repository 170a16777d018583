// Who may do what (issue 9, section 5), on the real binary: every stepflow.v1 call for every role (allowed,
// or refused with PERMISSION_DENIED and AccessDeniedException), absent and unknown tokens
// (UNAUTHENTICATED, UnrecognizedClientException), a worker limited to its queues, the token file reloaded
// on SIGHUP, the audit line of an accepted and of a refused mutating call (and no other trace of the
// refused one), /metrics behind a reader token while /healthz stays open, and the refusal to listen on a
// non-loopback address without TLS and tokens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <functional>

#include "tests/integration/security_fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPass[] = R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})";

// One call of the API, made by `c`; only its status matters here.
struct RpcCase {
  const char* name;
  const char* least;  // reader, operator, worker (Tasks calls), admin
  std::function<absl::Status(client::Client& c, const std::string& arn)> call;
};

std::vector<RpcCase> AllRpcs() {
  auto status = [](const auto& r) { return r.status(); };
  return {
      {"StateMachines/Create", "admin", [=](client::Client& c, const std::string&) {
         return status(c.CreateStateMachine("other", kPass)); }},
      {"StateMachines/Update", "admin", [=](client::Client& c, const std::string&) {
         return status(c.UpdateStateMachine("sm", kPass)); }},
      {"StateMachines/Describe", "reader", [=](client::Client& c, const std::string&) {
         return status(c.DescribeStateMachine("sm")); }},
      {"StateMachines/List", "reader", [=](client::Client& c, const std::string&) {
         return status(c.ListStateMachines(0, "")); }},
      {"StateMachines/Delete", "admin", [=](client::Client& c, const std::string&) {
         return c.DeleteStateMachine("no-such-machine"); }},
      {"StateMachines/Validate", "reader", [=](client::Client& c, const std::string&) {
         return status(c.ValidateDefinition(kPass)); }},
      {"Executions/Start", "operator", [=](client::Client& c, const std::string&) {
         return status(c.StartExecution("sm", "{}")); }},
      {"Executions/StartSync", "operator", [=](client::Client& c, const std::string&) {
         return status(c.StartSyncExecution("sm", "{}", "", 10s)); }},
      {"Executions/Describe", "reader", [=](client::Client& c, const std::string& arn) {
         return status(c.DescribeExecution(arn)); }},
      {"Executions/GetHistory", "reader", [=](client::Client& c, const std::string& arn) {
         return status(c.GetExecutionHistory(arn)); }},
      {"Executions/WatchHistory", "reader", [=](client::Client& c, const std::string& arn) {
         return c.WatchExecutionHistory(arn, 0, [](const v1::HistoryEvent&) { return true; }); }},
      {"Executions/List", "reader", [=](client::Client& c, const std::string&) {
         return status(c.ListExecutions(v1::ListExecutionsRequest())); }},
      {"Executions/Stop", "operator", [=](client::Client& c, const std::string& arn) {
         return status(c.StopExecution(arn)); }},
      {"Executions/DescribeStateMachineForExecution", "reader", [=](client::Client& c, const std::string& arn) {
         return status(c.DescribeStateMachineForExecution(arn)); }},
      {"Executions/Redrive", "operator", [=](client::Client& c, const std::string& arn) {
         return status(c.RedriveExecution(arn)); }},
      {"Tasks/Poll", "worker", [=](client::Client& c, const std::string&) {
         return status(c.PollTask("q1", "w", 1s)); }},
      {"Tasks/Complete", "worker", [=](client::Client& c, const std::string&) {
         return c.CompleteTask("no-such-token", "{}"); }},
      {"Tasks/Fail", "worker", [=](client::Client& c, const std::string&) {
         return c.FailTask("no-such-token", "E", "c"); }},
      {"Tasks/Heartbeat", "worker", [=](client::Client& c, const std::string&) {
         return status(c.HeartbeatTask("no-such-token")); }},
      {"Tasks/PollBatch", "worker", [=](client::Client& c, const std::string&) {
         return status(c.PollTasks("q1", "w", 4, 1s)); }},
      {"Tasks/ReportBatch", "worker", [=](client::Client& c, const std::string&) {
         v1::ReportTaskBatchRequest r;
         r.add_reports()->mutable_complete()->set_task_token("no-such-token");
         r.add_reports()->mutable_heartbeat()->set_task_token("no-such-token");
         return status(c.ReportTasks(r)); }},
      {"DeadLetters/List", "operator", [=](client::Client& c, const std::string&) {
         return status(c.ListDeadLetters(v1::ListDeadLettersRequest())); }},
      {"DeadLetters/Get", "operator", [=](client::Client& c, const std::string&) {
         return status(c.GetDeadLetter("no-such-id")); }},
      {"DeadLetters/Redrive", "operator", [=](client::Client& c, const std::string&) {
         v1::RedriveDeadLettersRequest r;
         r.set_id("no-such-id");
         return status(c.RedriveDeadLetters(r)); }},
      {"DeadLetters/Discard", "operator", [=](client::Client& c, const std::string&) {
         v1::DiscardDeadLettersRequest r;
         r.set_id("no-such-id");
         return status(c.DiscardDeadLetters(r)); }},
  };
}

bool Allowed(const std::string& role, const std::string& least) {
  if (role == "admin") {
    return true;
  }
  if (least == "worker" || role == "worker") {
    return role == least;
  }
  if (least == "admin") {
    return false;
  }
  return least == "reader" || role == "operator";
}

bool Refused(const absl::Status& s) {
  return absl::IsPermissionDenied(s) || absl::IsUnauthenticated(s);
}

class SecurityTest : public SecurityFixture {
 protected:
  // A server with the token file, a state machine "sm" and one finished execution (its ARN).
  std::string StartWithTokens() {
    StartServer({"--token-file", WriteTokenFile()});
    std::unique_ptr<client::Client> admin = ConnectAs("admin");
    EXPECT_TRUE(admin->CreateStateMachine("sm", kPass).ok());
    absl::StatusOr<v1::Execution> e = admin->StartSyncExecution("sm", "{}", "first", 10s);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? e->arn() : "";
  }
};

TEST_F(SecurityTest, EveryRoleIsAllowedOrRefusedOnEveryCall) {
  std::string arn = StartWithTokens();
  for (const std::string role : {"reader", "operator", "worker", "admin"}) {
    std::unique_ptr<client::Client> c = ConnectAs(role);
    ASSERT_NE(c, nullptr);
    for (const RpcCase& rpc : AllRpcs()) {
      absl::Status s = rpc.call(*c, arn);
      if (Allowed(role, rpc.least)) {
        EXPECT_FALSE(Refused(s)) << role << " must be allowed " << rpc.name << ": " << s;
      } else {
        EXPECT_TRUE(absl::IsPermissionDenied(s)) << role << " must be refused " << rpc.name << ": " << s;
        EXPECT_EQ(client::ErrorName(s), "AccessDeniedException") << s;
      }
    }
  }
}

TEST_F(SecurityTest, AbsentOrUnknownTokensAreUnauthenticated) {
  std::string arn = StartWithTokens();
  client::ClientOptions wrong;
  wrong.token = "not-a-token";
  for (const client::ClientOptions& options : {client::ClientOptions(), wrong}) {
    std::unique_ptr<client::Client> c = Connect(options);
    ASSERT_NE(c, nullptr);
    for (const RpcCase& rpc : AllRpcs()) {
      absl::Status s = rpc.call(*c, arn);
      EXPECT_TRUE(absl::IsUnauthenticated(s)) << rpc.name << " token '" << options.token << "': " << s;
      EXPECT_EQ(client::ErrorName(s), "UnrecognizedClientException") << s;
    }
  }
}

TEST_F(SecurityTest, AWorkerPollsOnlyItsQueues) {
  StartWithTokens();
  std::unique_ptr<client::Client> worker = ConnectAs("worker");
  EXPECT_TRUE(worker->PollTask("q1", "w", 1s).ok());
  absl::Status other = worker->PollTask("q2", "w", 1s).status();
  EXPECT_TRUE(absl::IsPermissionDenied(other)) << other;
  EXPECT_EQ(client::ErrorName(other), "AccessDeniedException");
  EXPECT_TRUE(worker->PollTasks("q1", "w", 4, 1s).ok());
  absl::Status other_batch = worker->PollTasks("q2", "w", 4, 1s).status();
  EXPECT_TRUE(absl::IsPermissionDenied(other_batch)) << other_batch;
  EXPECT_EQ(client::ErrorName(other_batch), "AccessDeniedException");
  // A report's poll is a poll: the same queues only, and the whole call is refused before any report.
  v1::ReportTaskBatchRequest report;
  report.add_reports()->mutable_heartbeat()->set_task_token("no-such-token");
  report.add_polls()->set_queue("q1");
  absl::StatusOr<v1::ReportTaskBatchResponse> own = worker->ReportTasks(report);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->results_size(), 1);
  report.add_polls()->set_queue("q2");
  absl::Status other_report = worker->ReportTasks(report).status();
  EXPECT_TRUE(absl::IsPermissionDenied(other_report)) << other_report;
  EXPECT_EQ(client::ErrorName(other_report), "AccessDeniedException");
  EXPECT_THAT(std::string(other_report.message()), HasSubstr("polls[1]"));
  std::unique_ptr<client::Client> admin = ConnectAs("admin");
  EXPECT_TRUE(admin->PollTask("q2", "admin", 1s).ok());
  EXPECT_TRUE(admin->PollTasks("q2", "admin", 4, 1s).ok());
}

TEST_F(SecurityTest, ARefusedCallLeavesNoTraceButItsAuditLine) {
  StartWithTokens();
  std::unique_ptr<client::Client> op = ConnectAs("operator");
  absl::Status refused = op->CreateStateMachine("forbidden-machine", kPass).status();
  ASSERT_TRUE(absl::IsPermissionDenied(refused)) << refused;
  absl::StatusOr<v1::Execution> accepted = op->StartExecution("sm", R"({"secret-input":1})", "audited-run");
  ASSERT_TRUE(accepted.ok()) << accepted.status();

  std::unique_ptr<client::Client> admin = ConnectAs("admin");
  absl::StatusOr<std::vector<v1::StateMachine>> machines = admin->ListAllStateMachines();
  ASSERT_TRUE(machines.ok());
  EXPECT_EQ(machines->size(), 1u) << "the refused Create must create nothing";
  EXPECT_THAT(server_->log(), Not(HasSubstr("forbidden-machine")));

  std::string audit = AuditLog();
  EXPECT_THAT(audit, HasSubstr(R"("who":"operator-token","rpc":"/stepflow.v1.StateMachines/Create",)"
                               R"("resource":"forbidden-machine","result":"PERMISSION_DENIED",)"
                               R"("error":"AccessDeniedException")"));
  EXPECT_THAT(audit, HasSubstr(R"("who":"operator-token","rpc":"/stepflow.v1.Executions/Start",)"
                               R"("resource":"sm","result":"OK")"));
  EXPECT_THAT(audit, Not(HasSubstr("secret-input"))) << "the audit log never holds inputs";
  EXPECT_THAT(audit, Not(HasSubstr("secret-operator-1"))) << "nor tokens";
  // Reads are not audited.
  EXPECT_THAT(audit, Not(HasSubstr("StateMachines/List")));
}

TEST_F(SecurityTest, SighupReloadsTheTokenFile) {
  StartWithTokens();
  client::ClientOptions fresh;
  fresh.token = "secret-new-reader";
  std::unique_ptr<client::Client> c = Connect(fresh);
  EXPECT_TRUE(absl::IsUnauthenticated(c->ListStateMachines(0, "").status()));

  // The admin token goes away, a new reader token comes.
  std::string tokens = ReadWholeFile(Path("tokens.json"));
  std::string admin_entry_start = "{\"name\":\"admin-token\"";
  std::size_t at = tokens.find(admin_entry_start);
  ASSERT_NE(at, std::string::npos);
  tokens.replace(at, admin_entry_start.size(), "{\"name\":\"admin-gone\"");
  tokens.replace(tokens.find(Sha256HexForTest(TestTokens().at("admin"))), 64, std::string(64, '0'));
  tokens.replace(tokens.rfind("]"), 1,
                 absl::StrCat(",{\"name\":\"new-reader\",\"sha256\":\"", Sha256HexForTest("secret-new-reader"),
                              "\",\"role\":\"reader\"}]"));
  WriteWholeFile(Path("tokens.json"), tokens);
  ASSERT_EQ(kill(server_->pid(), SIGHUP), 0);
  auto end = std::chrono::steady_clock::now() + 10s;
  while (server_->log().find("token file reloaded") == std::string::npos && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_THAT(server_->log(), HasSubstr("token file reloaded tokens=5"));
  EXPECT_TRUE(c->ListStateMachines(0, "").ok());
  std::unique_ptr<client::Client> old_admin = ConnectAs("admin");
  EXPECT_TRUE(absl::IsUnauthenticated(old_admin->ListStateMachines(0, "").status()));

  // A broken file is refused on SIGHUP and the tokens in force stay.
  WriteWholeFile(Path("tokens.json"), "{not json");
  ASSERT_EQ(kill(server_->pid(), SIGHUP), 0);
  end = std::chrono::steady_clock::now() + 10s;
  while (server_->log().find("was not reloaded") == std::string::npos && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_THAT(server_->log(), HasSubstr("was not reloaded"));
  EXPECT_TRUE(c->ListStateMachines(0, "").ok());
}

TEST_F(SecurityTest, MetricsNeedAReaderTokenAndHealthzStaysOpen) {
  StartWithTokens();
  std::string http = server_->http_address();
  httplib::Client cli(http.substr(0, http.rfind(':')), std::stoi(http.substr(http.rfind(':') + 1)));
  auto healthz = cli.Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  auto anonymous = cli.Get("/metrics");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_THAT(anonymous->body, HasSubstr("UnrecognizedClientException"));
  auto worker = cli.Get("/metrics", {{"Authorization", "Bearer " + TestTokens().at("worker")}});
  ASSERT_TRUE(worker);
  EXPECT_EQ(worker->status, 403);
  EXPECT_THAT(worker->body, HasSubstr("AccessDeniedException"));
  auto reader = cli.Get("/metrics", {{"Authorization", "Bearer " + TestTokens().at("reader")}});
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->status, 200);
  EXPECT_THAT(reader->body, HasSubstr("stepflow_up 1"));
}

TEST_F(SecurityTest, WithoutATokenFileEveryCallIsAllowedAsBefore) {
  StartServer({});
  std::unique_ptr<client::Client> c = Connect();
  EXPECT_TRUE(c->CreateStateMachine("sm", kPass).ok());
  EXPECT_TRUE(c->StartSyncExecution("sm", "{}", "", 10s).ok());
  EXPECT_THAT(AuditLog(), HasSubstr(R"("who":"anonymous","rpc":"/stepflow.v1.StateMachines/Create")"));
}

TEST_F(SecurityTest, ANonLoopbackAddressNeedsTlsAndTokensOrInsecureListen) {
  CliResult refused = RunCli({"server", "--data-dir", Path("data"), "--grpc-address", "0.0.0.0:0",
                              "--http-address", "127.0.0.1:0"},
                             20s);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("refusing to listen on 0.0.0.0:0"));
  EXPECT_THAT(refused.err, HasSubstr("--insecure-listen"));

  absl::StatusOr<std::unique_ptr<ServerProcess>> s = ServerProcess::Start(
      Path("data2"), {"--grpc-address", "0.0.0.0:0", "--insecure-listen"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT((*s)->log(), HasSubstr("INSECURE LISTEN"));
  EXPECT_EQ((*s)->Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace stepflow::itest
