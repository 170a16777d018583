// The token file, the role table and the message helpers of engine/api (issue 9, sections 4 and 5).
#include "engine/api/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "engine/api/audit.h"
#include "engine/api/error_mapping.h"
#include "engine/api/service_util.h"

namespace stepflow::api {
namespace {

using ::testing::HasSubstr;

std::string Entry(const std::string& name, const std::string& secret, const std::string& role,
                  const std::string& queues = "") {
  return absl::StrCat(R"({"name":")", name, R"(","sha256":")", Sha256Hex(secret), R"(","role":")", role, "\"",
                      queues.empty() ? "" : absl::StrCat(R"(,"queues":)", queues), "}");
}

std::string File(const std::vector<std::string>& entries) {
  std::string joined;
  for (const std::string& e : entries) {
    absl::StrAppend(&joined, joined.empty() ? "" : ",", e);
  }
  return absl::StrCat(R"({"tokens":[)", joined, "]}");
}

TEST(AuthTest, Sha256OfAKnownText) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuthTest, TokenFileErrorsNameTheEntry) {
  EXPECT_THAT(TokenTable::Parse("{", "t.json").status().message(), HasSubstr("t.json: invalid JSON"));
  EXPECT_THAT(TokenTable::Parse(R"({"tokens":[{"name":"a","sha256":"xyz","role":"admin"}]})", "t.json")
                  .status()
                  .message(),
              HasSubstr("t.json: tokens[0]: sha256 must be 64 lowercase hex digits"));
  EXPECT_THAT(TokenTable::Parse(File({Entry("a", "s", "root")}), "t").status().message(),
              HasSubstr("role must be reader, operator, worker or admin, not 'root'"));
  EXPECT_THAT(TokenTable::Parse(File({Entry("w", "s", "worker")}), "t").status().message(),
              HasSubstr("a worker token needs its queues"));
  EXPECT_THAT(TokenTable::Parse(File({Entry("a", "s", "reader"), Entry("a", "t", "reader")}), "t").status().message(),
              HasSubstr("duplicate"));
  EXPECT_TRUE(TokenTable::Parse(File({}), "t").ok());
}

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A file of this test's own: ctest runs the tests of this suite in parallel processes, and one's write
    // of a shared file truncated it while another read it.
    path_ = absl::StrCat(::testing::TempDir(), "/stepflow_tokens_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_", ::getpid(), ".json");
    std::ofstream(path_) << File({Entry("r", "rs", "reader"), Entry("o", "os", "operator"),
                                  Entry("w", "ws", "worker", R"(["q1"])"), Entry("a", "as", "admin")});
    auto a = Authorizer::FromFile(path_);
    ASSERT_TRUE(a.ok()) << a.status();
    authorizer_ = std::move(*a);
  }
  Admission As(const std::string& secret, Rpc rpc) {
    Caller c;
    c.bearer = secret;
    return authorizer_->Admit(c, rpc);
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
  std::unique_ptr<Authorizer> authorizer_;
};

TEST_F(AuthorizerTest, RolesFollowTheTable) {
  EXPECT_TRUE(As("rs", Rpc::kDescribeExecution).status.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(As("rs", Rpc::kStartExecution).status));
  EXPECT_TRUE(As("os", Rpc::kStartExecution).status.ok());
  EXPECT_TRUE(As("os", Rpc::kListExecutions).status.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(As("os", Rpc::kCreateStateMachine).status));
  EXPECT_TRUE(absl::IsPermissionDenied(As("os", Rpc::kPollTask).status));
  EXPECT_TRUE(As("ws", Rpc::kCompleteTask).status.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(As("ws", Rpc::kDescribeExecution).status));
  EXPECT_TRUE(As("as", Rpc::kCreateStateMachine).status.ok());
  EXPECT_TRUE(As("as", Rpc::kPollTask).status.ok());
  Admission denied = As("rs", Rpc::kDeleteStateMachine);
  EXPECT_EQ(denied.who, "r");
  EXPECT_THAT(denied.status.message(), HasSubstr("AccessDeniedException: token 'r' (role reader) may not call "
                                                 "/stepflow.v1.StateMachines/Delete"));
  EXPECT_THAT(As("nope", Rpc::kDescribeExecution).status.message(), HasSubstr("UnrecognizedClientException"));
  EXPECT_TRUE(absl::IsUnauthenticated(authorizer_->Admit(Caller(), Rpc::kDescribeExecution).status));
}

TEST_F(AuthorizerTest, WorkersPollTheirQueuesOnly) {
  Admission w = As("ws", Rpc::kPollTask);
  EXPECT_TRUE(authorizer_->AdmitQueue(w, "q1").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(authorizer_->AdmitQueue(w, "q2")));
  EXPECT_TRUE(authorizer_->AdmitQueue(As("as", Rpc::kPollTask), "q2").ok());
}

