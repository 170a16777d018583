// Durable engine, the batched worker calls (issue 13): PollTasks hands out many tasks per call, each started
// as PollTask starts it; ReportTasks answers every report as its unary call would and commits the reports
// that reach one partition together.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::StartsWith;

// One Task state on the queue "work" (its history events are Task*: the resource is not an activity ARN).
constexpr char kOneTask[] = R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"work","End":true}}})";
// Three Task states on "work" in parallel branches: the start's one decision schedules all three.
constexpr char kThreeTasksAtOnce[] = R"({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
    {"StartAt":"A","States":{"A":{"Type":"Task","Resource":"work","End":true}}},
    {"StartAt":"B","States":{"B":{"Type":"Task","Resource":"work","End":true}}},
    {"StartAt":"C","States":{"C":{"Type":"Task","Resource":"work","End":true}}}]}}})";

// Three activities on "work" in parallel branches, each told apart by its input.
constexpr char kThreeActivitiesAtOnce[] = R"({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
    {"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:work",
      "Parameters":{"branch":"A"},"End":true}}},
    {"StartAt":"B","States":{"B":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:work",
      "Parameters":{"branch":"B"},"End":true}}},
    {"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:work",
      "Parameters":{"branch":"C"},"End":true}}}]}}})";

// Three Task states on "work", one after another.
constexpr char kThreeSteps[] = R"({"StartAt":"A","States":{
    "A":{"Type":"Task","Resource":"work","Next":"B"},
    "B":{"Type":"Task","Resource":"work","Next":"C"},
    "C":{"Type":"Task","Resource":"work","End":true}}})";

class TaskBatchTest : public EngineTest {
 protected:
  void SetUp() override {
    partitions_ = partitions;  // one: every execution in one partition, one commit group for a whole batch
    EngineTest::SetUp();
    ASSERT_TRUE(engine_->CreateStateMachine("Forever", kOneTask, false).ok());
    ASSERT_TRUE(engine_->CreateStateMachine("Steps", kThreeSteps, false).ok());
  }
  int partitions = 1;

  // Starts `n` executions of Forever named e0..e(n-1); their ARNs.
  std::vector<std::string> StartMany(int n, const std::string& input = "{}") {
    std::vector<std::string> arns;
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<ExecutionInfoRecord> e = engine_->StartExecution("Forever", absl::StrCat("e", i), input);
      EXPECT_TRUE(e.ok()) << e.status();
      arns.push_back(e.ok() ? e->arn : "");
    }
    return arns;
  }
  std::vector<PolledTask> PollMany(int max, std::size_t max_bytes = 1 << 20, common::EpochMillis wait_ms = 10'000) {
    absl::StatusOr<std::vector<PolledTask>> tasks =
        engine_->PollTasks("work", "w1", max, max_bytes, common::SystemClock().NowMillis() + wait_ms);
    EXPECT_TRUE(tasks.ok()) << tasks.status();
    return tasks.value_or(std::vector<PolledTask>{});
  }
  int CountEvents(const std::string& arn, const std::string& type) {
    absl::StatusOr<Page<HistoryEventRecord>> page = engine_->GetExecutionHistory(arn, 1000, "", false);
    EXPECT_TRUE(page.ok()) << page.status();
    int n = 0;
    for (const HistoryEventRecord& e : page.value_or(Page<HistoryEventRecord>{}).items) {
      n += e.type == type ? 1 : 0;
    }
    return n;
  }
  // Waits until `n` polls wait in the matcher on "work" (its gauge, read until it says so).
  void AwaitPollsWaiting(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (engine_->Metrics().polls_waiting["work"] < n) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << n << " polls never waited";
      std::this_thread::yield();
    }
  }
  std::vector<std::string> EventTypes(const std::string& arn) {
    absl::StatusOr<Page<HistoryEventRecord>> page = engine_->GetExecutionHistory(arn, 1000, "", false);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> types;
    for (const HistoryEventRecord& e : page.value_or(Page<HistoryEventRecord>{}).items) {
      types.push_back(e.type);
    }
    return types;
  }
  static TaskReport Complete(const std::string& token, const std::string& output) {
    return TaskReport{TaskReport::Kind::kComplete, token, output, "", ""};
  }
  // ReportTasksAndPoll with one poll of "work" for worker "w1"; every report must be answered OK.
  std::vector<PolledTask> ReportAndPoll(const std::vector<TaskReport>& reports, int max_tasks,
                                        std::function<bool()> gone = {}) {
    ReportsAndTasks done =
        engine_->ReportTasksAndPoll(reports, {SlotPoll{"work", "w1", max_tasks, 1 << 20, std::move(gone)}});
    EXPECT_EQ(done.results.size(), reports.size());
    for (const absl::StatusOr<bool>& r : done.results) {
      EXPECT_TRUE(r.ok()) << r.status();
    }
    EXPECT_EQ(done.tasks.size(), 1u);
    return done.tasks.empty() ? std::vector<PolledTask>{} : done.tasks.front();
  }
};

