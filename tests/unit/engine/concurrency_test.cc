// Concurrent calls on the same executions (issue 9, section 7): many threads race Poll, Complete, Fail,
// Heartbeat, Stop, RedriveExecution and dead-letter redrive/discard on a few executions of one partition, so
// that calls touching the same execution meet in one commit group. Then every history is checked, before and
// after a restart: ids are contiguous, each task attempt has one result, nothing follows a terminal event,
// every call answered OK has its effect and every call answered with an error has none, the status of each
// execution is the one its history ends in, and a running execution's waiting task can be polled.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/errors.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

// HeartbeatSeconds makes heartbeats and TaskStarted real commits; the virtual clock never reaches it.
constexpr char kHeartbeatTask[] = R"({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","HeartbeatSeconds":3600,"End":true}}})";

// What the racing calls were told, per execution.
struct Tally {
  int polls = 0;                          // tasks handed out: one TaskStarted each
  std::set<std::string> answered_tokens;  // tokens with an OK Complete or Fail: one result each
  int stops = 0;                          // ExecutionAborted each
  int redrives = 0;                       // ExecutionRedriven each (RedriveExecution or a dead-letter redrive)
  int dead_letters_redriven = 0;          // DeadLetterRedriven each
  int dead_letters_discarded = 0;         // DeadLetterDiscarded each
};

// What a history says.
struct HistoryFacts {
  int started = 0;
  int results = 0;
  int aborted = 0;
  int redriven = 0;
  int dead_letters_redriven = 0;
  int dead_letters_discarded = 0;
  std::string status = "RUNNING";
  bool task_waiting = false;  // the last task is scheduled and not started
  std::vector<std::string> types;
};

bool IsTerminal(const std::string& type) {
  return type == "ExecutionSucceeded" || type == "ExecutionFailed" || type == "ExecutionAborted" ||
         type == "ExecutionTimedOut";
}

std::string StatusOfTerminal(const std::string& type) {
  if (type == "ExecutionSucceeded") {
    return "SUCCEEDED";
  }
  if (type == "ExecutionFailed") {
    return "FAILED";
  }
  if (type == "ExecutionAborted") {
    return "ABORTED";
  }
  return "TIMED_OUT";
}

class ConcurrencyTest : public EngineTest {
 protected:
  ConcurrencyTest() { partitions_ = 1; }  // every execution in one partition: calls share commit groups

  void SetUp() override {
    EngineTest::SetUp();
    ASSERT_TRUE(engine_->CreateStateMachine("Race", kHeartbeatTask, false).ok());
  }

  std::string StartOne() {
    absl::StatusOr<ExecutionInfoRecord> e =
        engine_->StartExecution("Race", absl::StrCat("e", next_name_++), R"({"n":1})");
    EXPECT_TRUE(e.ok()) << e.status();
    std::lock_guard<std::mutex> lock(mu_);
    arns_.push_back(e.ok() ? e->arn : "");
    tally_[arns_.back()];
    return arns_.back();
  }

  // A refusal must name its error and must not be a failure of the engine itself.
  void CheckRefusal(const std::string& call, const absl::Status& s) {
    if (s.ok()) {
      return;
    }
    const bool engine_failure = absl::IsInternal(s) || absl::IsUnknown(s) || absl::IsDataLoss(s) ||
                                absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
    if (engine_failure || errors::AwsErrorName(s).empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      bad_answers_.push_back(absl::StrCat(call, ": ", s.ToString()));
    }
  }

  void Poller(std::atomic<bool>& stop) {
    while (!stop.load()) {
      absl::StatusOr<std::optional<PolledTask>> t =
          engine_->PollTask("work", "w", common::SystemClock().NowMillis() + 5);
      CheckRefusal("Poll", t.status());
      if (!t.ok() || !t->has_value()) {
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      ++tally_[(*t)->execution_arn].polls;
      tokens_.push_back({(*t)->token, (*t)->execution_arn});
    }
  }

  void Reporter(int seed, int ops) {
    std::mt19937 rng(seed);
    for (int i = 0; i < ops; ++i) {
      std::pair<std::string, std::string> token;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (tokens_.empty()) {
          token = {};
        } else {
          // The newest tokens: several reporters race on the same task.
          const std::size_t window = std::min<std::size_t>(tokens_.size(), 4);
          token = tokens_[tokens_.size() - 1 - rng() % window];
        }
      }
      if (token.first.empty()) {
        std::this_thread::yield();
        continue;
      }
      const int op = static_cast<int>(rng() % 10);
      if (op < 3) {
        absl::Status s = engine_->CompleteTask(token.first, R"({"ok":true})");
        CheckRefusal("Complete", s);
        Answered(token, s);
      } else if (op < 7) {
        absl::Status s = engine_->FailTask(token.first, "Boom", "racing");
        CheckRefusal("Fail", s);
        Answered(token, s);
      } else {
        CheckRefusal("Heartbeat", engine_->HeartbeatTask(token.first).status());
      }
    }
  }

