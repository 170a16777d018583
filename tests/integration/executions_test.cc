// The real server: Executions RPCs with their errors: start (idempotent by name), start-sync with its
// deadline, describe, history (paged, reverse, streaming), list (filters, pages), stop, the definition an
// execution runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/integration/fixture.h"

namespace stepflow::itest {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

using ExecutionsTest = ServerFixture;

boost::json::value Json(const std::string& text) { return boost::json::parse(text); }

TEST_F(ExecutionsTest, StartSyncRunsToTheEnd) {
  Create("chain", kPassChain);
  absl::StatusOr<v1::Execution> e = client().StartSyncExecution("chain", R"({"x":0})", "first", 30s);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->status(), v1::SUCCEEDED);
  EXPECT_EQ(Json(e->output()), Json(R"({"x":0,"one":1,"two":2,"three":3})"));
  EXPECT_EQ(e->name(), "first");
  EXPECT_TRUE(e->has_stop_date());

  Create("fails", kFails);
  absl::StatusOr<v1::Execution> f = client().StartSyncExecution("fails", "{}", "", 30s);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->status(), v1::FAILED);
  EXPECT_EQ(f->error(), "Custom.Error");
  EXPECT_EQ(f->cause(), "it broke");
  EXPECT_FALSE(f->name().empty());  // generated
}

// An execution that ends within its start's commit is answered from the start's record, without reading it
// back: the answer must be exactly what Describe reads from the store, for a success, a failure and a
// repeated start by name of an execution that ended.
TEST_F(ExecutionsTest, StartSyncAnswersWhatDescribeReads) {
  Create("chain", kPassChain);
  Create("fails", kFails);
  for (const auto& [machine, name] : {std::pair{"chain", "same-a"}, std::pair{"fails", "same-b"},
                                      std::pair{"chain", "same-a"}}) {
    absl::StatusOr<v1::Execution> sync = client().StartSyncExecution(machine, R"({"x":1})", name, 30s);
    ASSERT_TRUE(sync.ok()) << sync.status();
    absl::StatusOr<v1::Execution> described = client().DescribeExecution(sync->arn());
    ASSERT_TRUE(described.ok()) << described.status();
    EXPECT_EQ(sync->SerializeAsString(), described->SerializeAsString())
        << sync->DebugString() << "\nvs\n" << described->DebugString();
  }
}

TEST_F(ExecutionsTest, StartErrorsAndIdempotentStart) {
  absl::StatusOr<v1::Execution> unknown = client().StartExecution("nope", "{}");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client::ErrorName(unknown.status()), "StateMachineDoesNotExist");

  Create("wait", WaitThenPass(30));
  absl::StatusOr<v1::Execution> bad_input = client().StartExecution("wait", "{not json");
  EXPECT_EQ(bad_input.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client::ErrorName(bad_input.status()), "InvalidExecutionInput");

  v1::Execution first = Start("wait", R"({"a":1})", "once");
  absl::StatusOr<v1::Execution> again = client().StartExecution("wait", R"({"a":1})", "once");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->arn(), first.arn());
  absl::StatusOr<v1::Execution> other = client().StartExecution("wait", R"({"a":2})", "once");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(client::ErrorName(other.status()), "ExecutionAlreadyExists");

  absl::StatusOr<v1::Execution> bad_name = client().StartExecution("wait", "{}", "no spaces allowed");
  EXPECT_EQ(client::ErrorName(bad_name.status()), "InvalidName");
}

TEST_F(ExecutionsTest, DescribeAndStop) {
  Create("wait", WaitThenPass(30));
  v1::Execution e = Start("wait", R"({"k":"v"})", "to-stop");
  absl::StatusOr<v1::Execution> d = client().DescribeExecution(e.arn());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->status(), v1::RUNNING);
  EXPECT_EQ(Json(d->input()), Json(R"({"k":"v"})"));
  EXPECT_FALSE(d->has_stop_date());
  EXPECT_EQ(d->state_machine_version(), 1);

  absl::StatusOr<v1::Execution> stopped =
      client().StopExecution(e.arn(), "Operator.Stop", "no longer needed");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status(), v1::ABORTED);
  EXPECT_EQ(stopped->error(), "Operator.Stop");
  EXPECT_EQ(stopped->cause(), "no longer needed");
  EXPECT_TRUE(stopped->has_stop_date());

  absl::StatusOr<v1::Execution> twice = client().StopExecution(e.arn());
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client::ErrorName(twice.status()), "ExecutionNotRunning");

  // A finished execution cannot be stopped either.
  Create("chain", kPassChain);
  absl::StatusOr<v1::Execution> done = client().StartSyncExecution("chain", "{}", "", 30s);
  ASSERT_TRUE(done.ok()) << done.status();
  absl::StatusOr<v1::Execution> stop_done = client().StopExecution(done->arn());
  EXPECT_EQ(stop_done.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client::ErrorName(stop_done.status()), "ExecutionNotRunning");

  const std::string missing = e.arn() + "-missing";
  EXPECT_EQ(client::ErrorName(client().DescribeExecution(missing).status()), "ExecutionDoesNotExist");
  EXPECT_EQ(client().DescribeExecution(missing).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client::ErrorName(client().StopExecution(missing).status()), "ExecutionDoesNotExist");
  EXPECT_EQ(client::ErrorName(client().GetExecutionHistory(missing).status()), "ExecutionDoesNotExist");
  EXPECT_EQ(client::ErrorName(client().DescribeStateMachineForExecution(missing).status()),
            "ExecutionDoesNotExist");
}