// Two partitions: the reports of one call reach two commit groups.
class TaskBatchTwoPartitionsTest : public TaskBatchTest {
 protected:
  TaskBatchTwoPartitionsTest() { partitions = 2; }
};

TEST_F(TaskBatchTest, PollTasksHandsOutWhatWaitsEachStartedBeforeTheAnswer) {
  std::vector<std::string> arns = StartMany(10);
  std::vector<PolledTask> first = PollMany(4);
  ASSERT_EQ(first.size(), 4u);
  std::vector<PolledTask> rest = PollMany(10);
  ASSERT_EQ(rest.size(), 6u);
  std::vector<std::string> order;
  for (const std::vector<PolledTask>* batch : {&first, &rest}) {
    for (const PolledTask& t : *batch) {
      order.push_back(t.execution_arn);
      EXPECT_THAT(t.token, StartsWith(t.execution_arn + "#"));
      EXPECT_EQ(CountEvents(t.execution_arn, "TaskStarted"), 1) << t.execution_arn;
    }
  }
  EXPECT_EQ(order, arns);  // oldest first
  EXPECT_TRUE(PollMany(10, 1 << 20, 50).empty());
}

TEST_F(TaskBatchTest, PollTasksKeepsTheInputsWithinTheBudgetButAlwaysHandsOutOne) {
  const std::string input = absl::StrCat(R"({"pad":")", std::string(100, 'x'), R"("})");
  StartMany(3, input);
  EXPECT_EQ(PollMany(3, /*max_bytes=*/150).size(), 1u);  // the second would pass 150 bytes
  EXPECT_EQ(PollMany(3, /*max_bytes=*/2 * input.size()).size(), 2u);
}

TEST_F(TaskBatchTest, ACallerGoneBeforeTheStartPutsTheTasksBackInOrder) {
  std::vector<std::string> arns = StartMany(3);
  absl::StatusOr<std::vector<PolledTask>> none =
      engine_->PollTasks("work", "w1", 3, 1 << 20, common::SystemClock().NowMillis() + 10'000, [] { return true; });
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  std::vector<PolledTask> tasks = PollMany(3);
  ASSERT_EQ(tasks.size(), 3u);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    EXPECT_EQ(tasks[i].execution_arn, arns[i]);
    EXPECT_EQ(CountEvents(arns[i], "TaskStarted"), 1);
  }
}

