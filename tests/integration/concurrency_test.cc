// Concurrent calls over real gRPC on the real server (issue 9, section 7): threads race Poll, Complete, Fail,
// Heartbeat, Stop, RedriveExecution and dead-letter redrive/discard on a few executions; then every history
// is checked, before and after a restart: ids contiguous, one result per task attempt, nothing after the end
// but a redrive or a discard, and each OK answer's effect present (the counts of the events match them).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/integration/fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;

constexpr char kHeartbeatTask[] = R"({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:::activity:race","HeartbeatSeconds":3600,"End":true}}})";

struct Tally {
  int polls = 0;
  std::set<std::string> answered;  // tokens with an OK Complete or Fail
  int stops = 0;
  int redrives = 0;
  int discards = 0;
};

class RaceTest : public ServerFixture {
 protected:
  void Poller(std::atomic<bool>& stop) {
    while (!stop.load()) {
      absl::StatusOr<v1::PollTaskResponse> t = client().PollTask("race", "w", 1s);
      ASSERT_TRUE(t.ok()) << t.status();
      if (t->task_token().empty()) {
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      ++tally_[t->context().execution_arn()].polls;
      tokens_.push_back({t->task_token(), t->context().execution_arn()});
    }
  }

  void Reporter(int seed, int ops) {
    std::mt19937 rng(seed);
    for (int i = 0; i < ops; ++i) {
      std::pair<std::string, std::string> token;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!tokens_.empty()) {
          token = tokens_[tokens_.size() - 1 - rng() % std::min<std::size_t>(tokens_.size(), 4)];
        }
      }
      if (token.first.empty()) {
        std::this_thread::sleep_for(1ms);
        continue;
      }
      const int op = static_cast<int>(rng() % 10);
      absl::Status s = op < 3   ? client().CompleteTask(token.first, "{}")
                       : op < 7 ? client().FailTask(token.first, "Boom", "racing")
                                : client().HeartbeatTask(token.first).status();
      Check(s);
      if (s.ok() && op < 7) {
        std::lock_guard<std::mutex> lock(mu_);
        tally_[token.second].answered.insert(token.first);
      }
    }
  }

  void Operator(int seed, int ops) {
    std::mt19937 rng(seed);
    for (int i = 0; i < ops; ++i) {
      const std::string arn = arns_[rng() % arns_.size()];
      const int op = static_cast<int>(rng() % 10);
      if (op < 2) {
        absl::Status s = client().StopExecution(arn, "Operator", "racing").status();
        Check(s);
        std::lock_guard<std::mutex> lock(mu_);
        tally_[arn].stops += s.ok() ? 1 : 0;
      } else if (op < 5) {
        absl::Status s = client().RedriveExecution(arn).status();
        Check(s);
        std::lock_guard<std::mutex> lock(mu_);
        tally_[arn].redrives += s.ok() ? 1 : 0;
      } else {
        v1::ListDeadLettersRequest list;
        list.set_page_size(2);
        absl::StatusOr<v1::ListDeadLettersResponse> page = client().ListDeadLetters(list);
        ASSERT_TRUE(page.ok()) << page.status();
        if (page->dead_letters().empty()) {
          continue;
        }
        const v1::DeadLetter& dl = page->dead_letters(rng() % page->dead_letters_size());
        const bool redrive = op < 8;
        google::protobuf::RepeatedPtrField<v1::DeadLetterOutcome> outcomes;
        if (redrive) {
          v1::RedriveDeadLettersRequest r;
          r.set_id(dl.id());
          absl::StatusOr<v1::RedriveDeadLettersResponse> a = client().RedriveDeadLetters(r);
          Check(a.status());
          outcomes = a.ok() ? a->outcomes() : outcomes;
        } else {
          v1::DiscardDeadLettersRequest r;
          r.set_id(dl.id());
          absl::StatusOr<v1::DiscardDeadLettersResponse> a = client().DiscardDeadLetters(r);
          Check(a.status());
          outcomes = a.ok() ? a->outcomes() : outcomes;
        }
        std::lock_guard<std::mutex> lock(mu_);
        for (const v1::DeadLetterOutcome& o : outcomes) {
          if (!o.error().empty()) {
            EXPECT_THAT(o.error(), ::testing::MatchesRegex("[A-Za-z.]+: .*")) << "an outcome error without a name";
            continue;
          }
          (redrive ? tally_[o.execution_arn()].redrives : tally_[o.execution_arn()].discards) += 1;
        }
      }
    }
  }

  // A refusal is fine; a failure of the engine (INTERNAL, UNAVAILABLE, ...) or an unnamed error is not.
  void Check(const absl::Status& s) {
    if (s.ok() || absl::IsNotFound(s) || absl::IsFailedPrecondition(s) || absl::IsInvalidArgument(s)) {
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    bad_.push_back(s.ToString());
  }

  void CheckHistories() {
    for (const auto& [arn, t] : tally_) {
      SCOPED_TRACE(arn);
      absl::StatusOr<std::vector<v1::HistoryEvent>> h = client().GetExecutionHistory(arn);
      ASSERT_TRUE(h.ok()) << h.status();
      int started = 0, results = 0, aborted = 0, redriven = 0, discarded = 0;
      bool ended = false, open = false;
      for (std::size_t i = 0; i < h->size(); ++i) {
        const v1::HistoryEvent& e = h->at(i);
        EXPECT_EQ(e.id(), static_cast<std::int64_t>(i + 1)) << "ids are not contiguous";
        const std::string& type = e.type();
        if (ended && type != "ExecutionRedriven" && type != "DeadLetterDiscarded") {
          ADD_FAILURE() << "event " << e.id() << " (" << type << ") follows the end";
        }
        if (type == "TaskScheduled") {
          open = true;
        } else if (type == "TaskStarted") {
          ++started;
        } else if (type == "TaskSucceeded" || type == "TaskFailed") {
          EXPECT_TRUE(open) << "event " << e.id() << " is a second result of one attempt";
          open = false;
          ++results;
        } else if (type == "ExecutionRedriven") {
          ended = false;
          ++redriven;
        } else if (type == "DeadLetterDiscarded") {
          ++discarded;
        } else if (type == "ExecutionSucceeded" || type == "ExecutionFailed" || type == "ExecutionAborted") {
          ended = true;
          open = false;
          aborted += type == "ExecutionAborted" ? 1 : 0;
        }
      }
      EXPECT_EQ(started, t.polls);
      EXPECT_EQ(results, static_cast<int>(t.answered.size()));
      EXPECT_EQ(aborted, t.stops);
      EXPECT_EQ(redriven, t.redrives);
      EXPECT_EQ(discarded, t.discards);
    }
  }

  std::mutex mu_;
  std::vector<std::string> arns_;
  std::map<std::string, Tally> tally_;
  std::vector<std::pair<std::string, std::string>> tokens_;
  std::vector<std::string> bad_;
};

TEST_F(RaceTest, RacingCallsOverGrpcNeverForkAHistory) {
  Create("race", kHeartbeatTask);
  for (int i = 0; i < 8; ++i) {
    arns_.push_back(Start("race", "{}", "r" + std::to_string(i)).arn());
    tally_[arns_.back()];
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> pollers;
  for (int i = 0; i < 2; ++i) {
    pollers.emplace_back([&] { Poller(stop); });
  }
  std::vector<std::thread> others;
  for (int i = 0; i < 3; ++i) {
    others.emplace_back([this, i] { Reporter(10 + i, 150); });
    others.emplace_back([this, i] { Operator(20 + i, 60); });
  }
  for (std::thread& t : others) {
    t.join();
  }
  stop = true;
  for (std::thread& t : pollers) {
    t.join();
  }
  EXPECT_TRUE(bad_.empty()) << bad_.size() << " engine failures, the first: " << (bad_.empty() ? "" : bad_[0]);
  CheckHistories();
  ASSERT_EQ(StopServer(SIGTERM), 0);
  StartServer();
  CheckHistories();
}

}  // namespace
}  // namespace stepflow::itest
