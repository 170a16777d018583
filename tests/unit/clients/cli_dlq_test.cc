// `stepflow dlq ...` and `stepflow exec redrive` against the fake DeadLetters and Executions services:
// output formats, filters, --all, exit statuses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>

#include "clients/cli/cli_util.h"
#include "clients/cli/remote.h"
#include "tests/unit/clients/fake_server.h"

namespace stepflow::cli {
namespace {

using ::testing::HasSubstr;

struct Result {
  int exit_code;
  std::string out;
  std::string err;
  boost::json::value Json() const { return boost::json::parse(out); }
};

v1::DeadLetter Entry(const std::string& id, const std::string& queue, const std::string& error,
                     const std::string& state = "Charge") {
  v1::DeadLetter d;
  d.set_id(id);
  d.set_queue(queue);
  d.set_execution_arn("arn:e:" + id);
  d.set_state_machine_arn("arn:sm");
  d.set_state_name(state);
  d.set_input(R"({"amount":5})");
  d.set_error(error);
  d.set_cause("it broke");
  d.mutable_created()->set_seconds(1714564800);  // 2024-05-01T12:00:00Z
  v1::TaskAttempt* a = d.add_attempts();
  a->set_attempt(0);
  a->set_worker_identity("host:1");
  a->set_error(error);
  return d;
}

class CliDlqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.dead_letters.entries = {Entry("d1", "pay", "Card.Declined"), Entry("d2", "pay", "States.Timeout"),
                                    Entry("d3", "ship", "Card.Declined", "Caught")};
  }

  Result Run(std::vector<std::string> args) {
    args.push_back("--server=" + server_.address());
    std::string command = args[0];
    args.erase(args.begin());
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int code = command == "dlq" ? DlqCommand(args) : ExecCommand(args);
    std::fflush(stdout);
    std::fflush(stderr);
    std::string out = ::testing::internal::GetCapturedStdout();
    std::string err = ::testing::internal::GetCapturedStderr();
    return {code, out, err};
  }

  testing::FakeServer server_;
};

TEST_F(CliDlqTest, ListFollowsEveryPageAndFilters) {
  Result all = Run({"dlq", "list", "--output", "json"});
  ASSERT_EQ(all.exit_code, kExitOk) << all.err;
  EXPECT_EQ(all.err, "");
  ASSERT_EQ(all.Json().as_array().size(), 3u);  // the fake pages one entry at a time
  EXPECT_EQ(all.Json().at(0).at("id"), "d1");
  EXPECT_EQ(all.Json().at(0).at("input").at("amount"), 5);
  EXPECT_EQ(all.Json().at(0).at("created"), "2024-05-01T12:00:00.000Z");

  Result filtered = Run({"dlq", "list", "--queue", "pay", "--error", "Card.Declined", "--output", "json"});
  ASSERT_EQ(filtered.exit_code, kExitOk) << filtered.err;
  ASSERT_EQ(filtered.Json().as_array().size(), 1u);
  EXPECT_EQ(filtered.Json().at(0).at("id"), "d1");

  Result table = Run({"dlq", "list", "--after", "2024-05-01", "--before", "2024-05-02T00:00:00Z"});
  ASSERT_EQ(table.exit_code, kExitOk) << table.err;
  EXPECT_THAT(table.out, HasSubstr("ID  QUEUE  STATE"));
  EXPECT_THAT(table.out, HasSubstr("States.Timeout"));
}

TEST_F(CliDlqTest, ShowPrintsTheEntryWithItsAttempts) {
  Result json = Run({"dlq", "show", "d2", "--output", "json"});
  ASSERT_EQ(json.exit_code, kExitOk) << json.err;
  EXPECT_EQ(json.Json().at("error"), "States.Timeout");
  EXPECT_EQ(json.Json().at("attempts").at(0).at("workerIdentity"), "host:1");
  Result table = Run({"dlq", "show", "d2"});
  EXPECT_THAT(table.out, HasSubstr("attempts:"));
  Result missing = Run({"dlq", "show", "nope"});
  EXPECT_EQ(missing.exit_code, kExitExecutionFailed);
  EXPECT_THAT(missing.err, HasSubstr("stepflow dlq show: DeadLetterDoesNotExist"));
}