TEST_F(AuthorizerTest, ReloadKeepsTheOldTokensWhenTheFileIsBroken) {
  std::ofstream(path_, std::ios::trunc) << "{broken";
  EXPECT_FALSE(authorizer_->Reload().ok());
  EXPECT_TRUE(As("rs", Rpc::kDescribeExecution).status.ok());
  std::ofstream(path_, std::ios::trunc) << File({Entry("n", "ns", "reader")});
  EXPECT_TRUE(authorizer_->Reload().ok());
  EXPECT_TRUE(absl::IsUnauthenticated(As("rs", Rpc::kDescribeExecution).status));
  EXPECT_TRUE(As("ns", Rpc::kDescribeExecution).status.ok());
}

TEST(AuthTest, WithoutATokenFileEverythingIsAllowed) {
  Authorizer open;
  EXPECT_TRUE(open.Admit(Caller(), Rpc::kDeleteStateMachine).status.ok());
  EXPECT_EQ(open.Admit(Caller(), Rpc::kDeleteStateMachine).who, "anonymous");
}

TEST(AuthTest, EveryMethodHasAPolicy) {
  EXPECT_EQ(PolicyOfMethod("/stepflow.v1.Tasks/Poll")->rpc, Rpc::kPollTask);
  EXPECT_EQ(PolicyOfMethod("/grpc.health.v1.Health/Check"), nullptr);
}

TEST(MessageLimitsTest, TruncateForMessage) {
  EXPECT_EQ(TruncateForMessage("short"), "short");
  std::string big(100000, 'a');
  std::string cut = TruncateForMessage(big);
  EXPECT_EQ(cut, std::string(256, 'a') + "...(100000 bytes)");
  EXPECT_EQ(TruncateForMessage("\xe2\x82\xac\xe2\x82\xac", 4), "\xe2\x82\xac...(6 bytes)");  // never half a char
  EXPECT_EQ(TruncateForMessage("a\xff" "b"), "a?b");
  grpc::Status s = ToGrpcStatus(absl::NotFoundError("ExecutionDoesNotExist: " + big), nullptr);
  EXPECT_LE(s.error_message().size(), kMaxErrorMessageBytes + 32);
  EXPECT_EQ(ErrorNamePrefix(s.error_message()), "ExecutionDoesNotExist");
}

TEST(MessageLimitsTest, TextAndByteLimits) {
  EXPECT_TRUE(CheckTextLimit(std::string(256, 'e'), "error", kMaxErrorNameChars).ok());
  EXPECT_THAT(CheckTextLimit(std::string(257, 'e'), "error", kMaxErrorNameChars).message(),
              HasSubstr("ValidationException: error is 257 characters long; the limit is 256"));
  EXPECT_TRUE(CheckTextLimit("\xe2\x82\xac", "error", 1).ok());
  EXPECT_THAT(CheckTextLimit("a\xc3", "error", 10).message(), HasSubstr("not valid UTF-8"));
  EXPECT_THAT(CheckByteLimit(std::string(kMaxCauseBytes + 1, 'c'), "cause", kMaxCauseBytes).message(),
              HasSubstr("cause is 32769 bytes long; the limit is 32768"));
}

TEST(MessageLimitsTest, PermissionCodesHaveNames) {
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kPermissionDenied), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kUnauthenticated), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ErrorName(absl::PermissionDeniedError("x")), "AccessDeniedException");
}

TEST(AuditTest, LineHasWhoWhatWhenAndResult) {
  AuditRecord r{"ci", "/stepflow.v1.Executions/Start", "orders", "PERMISSION_DENIED", "AccessDeniedException"};
  EXPECT_EQ(FormatAuditLine(0, r),
            R"({"time":"1970-01-01T00:00:00.000Z","who":"ci","rpc":"/stepflow.v1.Executions/Start",)"
            R"("resource":"orders","result":"PERMISSION_DENIED","error":"AccessDeniedException"})");
  // The time to the millisecond (twice in one second: each thread keeps the second's text), no error when OK,
  // escapes, and bytes that are not UTF-8.
  AuditRecord ok{"CN=\"a\\b\"\n", "GET /metrics", "caf\xc3\xa9", "OK", ""};
  EXPECT_EQ(FormatAuditLine(1'700'000'000'123, ok),
            R"({"time":"2023-11-14T22:13:20.123Z","who":"CN=\"a\\b\"\n","rpc":"GET /metrics",)"
            "\"resource\":\"caf\xc3\xa9\",\"result\":\"OK\"}");
  EXPECT_THAT(FormatAuditLine(1'700'000'000'007, ok), ::testing::StartsWith(R"({"time":"2023-11-14T22:13:20.007Z")"));
  EXPECT_THAT(FormatAuditLine(1'700'000'001'999, ok), ::testing::StartsWith(R"({"time":"2023-11-14T22:13:21.999Z")"));
  EXPECT_THAT(FormatAuditLine(-1, ok), ::testing::StartsWith(R"({"time":"1969-12-31T23:59:59.999Z")"));
  AuditRecord bad{"x\xff", "r", "", "OK", ""};
  EXPECT_EQ(FormatAuditLine(0, bad),
            "{\"time\":\"1970-01-01T00:00:00.000Z\",\"who\":\"x\xef\xbf\xbd\",\"rpc\":\"r\",\"resource\":\"\","
            "\"result\":\"OK\"}");
}

}  // namespace
}  // namespace stepflow::api
