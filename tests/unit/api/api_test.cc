// The gRPC services and the C++ client together, over loopback, on an in-memory fake engine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "clients/cpp/client.h"
#include "engine/api/server.h"
#include "tests/unit/api/fake_engine.h"

namespace stepflow::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

constexpr char kPassDefinition[] = R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})";
constexpr char kBadDefinition[] = R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}})";

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<int> port = server_.Start(&engine_, "127.0.0.1:0");
    ASSERT_TRUE(port.ok()) << port.status();
    ASSERT_GT(*port, 0);
    address_ = "127.0.0.1:" + std::to_string(*port);
    absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(address_, 5s);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }

  std::string StartOne(const std::string& name = "") {
    absl::StatusOr<v1::Execution> e = client_->StartExecution("m", "{\"a\":1}", name);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? e->arn() : "";
  }

  testing::FakeEngine engine_;
  Server server_;
  std::string address_;
  std::unique_ptr<client::Client> client_;
};

TEST_F(ApiTest, StateMachineLifecycle) {
  absl::StatusOr<v1::StateMachine> created = client_->CreateStateMachine("m", kPassDefinition, v1::EXPRESS);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->name(), "m");
  EXPECT_EQ(created->type(), v1::EXPRESS);
  EXPECT_EQ(created->version(), 1);
  EXPECT_EQ(created->definition(), kPassDefinition);
  EXPECT_EQ(created->creation_date().seconds(), 1);

  absl::StatusOr<v1::StateMachine> updated = client_->UpdateStateMachine(created->arn(), kPassDefinition);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->version(), 2);

  absl::StatusOr<v1::StateMachine> described = client_->DescribeStateMachine("m");
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_EQ(described->version(), 2);

  ASSERT_TRUE(client_->DeleteStateMachine("m").ok());
  absl::StatusOr<v1::StateMachine> gone = client_->DescribeStateMachine("m");
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client::ErrorName(gone.status()), "StateMachineDoesNotExist");
}

TEST_F(ApiTest, CreateErrorsKeepTheirNames) {
  absl::StatusOr<v1::StateMachine> bad = client_->CreateStateMachine("m", kBadDefinition);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client::ErrorName(bad.status()), "InvalidDefinition");
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("/States/A/Next"));

  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());
  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());  // idempotent
  absl::StatusOr<v1::StateMachine> dup = client_->CreateStateMachine("m", kPassDefinition, v1::EXPRESS);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(client::ErrorName(dup.status()), "StateMachineAlreadyExists");

  absl::StatusOr<v1::StateMachine> no_name = client_->CreateStateMachine("", kPassDefinition);
  EXPECT_EQ(no_name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_name.status().message()), StartsWith("ValidationException: name is required"));

  absl::StatusOr<v1::StateMachine> bad_type =
      client_->CreateStateMachine("x", kPassDefinition, static_cast<v1::StateMachineType>(7));
  EXPECT_EQ(bad_type.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ApiTest, ValidateListsEveryProblem) {
  absl::StatusOr<v1::ValidateDefinitionResponse> ok = client_->ValidateDefinition(kPassDefinition);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->valid());
  EXPECT_EQ(ok->diagnostics_size(), 0);

  absl::StatusOr<v1::ValidateDefinitionResponse> bad = client_->ValidateDefinition(kBadDefinition);
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_FALSE(bad->valid());
  ASSERT_GE(bad->diagnostics_size(), 1);
  EXPECT_EQ(bad->diagnostics(0).location(), "/States/A/Next");
  EXPECT_EQ(bad->diagnostics(0).code(), "MISSING_TRANSITION_TARGET");
}

TEST_F(ApiTest, ListStateMachinesPagesWithoutDefinitions) {
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_TRUE(client_->CreateStateMachine(name, kPassDefinition).ok());
  }
  absl::StatusOr<v1::ListStateMachinesResponse> first = client_->ListStateMachines(2, "");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->state_machines_size(), 2);
  EXPECT_EQ(first->state_machines(0).definition(), "");
  EXPECT_FALSE(first->next_page_token().empty());
  absl::StatusOr<v1::ListStateMachinesResponse> second =
      client_->ListStateMachines(2, first->next_page_token());
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->state_machines_size(), 1);
  EXPECT_EQ(second->state_machines(0).name(), "c");
  EXPECT_TRUE(second->next_page_token().empty());

  absl::StatusOr<std::vector<v1::StateMachine>> all = client_->ListAllStateMachines();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ(engine_.LastPageSize(), 100);  // 0 = the server's default

  absl::StatusOr<v1::ListStateMachinesResponse> too_big = client_->ListStateMachines(1001, "");
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client::ErrorName(too_big.status()), "ValidationException");
}