TEST_F(TaskBatchTest, EachReportIsAnsweredAsItsUnaryCall) {
  std::vector<std::string> arns = StartMany(4);
  std::vector<PolledTask> t = PollMany(4);
  ASSERT_EQ(t.size(), 4u);
  std::vector<TaskReport> reports = {
      Complete(t[0].token, R"({"first":true})"),
      TaskReport{TaskReport::Kind::kFail, t[1].token, "", "Custom.Error", "it broke"},
      TaskReport{TaskReport::Kind::kHeartbeat, t[2].token, "", "", ""},
      Complete(t[3].token, "{not json"),
      Complete("nonsense", "{}"),
      Complete(t[0].token, R"({"second":true})"),  // the same task again: OK, no effect
  };
  std::vector<absl::StatusOr<bool>> results = engine_->ReportTasks(reports);
  ASSERT_EQ(results.size(), reports.size());
  EXPECT_TRUE(results[0].ok() && !*results[0]) << results[0].status();
  EXPECT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_TRUE(results[2].ok() && !*results[2]) << results[2].status();  // not cancelled
  EXPECT_TRUE(absl::IsInvalidArgument(results[3].status()));
  EXPECT_THAT(std::string(results[3].status().message()), StartsWith("InvalidOutput: "));
  EXPECT_THAT(std::string(results[4].status().message()), StartsWith("InvalidToken: "));
  // The same answers as the unary calls give.
  EXPECT_EQ(results[3].status(), engine_->CompleteTask(t[3].token, "{not json"));
  EXPECT_EQ(results[4].status(), engine_->CompleteTask("nonsense", "{}"));
  EXPECT_TRUE(results[5].ok()) << results[5].status();
  EXPECT_EQ(Finish(arns[0]).output, R"({"first":true})");
  EXPECT_EQ(CountEvents(arns[0], "TaskSucceeded"), 1);
  ExecutionInfoRecord failed = Finish(arns[1]);
  EXPECT_EQ(failed.status, sm::ExecutionStatus::kFailed);
  EXPECT_EQ(failed.error, "Custom.Error");
  EXPECT_EQ(engine_->DescribeExecution(arns[2])->status, sm::ExecutionStatus::kRunning);
  EXPECT_EQ(engine_->DescribeExecution(arns[3])->status, sm::ExecutionStatus::kRunning);
  // A report on an ended execution: TaskTimedOut, as the unary call; a heartbeat learns it is over.
  ASSERT_TRUE(engine_->StopExecution(arns[2], "Stopped", "").ok());
  results = engine_->ReportTasks(
      {Complete(t[2].token, "{}"), TaskReport{TaskReport::Kind::kHeartbeat, t[2].token, "", "", ""}});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(absl::IsFailedPrecondition(results[0].status())) << results[0].status();
  EXPECT_THAT(std::string(results[0].status().message()), StartsWith("TaskTimedOut: "));
  EXPECT_TRUE(results[1].ok() && *results[1]) << "a heartbeat on a stopped execution answers cancelled";
}

TEST_F(TaskBatchTest, TheReportsOfOnePartitionAreCommittedTogether) {
  std::vector<std::string> arns = StartMany(10);
  std::vector<PolledTask> tasks = PollMany(10);
  ASSERT_EQ(tasks.size(), 10u);
  std::vector<TaskReport> reports;
  for (const PolledTask& t : tasks) {
    reports.push_back(Complete(t.token, R"({"done":1})"));
  }
  const std::uint64_t commits0 = engine_->Metrics().commits;
  std::vector<absl::StatusOr<bool>> results = engine_->ReportTasks(reports);
  const std::uint64_t commits = engine_->Metrics().commits - commits0;
  for (const absl::StatusOr<bool>& r : results) {
    EXPECT_TRUE(r.ok()) << r.status();
  }
  EXPECT_EQ(commits, 1u) << "ten results in one partition: one commit group";
  for (const std::string& arn : arns) {
    EXPECT_EQ(Finish(arn).status, sm::ExecutionStatus::kSucceeded);
  }
}

TEST_F(TaskBatchTest, RacingReportersOnTheSameTasksOneResultCounts) {
  std::vector<std::string> arns = StartMany(20);
  std::vector<PolledTask> tasks = PollMany(20);
  ASSERT_EQ(tasks.size(), 20u);
  std::vector<std::vector<absl::StatusOr<bool>>> answers(2);
  std::vector<std::thread> reporters;
  for (int r = 0; r < 2; ++r) {
    reporters.emplace_back([&, r] {
      std::vector<TaskReport> reports;
      for (const PolledTask& t : tasks) {
        reports.push_back(Complete(t.token, absl::StrCat(R"({"by":)", r, "}")));
      }
      answers[r] = engine_->ReportTasks(reports);
    });
  }
  for (std::thread& t : reporters) {
    t.join();
  }
  for (const auto& results : answers) {
    ASSERT_EQ(results.size(), tasks.size());
    for (const absl::StatusOr<bool>& r : results) {
      EXPECT_TRUE(r.ok()) << r.status();  // the later one is a repeat: OK, no effect
    }
  }
  for (const std::string& arn : arns) {
    ExecutionInfoRecord done = Finish(arn);
    EXPECT_THAT((std::set<std::string>{R"({"by":0})", R"({"by":1})"}), Contains(done.output));
    EXPECT_EQ(CountEvents(arn, "TaskSucceeded"), 1) << arn;
  }
}