TEST_F(ExecutionsTest, StartSyncDeadline) {
  Create("wait", WaitThenPass(30));
  auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<v1::Execution> e = client().StartSyncExecution("wait", "{}", "slow", 700ms);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(e.status().code(), absl::StatusCode::kDeadlineExceeded) << e.status();
  EXPECT_FALSE(client::ErrorName(e.status()).empty());
  EXPECT_LT(took, 5s);
  // It keeps running.
  absl::StatusOr<std::vector<v1::Execution>> running = client().ListAllExecutions([] {
    v1::ListExecutionsRequest r;
    r.set_status(v1::RUNNING);
    return r;
  }());
  ASSERT_TRUE(running.ok()) << running.status();
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ(running->at(0).name(), "slow");
}

TEST_F(ExecutionsTest, HistoryPagesAndReverse) {
  Create("chain", kPassChain);
  absl::StatusOr<v1::Execution> e = client().StartSyncExecution("chain", "{}", "h", 30s);
  ASSERT_TRUE(e.ok()) << e.status();
  absl::StatusOr<std::vector<v1::HistoryEvent>> all = client().GetExecutionHistory(e->arn());
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_GE(all->size(), 8u);  // started, 3 x (entered, exited), succeeded
  for (std::size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ(all->at(i).id(), static_cast<std::int64_t>(i + 1));
  }
  EXPECT_EQ(all->front().type(), "ExecutionStarted");
  EXPECT_EQ(all->back().type(), "ExecutionSucceeded");
  EXPECT_EQ(all->at(1).type(), "PassStateEntered");
  EXPECT_EQ(Json(all->at(1).details()).at("name"), "One");
  EXPECT_EQ(all->at(1).details_key(), "stateEnteredEventDetails");

  // Pages of 3, both directions.
  for (bool reverse : {false, true}) {
    v1::GetExecutionHistoryRequest request;
    request.set_execution_arn(e->arn());
    request.set_page_size(3);
    request.set_reverse_order(reverse);
    std::vector<std::int64_t> ids;
    int pages = 0;
    do {
      absl::StatusOr<v1::GetExecutionHistoryResponse> page = client().GetExecutionHistoryPage(request);
      ASSERT_TRUE(page.ok()) << page.status();
      EXPECT_LE(page->events_size(), 3);
      for (const v1::HistoryEvent& event : page->events()) {
        ids.push_back(event.id());
      }
      request.set_page_token(page->next_page_token());
      ++pages;
    } while (!request.page_token().empty() && pages < 100);
    ASSERT_EQ(ids.size(), all->size());
    EXPECT_EQ(pages, static_cast<int>((all->size() + 2) / 3));
    EXPECT_EQ(ids.front(), reverse ? static_cast<std::int64_t>(all->size()) : 1);
    EXPECT_TRUE(
        std::is_sorted(ids.begin(), ids.end(), [&](auto a, auto b) { return reverse ? a > b : a < b; }));
  }
}