TEST_F(ApiTest, StartDescribeStopAndIdempotentStart) {
  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());
  std::string arn = StartOne("run-1");
  absl::StatusOr<v1::Execution> again = client_->StartExecution("m", "{\"a\":1}", "run-1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->arn(), arn);
  absl::StatusOr<v1::Execution> conflict = client_->StartExecution("m", "{\"a\":2}", "run-1");
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(client::ErrorName(conflict.status()), "ExecutionAlreadyExists");

  absl::StatusOr<v1::Execution> described = client_->DescribeExecution(arn);
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_EQ(described->status(), v1::RUNNING);
  EXPECT_EQ(described->input(), "{\"a\":1}");
  EXPECT_FALSE(described->has_stop_date());

  absl::StatusOr<v1::Execution> stopped = client_->StopExecution(arn, "Oops", "because");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status(), v1::ABORTED);
  EXPECT_EQ(stopped->error(), "Oops");
  EXPECT_TRUE(stopped->has_stop_date());

  absl::StatusOr<v1::Execution> twice = client_->StopExecution(arn);
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client::ErrorName(twice.status()), "ExecutionNotRunning");

  absl::StatusOr<v1::Execution> unknown = client_->DescribeExecution("arn:nope");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client::ErrorName(unknown.status()), "ExecutionDoesNotExist");

  absl::StatusOr<v1::StateMachine> for_exec = client_->DescribeStateMachineForExecution(arn);
  ASSERT_TRUE(for_exec.ok()) << for_exec.status();
  EXPECT_EQ(for_exec->definition(), kPassDefinition);
}

TEST_F(ApiTest, EmptyInputIsAnEmptyObject) {
  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());
  absl::StatusOr<v1::Execution> e = client_->StartExecution("m", "");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->input(), "{}");
}

TEST_F(ApiTest, StartUnknownMachine) {
  absl::StatusOr<v1::Execution> e = client_->StartExecution("nope", "{}");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client::ErrorName(e.status()), "StateMachineDoesNotExist");
}

TEST_F(ApiTest, StartSyncWaitsForTheEnd) {
  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());
  std::thread finisher([&] {
    std::string arn = std::string(testing::kArnPrefix) + "execution:m:sync";
    for (int i = 0; i < 200; ++i) {
      if (engine_.DescribeExecution(arn).ok()) {
        std::this_thread::sleep_for(300ms);  // longer than one wait slice
        engine_.Finish(arn, sm::ExecutionStatus::kSucceeded, "{\"done\":true}");
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  absl::StatusOr<v1::Execution> e = client_->StartSyncExecution("m", "{}", "sync", 10s);
  finisher.join();
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->status(), v1::SUCCEEDED);
  EXPECT_EQ(e->output(), "{\"done\":true}");
  // The start and the first wait slice are one engine call, which can watch for the end before it starts.
  EXPECT_EQ(engine_.start_and_wait_calls.load(), 1);
}

TEST_F(ApiTest, StartSyncDeadline) {
  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());
  auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<v1::Execution> e = client_->StartSyncExecution("m", "{}", "slow", 600ms);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(e.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(client::ErrorName(e.status()), "Timeout") << e.status();
  EXPECT_LT(took, 3s);
  // The execution keeps running.
  absl::StatusOr<v1::Execution> d =
      client_->DescribeExecution(std::string(testing::kArnPrefix) + "execution:m:slow");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->status(), v1::RUNNING);
}

TEST_F(ApiTest, HistoryPagesAndReverse) {
  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());
  std::string arn = StartOne("h");
  for (int i = 0; i < 4; ++i) {
    engine_.AppendEvent(arn, "PassStateEntered");
  }
  v1::GetExecutionHistoryRequest request;
  request.set_execution_arn(arn);
  request.set_page_size(2);
  absl::StatusOr<v1::GetExecutionHistoryResponse> page = client_->GetExecutionHistoryPage(request);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->events_size(), 2);
  EXPECT_EQ(page->events(0).type(), "ExecutionStarted");
  EXPECT_FALSE(page->next_page_token().empty());

  absl::StatusOr<std::vector<v1::HistoryEvent>> all = client_->GetExecutionHistory(arn);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->back().id(), 5);
  absl::StatusOr<std::vector<v1::HistoryEvent>> reversed = client_->GetExecutionHistory(arn, true);
  ASSERT_TRUE(reversed.ok()) << reversed.status();
  EXPECT_EQ(reversed->front().id(), 5);
  EXPECT_EQ(engine_.LastPageSize(), 1000);

  absl::StatusOr<std::vector<v1::HistoryEvent>> unknown = client_->GetExecutionHistory("arn:nope");
  EXPECT_EQ(client::ErrorName(unknown.status()), "ExecutionDoesNotExist");
}