TEST_F(TaskBatchTest, ATaskScheduledWhileAPollWaitsStartsInTheCommitThatSchedulesIt) {
  std::vector<PolledTask> got;
  std::thread poller([&] { got = PollMany(1); });
  AwaitPollsWaiting(1);
  const EngineMetrics before = engine_->Metrics();
  std::vector<std::string> arns = StartMany(1);
  poller.join();
  ASSERT_EQ(got.size(), 1u);
  const EngineMetrics after = engine_->Metrics();
  EXPECT_EQ(got[0].execution_arn, arns[0]);
  EXPECT_EQ(after.commits - before.commits, 1u) << "the start and the task's TaskStarted: one commit";
  EXPECT_EQ(after.tasks_started_at_schedule - before.tasks_started_at_schedule, 1u);
  EXPECT_THAT(EventTypes(arns[0]), ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted"));
  // Its TaskStarted is committed: after a restart the task is not offered again, and its worker's result counts.
  Reopen();
  EXPECT_TRUE(PollMany(1, 1 << 20, 50).empty());
  ASSERT_TRUE(engine_->CompleteTask(got[0].token, R"({"ok":1})").ok());
  EXPECT_EQ(Finish(arns[0]).output, R"({"ok":1})");
  EXPECT_EQ(CountEvents(arns[0], "TaskStarted"), 1);
}

TEST_F(TaskBatchTest, AWaitingBatchPollReceivesTheTasksOfOneCommitUpToItsRoom) {
  ASSERT_TRUE(engine_->CreateStateMachine("Three", kThreeTasksAtOnce, false).ok());
  std::vector<PolledTask> got;
  std::thread poller([&] { got = PollMany(5); });
  AwaitPollsWaiting(1);
  const std::uint64_t commits0 = engine_->Metrics().commits;
  const std::string all = engine_->StartExecution("Three", "all", "{}")->arn;
  poller.join();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(engine_->Metrics().commits - commits0, 1u) << "three tasks started in the start's commit";
  EXPECT_EQ(CountEvents(all, "TaskStarted"), 3);
  // A poll with room for two: the third task waits in the queue for the next poll, which starts it.
  std::thread small([&] { got = PollMany(2); });
  AwaitPollsWaiting(1);
  const std::string two = engine_->StartExecution("Three", "two", "{}")->arn;
  small.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(CountEvents(two, "TaskStarted"), 2);
  std::vector<PolledTask> third = PollMany(5, 1 << 20, 50);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].execution_arn, two);
  EXPECT_EQ(CountEvents(two, "TaskStarted"), 3);
}

// Which worker each activity of `arn` was started for: its ActivityScheduled input -> the workerName of the
// ActivityStarted that follows from it.
std::map<std::string, std::string> StartedFor(Engine& engine, const std::string& arn) {
  absl::StatusOr<Page<HistoryEventRecord>> page = engine.GetExecutionHistory(arn, 1000, "", false);
  EXPECT_TRUE(page.ok()) << page.status();
  std::map<std::int64_t, std::string> inputs;  // ActivityScheduled id -> its input
  std::map<std::string, std::string> workers;
  for (const HistoryEventRecord& e : page.value_or(Page<HistoryEventRecord>{}).items) {
    const boost::json::object details = boost::json::parse(e.details).as_object();
    if (e.type == "ActivityScheduled") {
      inputs[e.id] = std::string(details.at("input").as_string());
    } else if (e.type == "ActivityStarted") {
      workers[inputs[e.previous_event_id]] = std::string(details.at("workerName").as_string());
    }
  }
  return workers;
}