TEST_F(ExecutionsTest, WatchFollowsARunningWait) {
  Create("wait", WaitThenPass(2));
  v1::Execution e = Start("wait", "{}", "watched");
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> types;
  std::vector<std::chrono::steady_clock::duration> arrivals;
  absl::Status s = client().WatchExecutionHistory(e.arn(), 0, [&](const v1::HistoryEvent& event) {
    types.push_back(event.type());
    arrivals.push_back(std::chrono::steady_clock::now() - t0);
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), "ExecutionStarted");
  EXPECT_EQ(types.back(), "ExecutionSucceeded");
  EXPECT_THAT(types, ::testing::Contains("WaitStateEntered"));
  EXPECT_THAT(types, ::testing::Contains("WaitStateExited"));
  // The first events came at once, the end only after the Wait: the stream followed the execution.
  EXPECT_LT(arrivals.front(), 1500ms);
  EXPECT_GE(arrivals.back(), 1500ms);

  // From the middle: only the later events.
  std::vector<std::int64_t> ids;
  s = client().WatchExecutionHistory(e.arn(), 2, [&](const v1::HistoryEvent& event) {
    ids.push_back(event.id());
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 3);
  EXPECT_EQ(ids.size(), types.size() - 2);

  absl::Status unknown =
      client().WatchExecutionHistory(e.arn() + "-x", 0, [](const v1::HistoryEvent&) { return true; });
  EXPECT_EQ(client::ErrorName(unknown), "ExecutionDoesNotExist");
}

TEST_F(ExecutionsTest, ListFiltersAndPages) {
  Create("chain", kPassChain);
  Create("wait", WaitThenPass(30));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client().StartSyncExecution("chain", "{}", "c" + std::to_string(i), 30s).ok());
  }
  v1::Execution w0 = Start("wait", "{}", "w0");
  v1::Execution w1 = Start("wait", "{}", "w1");
  ASSERT_TRUE(client().StopExecution(w1.arn()).ok());

  auto list = [&](const std::string& sm, v1::ExecutionStatus status) {
    v1::ListExecutionsRequest r;
    r.set_state_machine(sm);
    r.set_status(status);
    absl::StatusOr<std::vector<v1::Execution>> all = client().ListAllExecutions(r);
    EXPECT_TRUE(all.ok()) << all.status();
    std::vector<std::string> names;
    for (const v1::Execution& e : all.value_or(std::vector<v1::Execution>{})) {
      names.push_back(e.name());
      EXPECT_EQ(e.input(), "");  // not in lists
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(list("", v1::EXECUTION_STATUS_UNSPECIFIED), (Names{"c0", "c1", "c2", "w0", "w1"}));
  EXPECT_EQ(list("chain", v1::EXECUTION_STATUS_UNSPECIFIED), (Names{"c0", "c1", "c2"}));
  EXPECT_EQ(list("wait", v1::RUNNING), (Names{"w0"}));
  EXPECT_EQ(list("", v1::ABORTED), (Names{"w1"}));
  EXPECT_EQ(list("", v1::SUCCEEDED), (Names{"c0", "c1", "c2"}));
  EXPECT_EQ(list("", v1::FAILED), Names{});
  absl::StatusOr<v1::StateMachine> wait_sm = client().DescribeStateMachine("wait");
  ASSERT_TRUE(wait_sm.ok());
  EXPECT_EQ(list(wait_sm->arn(), v1::EXECUTION_STATUS_UNSPECIFIED), (Names{"w0", "w1"}));

  // Newest first, in pages.
  v1::ListExecutionsRequest r;
  r.set_page_size(2);
  std::vector<std::string> names;
  int pages = 0;
  do {
    absl::StatusOr<v1::ListExecutionsResponse> page = client().ListExecutions(r);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->executions_size(), 2);
    for (const v1::Execution& e : page->executions()) {
      names.push_back(e.name());
    }
    r.set_page_token(page->next_page_token());
    ++pages;
  } while (!r.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(names.front(), "w1");

  // Start-time range: everything started at or after w0's start.
  absl::StatusOr<v1::Execution> w0d = client().DescribeExecution(w0.arn());
  ASSERT_TRUE(w0d.ok());
  v1::ListExecutionsRequest after;
  *after.mutable_started_after() = w0d->start_date();
  absl::StatusOr<std::vector<v1::Execution>> recent = client().ListAllExecutions(after);
  ASSERT_TRUE(recent.ok()) << recent.status();
  for (const v1::Execution& e : *recent) {
    EXPECT_TRUE(e.name() == "w0" || e.name() == "w1" ||
                e.start_date().seconds() >= w0d->start_date().seconds())
        << e.name();
  }
  EXPECT_GE(recent->size(), 2u);
  v1::ListExecutionsRequest before;
  before.mutable_started_before()->set_seconds(1);
  absl::StatusOr<std::vector<v1::Execution>> none = client().ListAllExecutions(before);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());

  EXPECT_EQ(client::ErrorName(client()
                                  .ListAllExecutions([] {
                                    v1::ListExecutionsRequest bad;
                                    bad.set_state_machine("nope");
                                    return bad;
                                  }())
                                  .status()),
            "StateMachineDoesNotExist");
}

TEST_F(ExecutionsTest, DescribeStateMachineForExecutionKeepsItsVersion) {
  Create("wait", WaitThenPass(30));
  v1::Execution old_run = Start("wait", "{}", "old");
  ASSERT_TRUE(client().UpdateStateMachine("wait", WaitThenPass(29)).ok());
  v1::Execution new_run = Start("wait", "{}", "new");
  absl::StatusOr<v1::StateMachine> old_sm = client().DescribeStateMachineForExecution(old_run.arn());
  ASSERT_TRUE(old_sm.ok()) << old_sm.status();
  EXPECT_EQ(old_sm->version(), 1);
  EXPECT_EQ(old_sm->definition(), WaitThenPass(30));
  absl::StatusOr<v1::StateMachine> new_sm = client().DescribeStateMachineForExecution(new_run.arn());
  ASSERT_TRUE(new_sm.ok()) << new_sm.status();
  EXPECT_EQ(new_sm->version(), 2);
  EXPECT_EQ(new_sm->definition(), WaitThenPass(29));
}

}  // namespace
}  // namespace stepflow::itest