TEST_F(ApiTest, WatchFollowsUntilTheEnd) {
  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());
  std::string arn = StartOne("w");
  std::thread mover([&] {
    std::this_thread::sleep_for(100ms);
    engine_.AppendEvent(arn, "WaitStateEntered");
    std::this_thread::sleep_for(400ms);
    engine_.AppendEvent(arn, "WaitStateExited");
    engine_.Finish(arn, sm::ExecutionStatus::kSucceeded, "{}");
  });
  std::vector<std::string> types;
  absl::Status s = client_->WatchExecutionHistory(arn, 0, [&](const v1::HistoryEvent& e) {
    types.push_back(e.type());
    return true;
  });
  mover.join();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(types, (std::vector<std::string>{"ExecutionStarted", "WaitStateEntered", "WaitStateExited",
                                             "ExecutionSucceeded"}));

  // From beyond the end of a finished execution: nothing, and the stream ends.
  int count = 0;
  s = client_->WatchExecutionHistory(arn, 4, [&](const v1::HistoryEvent&) { return ++count > 0; });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(count, 0);
}

TEST_F(ApiTest, WatchStopsWhenTheCallerSaysSo) {
  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());
  std::string arn = StartOne("w");
  int count = 0;
  absl::Status s = client_->WatchExecutionHistory(arn, 0, [&](const v1::HistoryEvent&) {
    ++count;
    return false;
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(count, 1);

  absl::Status unknown =
      client_->WatchExecutionHistory("arn:nope", 0, [](const v1::HistoryEvent&) { return true; });
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client::ErrorName(unknown), "ExecutionDoesNotExist");
}

TEST_F(ApiTest, ListExecutionsPassesFiltersAndPages) {
  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());
  ASSERT_TRUE(client_->CreateStateMachine("n", kPassDefinition).ok());
  std::string a = StartOne("a");
  StartOne("b");
  StartOne("c");
  ASSERT_TRUE(client_->StartExecution("n", "{}", "d").ok());
  engine_.Finish(a, sm::ExecutionStatus::kSucceeded, "{}");

  v1::ListExecutionsRequest request;
  request.set_state_machine("m");
  request.set_status(v1::RUNNING);
  request.mutable_started_after()->set_seconds(5);
  request.set_page_size(1);
  absl::StatusOr<v1::ListExecutionsResponse> page = client_->ListExecutions(request);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->executions_size(), 1);
  EXPECT_EQ(page->executions(0).input(), "");
  EXPECT_FALSE(page->next_page_token().empty());
  const engine::ExecutionFilter filter = engine_.LastFilter();
  EXPECT_EQ(filter.state_machine, "m");
  EXPECT_EQ(filter.status, sm::ExecutionStatus::kRunning);
  EXPECT_EQ(filter.started_after, 5000);
  EXPECT_FALSE(filter.started_before.has_value());

  absl::StatusOr<std::vector<v1::Execution>> all = client_->ListAllExecutions(request);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 2u);  // b and c

  request.set_status(static_cast<v1::ExecutionStatus>(42));
  EXPECT_EQ(client_->ListExecutions(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ApiTest, ShutdownEndsWatchersAndRefusesNewCalls) {
  ASSERT_TRUE(client_->CreateStateMachine("m", kPassDefinition).ok());
  std::string arn = StartOne("w");
  std::atomic<bool> watching{false};
  absl::Status watch_status;
  std::thread watcher([&] {
    watch_status = client_->WatchExecutionHistory(arn, 0, [&](const v1::HistoryEvent&) {
      watching = true;
      return true;
    });
  });
  while (!watching) {
    std::this_thread::sleep_for(5ms);
  }
  auto t0 = std::chrono::steady_clock::now();
  server_.Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  watcher.join();
  EXPECT_EQ(watch_status.code(), absl::StatusCode::kUnavailable) << watch_status;
  EXPECT_EQ(client_->DescribeExecution(arn).status().code(), absl::StatusCode::kUnavailable);
}

TEST(ServerTest, PortInUse) {
  testing::FakeEngine engine;
  Server first;
  absl::StatusOr<int> port = first.Start(&engine, "127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  Server second;
  absl::StatusOr<int> clash = second.Start(&engine, "127.0.0.1:" + std::to_string(*port));
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(first.Start(&engine, "127.0.0.1:0").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ClientTest, ConnectTimesOut) {
  auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect("127.0.0.1:1", 300ms);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client::ErrorName(c.status()), "ServiceUnavailable");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

}  // namespace
}  // namespace stepflow::api