TEST_F(TaskBatchTest, SlotsWaitingAsOneGetTheTasksOfOneCommitEachStartedForItsWorker) {
  ASSERT_TRUE(engine_->CreateStateMachine("Three", kThreeActivitiesAtOnce, false).ok());
  const PollSlots slots{{"w-a", "w-b", "w-c", "w-d"}, {}};
  absl::StatusOr<std::vector<PolledTask>> got;
  std::thread poller([&] { got = engine_->PollForSlots("work", slots, common::SystemClock().NowMillis() + 10'000); });
  AwaitPollsWaiting(1);
  const std::uint64_t commits0 = engine_->Metrics().commits;
  const std::string arn = engine_->StartExecution("Three", "all", "{}")->arn;
  poller.join();
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ(engine_->Metrics().commits - commits0, 1u) << "three tasks started in the start's commit";
  const std::map<std::string, std::string> started = StartedFor(*engine_, arn);
  std::set<std::size_t> used;
  for (const PolledTask& t : *got) {
    ASSERT_LT(t.slot, slots.workers.size());
    EXPECT_TRUE(used.insert(t.slot).second) << "two tasks for slot " << t.slot;
    EXPECT_EQ(started.at(t.input), slots.workers[t.slot]) << t.input;
  }
}

TEST_F(TaskBatchTest, ASlotWhoseCallerWentAwayGetsNoTaskAndTakenTasksFillTheFreeSlots) {
  ASSERT_TRUE(engine_->CreateStateMachine("Three", kThreeActivitiesAtOnce, false).ok());
  // Slot 0 went away: of the three tasks the start schedules, slot 1 gets one started in that commit, and the
  // other two wait in the queue.
  std::atomic<bool> first_gone{true};
  const PollSlots slots{{"w-a", "w-b"}, [&](std::size_t slot) { return slot == 0 && first_gone.load(); }};
  absl::StatusOr<std::vector<PolledTask>> got;
  std::thread poller([&] { got = engine_->PollForSlots("work", slots, common::SystemClock().NowMillis() + 10'000); });
  AwaitPollsWaiting(1);
  const std::string arn = engine_->StartExecution("Three", "one", "{}")->arn;
  poller.join();
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].slot, 1u);
  EXPECT_EQ(StartedFor(*engine_, arn), (std::map<std::string, std::string>{{(*got)[0].input, "w-b"}}));
  // The two waiting tasks are taken from the queue: one per slot, each started for its slot's worker.
  first_gone = false;
  const PollSlots three{{"w-x", "w-y", "w-z"}, {}};
  got = engine_->PollForSlots("work", three, common::SystemClock().NowMillis() + 10'000);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].slot, 0u);
  EXPECT_EQ((*got)[1].slot, 1u);
  const std::map<std::string, std::string> started = StartedFor(*engine_, arn);
  EXPECT_EQ(started.at((*got)[0].input), "w-x");
  EXPECT_EQ(started.at((*got)[1].input), "w-y");
  EXPECT_EQ(started.size(), 3u);
}

TEST_F(TaskBatchTest, RacingSlottedPollsAndStartsHandEachTaskOutOnceToTheWorkerItWasStartedFor) {
  ASSERT_TRUE(engine_->CreateStateMachine("Three", kThreeActivitiesAtOnce, false).ok());
  constexpr int kExecutions = 40;
  std::atomic<int> taken{0};
  std::mutex mu;
  std::map<std::string, std::pair<std::string, std::string>> given;  // token -> (input, worker)
  std::vector<std::thread> threads;
  for (int p = 0; p < 3; ++p) {
    threads.emplace_back([&, p] {
      const PollSlots slots{{absl::StrCat("p", p, "-0"), absl::StrCat("p", p, "-1"), absl::StrCat("p", p, "-2")}, {}};
      while (taken.load() < 3 * kExecutions) {
        absl::StatusOr<std::vector<PolledTask>> got =
            engine_->PollForSlots("work", slots, common::SystemClock().NowMillis() + 100);
        ASSERT_TRUE(got.ok()) << got.status();
        for (const PolledTask& t : *got) {
          std::lock_guard<std::mutex> lock(mu);
          EXPECT_TRUE(given.emplace(t.token, std::make_pair(t.input, slots.workers[t.slot])).second)
              << "handed out twice: " << t.token;
          EXPECT_TRUE(engine_->CompleteTask(t.token, "{}").ok());
        }
        taken += static_cast<int>(got->size());
      }
    });
  }
  std::vector<std::string> arns;
  for (int i = 0; i < kExecutions; ++i) {
    arns.push_back(engine_->StartExecution("Three", absl::StrCat("r", i), "{}")->arn);
  }
  for (std::thread& t : threads) {
    t.join();
  }
  ASSERT_EQ(given.size(), 3u * kExecutions);
  std::map<std::string, int> per_execution;
  for (const auto& [token, input_worker] : given) {
    per_execution[token.substr(0, token.find('#'))]++;
  }
  for (const std::string& arn : arns) {
    EXPECT_EQ(per_execution[arn], 3) << arn;
    // Every activity was started once, for the worker whose slot received it.
    const std::map<std::string, std::string> started = StartedFor(*engine_, arn);
    EXPECT_EQ(started.size(), 3u) << arn;
    for (const auto& [token, input_worker] : given) {
      if (token.substr(0, token.find('#')) == arn) {
        EXPECT_EQ(started.at(input_worker.first), input_worker.second) << arn << " " << input_worker.first;
      }
    }
    EXPECT_EQ(Finish(arn).status, sm::ExecutionStatus::kSucceeded);
  }
}

TEST_F(TaskBatchTest, APollWhoseCallerWentAwayIsNotGivenATask) {
  std::atomic<bool> gone{false};
  absl::StatusOr<std::vector<PolledTask>> none;
  std::thread poller([&] {
    none = engine_->PollTasks("work", "gone", 1, 1 << 20, common::SystemClock().NowMillis() + 10'000,
                              [&] { return gone.load(); });
  });
  AwaitPollsWaiting(1);
  gone = true;
  std::vector<std::string> arns = StartMany(1);
  poller.join();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(CountEvents(arns[0], "TaskStarted"), 0);
  std::vector<PolledTask> tasks = PollMany(1);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].execution_arn, arns[0]);
}

TEST_F(TaskBatchTest, RacingPollsAndStartsHandEachTaskOutOnce) {
  constexpr int kExecutions = 120;
  std::atomic<int> taken{0};
  std::mutex mu;
  std::set<std::string> tokens;
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      while (taken.load() < kExecutions) {
        absl::StatusOr<std::vector<PolledTask>> got = engine_->PollTasks(
            "work", absl::StrCat("w", w), 1 + w, 1 << 20, common::SystemClock().NowMillis() + 100);
        ASSERT_TRUE(got.ok()) << got.status();
        std::vector<TaskReport> reports;
        for (const PolledTask& t : *got) {
          std::lock_guard<std::mutex> lock(mu);
          EXPECT_TRUE(tokens.insert(t.token).second) << "handed out twice: " << t.token;
          reports.push_back(Complete(t.token, "{}"));
        }
        taken += static_cast<int>(got->size());
        for (const absl::StatusOr<bool>& r : engine_->ReportTasks(reports)) {
          EXPECT_TRUE(r.ok()) << r.status();
        }
      }
    });
  }
  std::vector<std::string> arns;
  std::thread starter([&] { arns = StartMany(kExecutions); });
  starter.join();
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(taken.load(), kExecutions);
  for (const std::string& arn : arns) {
    EXPECT_EQ(Finish(arn).status, sm::ExecutionStatus::kSucceeded) << arn;
    EXPECT_EQ(CountEvents(arn, "TaskStarted"), 1) << arn;
  }
}