TEST_F(CliDlqTest, RedriveByIdWithANewInput) {
  Result r = Run({"dlq", "redrive", "d1", "--input", R"({"amount":6})", "--output", "json"});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_EQ(r.Json().at(0).at("id"), "d1");
  ASSERT_EQ(server_.dead_letters.redrives.size(), 1u);
  EXPECT_EQ(server_.dead_letters.redrives[0].id(), "d1");
  EXPECT_FALSE(server_.dead_letters.redrives[0].has_filter());
  EXPECT_EQ(boost::json::parse(server_.dead_letters.redrives[0].input()).at("amount"), 6);
}

TEST_F(CliDlqTest, RedriveAllByFilterReportsEachOutcome) {
  Result r = Run({"dlq", "redrive", "--all", "--error", "Card.Declined"});
  EXPECT_EQ(r.exit_code, kExitExecutionFailed);  // d3 cannot be redriven
  EXPECT_THAT(r.out, HasSubstr("d1  ok"));
  EXPECT_THAT(r.out, HasSubstr("ExecutionNotRedrivable"));
  EXPECT_THAT(r.err, HasSubstr("1 of 2 entries failed"));
  ASSERT_EQ(server_.dead_letters.redrives.size(), 1u);
  EXPECT_TRUE(server_.dead_letters.redrives[0].has_filter());
  EXPECT_EQ(server_.dead_letters.redrives[0].filter().error(), "Card.Declined");
}

TEST_F(CliDlqTest, DiscardAllWithoutFiltersSendsAnEmptyFilter) {
  Result r = Run({"dlq", "discard", "--all", "--output", "json"});
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_EQ(r.Json().as_array().size(), 3u);
  ASSERT_EQ(server_.dead_letters.discards.size(), 1u);
  EXPECT_TRUE(server_.dead_letters.discards[0].has_filter());
  EXPECT_EQ(server_.dead_letters.discards[0].id(), "");
}

TEST_F(CliDlqTest, UsageErrors) {
  EXPECT_EQ(Run({"dlq"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"dlq", "frob"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"dlq", "redrive"}).exit_code, kExitUsage);               // neither ID nor --all
  EXPECT_EQ(Run({"dlq", "redrive", "d1", "--all"}).exit_code, kExitUsage);  // both
  EXPECT_EQ(Run({"dlq", "discard", "d1", "--queue", "pay"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"dlq", "redrive", "d1", "--input", "{nope"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"dlq", "redrive", "d1", "--input", "{}", "--input-file", "x"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"dlq", "redrive", "d1", "--input-file", "/no/such/file.json"}).exit_code, kExitUsage);
  Result bad_time = Run({"dlq", "list", "--after", "yesterday"});
  EXPECT_EQ(bad_time.exit_code, kExitUsage);
  EXPECT_THAT(bad_time.err, HasSubstr("--after must be a time"));
  EXPECT_TRUE(server_.dead_letters.redrives.empty());
  EXPECT_TRUE(server_.dead_letters.discards.empty());
}

TEST_F(CliDlqTest, ExecRedrive) {
  Result r = Run({"exec", "redrive", "arn:failed", "--output", "json"});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_EQ(r.Json().at("status"), "RUNNING");
  Result refused = Run({"exec", "redrive", "arn:running"});
  EXPECT_EQ(refused.exit_code, kExitExecutionFailed);
  EXPECT_THAT(refused.err, HasSubstr("stepflow exec redrive: ExecutionNotRedrivable"));
  EXPECT_EQ(Run({"exec", "redrive"}).exit_code, kExitUsage);
}

}  // namespace
}  // namespace stepflow::cli