  void Answered(const std::pair<std::string, std::string>& token, const absl::Status& s) {
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      tally_[token.second].answered_tokens.insert(token.first);
    }
  }

  std::string AnyExecution(std::mt19937& rng) {
    std::lock_guard<std::mutex> lock(mu_);
    return arns_[rng() % arns_.size()];
  }

  void Operator(int seed, int ops) {
    std::mt19937 rng(seed);
    for (int i = 0; i < ops; ++i) {
      const int op = static_cast<int>(rng() % 20);
      if (op == 0) {
        StartOne();
      } else if (op < 4) {
        const std::string arn = AnyExecution(rng);
        absl::Status s = engine_->StopExecution(arn, "Operator", "racing").status();
        CheckRefusal("Stop", s);
        if (s.ok()) {
          std::lock_guard<std::mutex> lock(mu_);
          ++tally_[arn].stops;
        }
      } else if (op < 9) {
        const std::string arn = AnyExecution(rng);
        absl::Status s = engine_->RedriveExecution(arn).status();
        CheckRefusal("RedriveExecution", s);
        if (s.ok()) {
          std::lock_guard<std::mutex> lock(mu_);
          ++tally_[arn].redrives;
        }
      } else {
        DeadLetterOperation(rng, op < 15);
      }
    }
  }

  // Redrives or discards one of the two oldest dead letters: operators race on the same entries.
  void DeadLetterOperation(std::mt19937& rng, bool redrive) {
    absl::StatusOr<Page<DeadLetterRecord>> page = engine_->ListDeadLetters({}, 2, "");
    CheckRefusal("ListDeadLetters", page.status());
    if (!page.ok() || page->items.empty()) {
      return;
    }
    const DeadLetterRecord& dl = page->items[rng() % page->items.size()];
    absl::StatusOr<std::vector<DeadLetterOutcome>> outcomes =
        redrive ? engine_->RedriveDeadLetters(dl.id, {}, std::nullopt) : engine_->DiscardDeadLetters(dl.id, {});
    CheckRefusal(redrive ? "RedriveDeadLetters" : "DiscardDeadLetters", outcomes.status());
    if (!outcomes.ok()) {
      return;
    }
    for (const DeadLetterOutcome& o : *outcomes) {
      CheckRefusal(redrive ? "RedriveDeadLetters outcome" : "DiscardDeadLetters outcome", o.status);
      if (!o.status.ok()) {
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      Tally& t = tally_[o.execution_arn];
      if (redrive) {
        ++t.redrives;
        ++t.dead_letters_redriven;
      } else {
        ++t.dead_letters_discarded;
      }
    }
  }

  void Race() {
    for (int i = 0; i < 12; ++i) {
      StartOne();
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> pollers;
    for (int i = 0; i < 2; ++i) {
      pollers.emplace_back([&] { Poller(stop); });
    }
    std::vector<std::thread> others;
    for (int i = 0; i < 3; ++i) {
      others.emplace_back([this, i] { Reporter(100 + i, 400); });
    }
    for (int i = 0; i < 3; ++i) {
      others.emplace_back([this, i] { Operator(200 + i, 150); });
    }
    for (std::thread& t : others) {
      t.join();
    }
    stop = true;
    for (std::thread& t : pollers) {
      t.join();
    }
  }

  // Reads the whole history page by page and checks its shape; ADD_FAILUREs name the execution.
  HistoryFacts ReadFacts(const std::string& arn) {
    HistoryFacts f;
    std::vector<HistoryEventRecord> events;
    std::string token;
    do {
      absl::StatusOr<Page<HistoryEventRecord>> page = engine_->GetExecutionHistory(arn, 100, token, false);
      EXPECT_TRUE(page.ok()) << arn << ": " << page.status();
      if (!page.ok()) {
        return f;
      }
      events.insert(events.end(), page->items.begin(), page->items.end());
      token = page->next_page_token;
    } while (!token.empty());
    bool ended = false;
    bool task_open = false;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const HistoryEventRecord& e = events[i];
      f.types.push_back(e.type);
      EXPECT_EQ(e.id, static_cast<std::int64_t>(i + 1)) << arn << ": event ids are not contiguous";
      if (ended && e.type != "ExecutionRedriven" && e.type != "DeadLetterDiscarded") {
        ADD_FAILURE() << arn << ": event " << e.id << " (" << e.type << ") follows the end of the execution";
      }
      if (e.type == "TaskScheduled") {
        task_open = true;
        f.task_waiting = true;
      } else if (e.type == "TaskStarted") {
        ++f.started;
        f.task_waiting = false;
      } else if (e.type == "TaskSucceeded" || e.type == "TaskFailed" || e.type == "TaskTimedOut") {
        EXPECT_TRUE(task_open) << arn << ": event " << e.id << " is a second result of one task attempt";
        task_open = false;
        f.task_waiting = false;
        ++f.results;
      } else if (e.type == "ExecutionRedriven") {
        EXPECT_TRUE(ended) << arn << ": event " << e.id << " redrives a running execution";
        ended = false;
        f.status = "RUNNING";
        ++f.redriven;
      } else if (e.type == "DeadLetterRedriven") {
        ++f.dead_letters_redriven;
      } else if (e.type == "DeadLetterDiscarded") {
        ++f.dead_letters_discarded;
      } else if (IsTerminal(e.type)) {
        ended = true;
        task_open = false;
        f.task_waiting = false;
        f.status = StatusOfTerminal(e.type);
        if (e.type == "ExecutionAborted") {
          ++f.aborted;
        }
      }
    }
    return f;
  }

  // Every history against what its callers were told, and the execution's status and listing against it.
  void CheckAll() {
    std::map<std::string, int> listed;
    for (const char* status : {"RUNNING", "SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"}) {
      ExecutionFilter filter;
      filter.status = ParseExecutionStatusForTest(status);
      absl::StatusOr<Page<ExecutionInfoRecord>> page = engine_->ListExecutions(filter, 1000, "");
      ASSERT_TRUE(page.ok()) << page.status();
      for (const ExecutionInfoRecord& e : page->items) {
        EXPECT_EQ(listed.count(e.arn), 0u) << e.arn << " is listed under two statuses";
        listed[e.arn] = static_cast<int>(e.status);
        EXPECT_EQ(std::string(sm::ExecutionStatusName(e.status)), std::string(status))
            << e.arn << " is listed under another status";
      }
    }
    for (const auto& [arn, t] : tally_) {
      SCOPED_TRACE(arn);
      HistoryFacts f = ReadFacts(arn);
      EXPECT_EQ(f.started, t.polls) << "TaskStarted events vs tasks handed to workers";
      EXPECT_EQ(f.results, static_cast<int>(t.answered_tokens.size())) << "task results vs OK Complete/Fail";
      EXPECT_EQ(f.aborted, t.stops) << "ExecutionAborted events vs OK Stops";
      EXPECT_EQ(f.redriven, t.redrives) << "ExecutionRedriven events vs OK redrives";
      EXPECT_EQ(f.dead_letters_redriven, t.dead_letters_redriven);
      EXPECT_EQ(f.dead_letters_discarded, t.dead_letters_discarded);
      absl::StatusOr<ExecutionInfoRecord> described = engine_->DescribeExecution(arn);
      ASSERT_TRUE(described.ok()) << described.status();
      EXPECT_EQ(sm::ExecutionStatusName(described->status), f.status) << "status vs the end of the history";
      EXPECT_EQ(listed.count(arn), 1u) << "listed under no status";
    }
  }

  static std::optional<sm::ExecutionStatus> ParseExecutionStatusForTest(const std::string& name) {
    for (sm::ExecutionStatus s : {sm::ExecutionStatus::kRunning, sm::ExecutionStatus::kSucceeded,
                                  sm::ExecutionStatus::kFailed, sm::ExecutionStatus::kAborted,
                                  sm::ExecutionStatus::kTimedOut}) {
      if (sm::ExecutionStatusName(s) == name) {
        return s;
      }
    }
    return std::nullopt;
  }

  // Every running execution whose task waits for a worker has it in the queue: polls them all.
  void CheckWaitingTasksAreDispatched() {
    std::set<std::string> waiting;
    for (const auto& [arn, t] : tally_) {
      if (ReadFacts(arn).task_waiting) {
        waiting.insert(arn);
      }
    }
    std::set<std::string> polled;
    while (true) {
      absl::StatusOr<std::optional<PolledTask>> t =
          engine_->PollTask("work", "drain", common::SystemClock().NowMillis() + 200);
      ASSERT_TRUE(t.ok()) << t.status();
      if (!t->has_value()) {
        break;
      }
      polled.insert((*t)->execution_arn);
      ++tally_[(*t)->execution_arn].polls;
    }
    for (const std::string& arn : waiting) {
      EXPECT_EQ(polled.count(arn), 1u) << arn << ": its scheduled task was never offered to a worker";
    }
  }

  std::mutex mu_;
  std::atomic<int> next_name_{0};  // StartOne runs on racing threads
  std::vector<std::string> arns_;
  std::map<std::string, Tally> tally_;
  std::vector<std::pair<std::string, std::string>> tokens_;  // token, execution
  std::vector<std::string> bad_answers_;
};

TEST_F(ConcurrencyTest, RacingCallsNeverForkAHistoryAndEachAnswerIsTheCallsOwn) {
  Race();
  EXPECT_TRUE(bad_answers_.empty()) << bad_answers_.size() << " bad answers, the first: " << bad_answers_.front();
  CheckAll();
  CheckWaitingTasksAreDispatched();
  Reopen();  // recovery replays every execution and must find each history whole
  CheckAll();
}

}  // namespace
}  // namespace stepflow::engine::testing