TEST_F(TaskBatchTest, AReportsPollReceivesTheNextTaskStartedInTheReportsOwnCommit) {
  const std::string arn = engine_->StartExecution("Steps", "s", "{}")->arn;
  std::vector<PolledTask> a = PollMany(1);
  ASSERT_EQ(a.size(), 1u);
  const EngineMetrics before = engine_->Metrics();
  std::vector<PolledTask> b = ReportAndPoll({Complete(a[0].token, R"({"a":1})")}, 1);
  const EngineMetrics after = engine_->Metrics();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].execution_arn, arn);
  EXPECT_EQ(b[0].state_name, "B");
  EXPECT_EQ(b[0].input, R"({"a":1})");
  EXPECT_EQ(after.commits - before.commits, 1u) << "A's result and B's TaskStarted: one commit";
  EXPECT_EQ(after.tasks_started_at_schedule - before.tasks_started_at_schedule, 1u);
  EXPECT_THAT(EventTypes(arn), ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                                           "TaskSucceeded", "TaskStateExited", "TaskStateEntered", "TaskScheduled",
                                           "TaskStarted"));
  // B's TaskStarted is committed: after a restart B is not offered again, and the token handed out counts.
  Reopen();
  EXPECT_TRUE(PollMany(1, 1 << 20, 50).empty());
  std::vector<PolledTask> c = ReportAndPoll({Complete(b[0].token, R"({"b":1})")}, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].state_name, "C");
  EXPECT_TRUE(ReportAndPoll({Complete(c[0].token, R"({"c":1})")}, 1).empty());
  EXPECT_EQ(Finish(arn).output, R"({"c":1})");
  EXPECT_EQ(CountEvents(arn, "TaskStarted"), 3);
}

TEST_F(TaskBatchTest, AReportsPollThenTakesWhatWaitsUpToItsRoomOldestFirst) {
  const std::string steps = engine_->StartExecution("Steps", "s", "{}")->arn;
  std::vector<PolledTask> a = PollMany(1);
  ASSERT_EQ(a.size(), 1u);
  std::vector<std::string> waiting = StartMany(3);  // queued behind nothing: no poll waits
  std::vector<PolledTask> got = ReportAndPoll({Complete(a[0].token, "{}")}, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].execution_arn, steps) << "the task the report's commit scheduled comes first";
  EXPECT_EQ(got[1].execution_arn, waiting[0]);
  EXPECT_EQ(got[2].execution_arn, waiting[1]);
  for (const PolledTask& t : got) {
    EXPECT_EQ(CountEvents(t.execution_arn, "TaskStarted"), t.execution_arn == steps ? 2 : 1) << t.execution_arn;
  }
  EXPECT_EQ(CountEvents(waiting[2], "TaskStarted"), 0) << "beyond the poll's room";
  std::vector<PolledTask> rest = PollMany(5, 1 << 20, 50);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].execution_arn, waiting[2]);
}

TEST_F(TaskBatchTest, AReportsPollLeavesTheTaskToALongPollThatWaitedFirst) {
  const std::string arn = engine_->StartExecution("Steps", "s", "{}")->arn;
  std::vector<PolledTask> a = PollMany(1);
  ASSERT_EQ(a.size(), 1u);
  std::vector<PolledTask> polled;
  std::thread poller([&] { polled = PollMany(1); });
  AwaitPollsWaiting(1);
  EXPECT_TRUE(ReportAndPoll({Complete(a[0].token, "{}")}, 1).empty());
  poller.join();
  ASSERT_EQ(polled.size(), 1u);
  EXPECT_EQ(polled[0].state_name, "B");
  EXPECT_EQ(CountEvents(arn, "TaskStarted"), 2);
}

TEST_F(TaskBatchTest, AReportsPollWhoseCallerWentAwayStartsNothing) {
  const std::string arn = engine_->StartExecution("Steps", "s", "{}")->arn;
  std::vector<PolledTask> a = PollMany(1);
  ASSERT_EQ(a.size(), 1u);
  StartMany(1);
  EXPECT_TRUE(ReportAndPoll({Complete(a[0].token, "{}")}, 2, [] { return true; }).empty());
  EXPECT_EQ(CountEvents(arn, "TaskStarted"), 1) << "B is queued, not started";
  EXPECT_EQ(PollMany(5, 1 << 20, 50).size(), 2u) << "B and the waiting task are there for the next poll";
}

// A synchronous gRPC server's IsCancelled polls the call's completion queue: the partitions must not ask it
// (under the matcher's lock, on the single writer's thread) while they reserve tasks for a report's poll.
TEST_F(TaskBatchTest, AReportsPollIsAskedWhetherItsCallerLeftOnTheCallersThreadOnly) {
  ASSERT_TRUE(engine_->StartExecution("Steps", "s", "{}").ok());
  std::vector<PolledTask> a = PollMany(1);
  ASSERT_EQ(a.size(), 1u);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> asked{0};
  std::atomic<int> asked_elsewhere{0};
  std::vector<PolledTask> b = ReportAndPoll({Complete(a[0].token, "{}")}, 2, [&] {
    ++asked;
    if (std::this_thread::get_id() != caller) {
      ++asked_elsewhere;
    }
    return false;
  });
  ASSERT_EQ(b.size(), 1u) << "B, started in the report's commit";
  EXPECT_EQ(b[0].state_name, "B");
  EXPECT_GE(asked.load(), 1);
  EXPECT_EQ(asked_elsewhere.load(), 0);
}

TEST_F(TaskBatchTest, AReportsPollMeetsItsRoomAcrossTheTasksOfOneCommit) {
  ASSERT_TRUE(engine_->CreateStateMachine("Fan", R"({"StartAt":"T","States":{
      "T":{"Type":"Task","Resource":"work","Next":"P"},
      "P":{"Type":"Parallel","End":true,"Branches":[
        {"StartAt":"A","States":{"A":{"Type":"Task","Resource":"work","End":true}}},
        {"StartAt":"B","States":{"B":{"Type":"Task","Resource":"work","End":true}}},
        {"StartAt":"C","States":{"C":{"Type":"Task","Resource":"work","End":true}}}]}}})", false).ok());
  const std::string arn = engine_->StartExecution("Fan", "f", "{}")->arn;
  std::vector<PolledTask> t = PollMany(1);
  ASSERT_EQ(t.size(), 1u);
  const std::uint64_t commits0 = engine_->Metrics().commits;
  std::vector<PolledTask> two = ReportAndPoll({Complete(t[0].token, "{}")}, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(engine_->Metrics().commits - commits0, 1u) << "the result and two TaskStarted: one commit";
  EXPECT_EQ(CountEvents(arn, "TaskStarted"), 3);
  std::vector<PolledTask> third = PollMany(5, 1 << 20, 50);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(CountEvents(arn, "TaskStarted"), 4);
}

TEST_F(TaskBatchTest, AfterShutdownAReportsPollIsRefusedWithItsReports) {
  StartMany(1);
  std::vector<PolledTask> t = PollMany(1);
  ASSERT_EQ(t.size(), 1u);
  engine_->Shutdown();
  ReportsAndTasks done =
      engine_->ReportTasksAndPoll({Complete(t[0].token, "{}")}, {SlotPoll{"work", "w1", 1, 1 << 20, {}}});
  ASSERT_EQ(done.results.size(), 1u);
  EXPECT_TRUE(absl::IsUnavailable(done.results[0].status())) << done.results[0].status();
  ASSERT_EQ(done.tasks.size(), 1u);
  EXPECT_TRUE(done.tasks[0].empty());
}

// Workers that report what they hold with a poll for as many, and long-poll only when they hold nothing, race
// over executions of three steps in two partitions: each task is handed out once and started once.
TEST_F(TaskBatchTwoPartitionsTest, RacingReportersWithPollsHandEachTaskOutOnce) {
  constexpr int kExecutions = 90;
  constexpr int kTasks = 3 * kExecutions;
  std::atomic<int> done{0};
  std::mutex mu;
  std::set<std::string> tokens;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      std::vector<PolledTask> held;
      while (done.load() < kTasks) {
        if (held.empty()) {
          absl::StatusOr<std::vector<PolledTask>> got = engine_->PollTasks(
              "work", absl::StrCat("w", w), 1 + w, 1 << 20, common::SystemClock().NowMillis() + 50);
          ASSERT_TRUE(got.ok()) << got.status();
          held = *std::move(got);
        }
        std::vector<TaskReport> reports;
        for (const PolledTask& t : held) {
          std::lock_guard<std::mutex> lock(mu);
          EXPECT_TRUE(tokens.insert(t.token).second) << "handed out twice: " << t.token;
          reports.push_back(Complete(t.token, "{}"));
        }
        if (reports.empty()) {
          continue;
        }
        ReportsAndTasks r = engine_->ReportTasksAndPoll(
            reports, {SlotPoll{"work", absl::StrCat("w", w), static_cast<int>(reports.size()), 1 << 20, {}}});
        for (const absl::StatusOr<bool>& result : r.results) {
          EXPECT_TRUE(result.ok()) << result.status();
        }
        done += static_cast<int>(reports.size());
        ASSERT_EQ(r.tasks.size(), 1u);
        EXPECT_LE(r.tasks[0].size(), reports.size());
        held = std::move(r.tasks[0]);
      }
    });
  }
  std::vector<std::string> arns;
  for (int i = 0; i < kExecutions; ++i) {
    absl::StatusOr<ExecutionInfoRecord> e = engine_->StartExecution("Steps", absl::StrCat("s", i), "{}");
    ASSERT_TRUE(e.ok()) << e.status();
    arns.push_back(e->arn);
  }
  for (std::thread& t : workers) {
    t.join();
  }
  EXPECT_EQ(done.load(), kTasks);
  EXPECT_EQ(tokens.size(), static_cast<std::size_t>(kTasks));
  for (const std::string& arn : arns) {
    EXPECT_EQ(Finish(arn).status, sm::ExecutionStatus::kSucceeded) << arn;
    EXPECT_EQ(CountEvents(arn, "TaskStarted"), 3) << arn;
  }
  EXPECT_GT(engine_->Metrics().tasks_started_at_schedule, 0u);
}

}  // namespace
}  // namespace stepflow::engine::testing
