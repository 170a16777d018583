// The poll pump's fan-out over the other nodes of a cluster (poll_pump.h), on an in-memory local queue and
// fake nodes: when other nodes are asked, in which order, how often, what a forwarded poll does, and that a
// node that hangs, a caller that goes away or a stopping pump end the round.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/api/handler_env.h"
#include "engine/api/poll_pump.h"

namespace stepflow::api {
namespace {

using namespace std::chrono_literals;

engine::PolledTask Task(const std::string& token) {
  engine::PolledTask t;
  t.token = token;
  t.queue = "q";
  return t;
}

// This node's matcher: tasks offered by the test, taken by the pump's executors.
class LocalQueue {
 public:
  void Offer(const std::string& token) {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(Task(token));
    cv_.notify_all();
  }
  PollPump::LocalPoll Poll() {
    return [this](ParkedPoll&, common::EpochMillis deadline, const std::function<void()>&) -> ParkedPoll::Result {
      std::unique_lock<std::mutex> lock(mu_);
      while (tasks_.empty() && NowMillis() < deadline) {
        cv_.wait_for(lock, std::chrono::milliseconds(deadline - NowMillis()));
      }
      if (tasks_.empty()) {
        return std::optional<engine::PolledTask>();
      }
      engine::PolledTask t = tasks_.front();
      tasks_.pop_front();
      return std::optional<engine::PolledTask>(t);
    };
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<engine::PolledTask> tasks_;
};

// The other nodes: each answers with what `behaviour` says; every call is recorded.
class FakePeers final : public PeerPoller {
 public:
  struct Call {
    std::string address;
    std::string queue;
    std::string identity;
    std::string bearer;
    common::EpochMillis call_deadline = 0;
    common::EpochMillis poll_deadline = 0;
  };
  using Behaviour = std::function<ParkedPoll::Result(const std::string& address, const std::function<bool()>& gone,
                                                     common::EpochMillis call_deadline)>;

  FakePeers(std::vector<std::string> peers, Behaviour behaviour)
      : peers_(std::move(peers)), behaviour_(std::move(behaviour)) {}

  std::vector<std::string> Peers() override { return peers_; }
  ParkedPoll::Result Poll(const std::string& address, const ParkedPoll& poll, common::EpochMillis call_deadline,
                          const std::function<bool()>& gone) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back({address, poll.queue, poll.identity, poll.from.bearer, call_deadline, poll.deadline});
      max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
    }
    ParkedPoll::Result r = behaviour_(address, gone, call_deadline);
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    return r;
  }

  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  int max_in_flight() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_in_flight_;
  }

 private:
  const std::vector<std::string> peers_;
  Behaviour behaviour_;
  std::mutex mu_;
  std::vector<Call> calls_;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
};

ParkedPoll::Result None() { return std::optional<engine::PolledTask>(); }

// A poll of queue "q" and its answer.
struct Polled {
  std::shared_ptr<ParkedPoll> poll = std::make_shared<ParkedPoll>();
  std::promise<ParkedPoll::Result> promise;
  std::future<ParkedPoll::Result> answer = promise.get_future();

  explicit Polled(std::chrono::milliseconds wait, bool forwarded = false) {
    poll->queue = "q";
    poll->identity = "w1";
    poll->from.bearer = "token-1";
    poll->deadline = NowMillis() + wait.count();
    poll->take_waiting_only = forwarded;
    poll->answer = [this](ParkedPoll::Result r) { promise.set_value(std::move(r)); };
  }
  // The answer's task token ("" = none); the error's message when it failed.
  std::string Token() {
    ParkedPoll::Result r = answer.get();
    if (!r.ok()) {
      return "error: " + r.status().ToString();
    }
    return r->has_value() ? (*r)->token : "";
  }
};

TEST(PollPumpTest, TheNextPollOfAQueueTakesATaskWhileTheLastOnesTasksStart) {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  bool first_may_finish = false;
  // Every call takes a task at once and says so; the first call's start (its commit) is held by the test.
  PollPump pump(
      [&](ParkedPoll&, common::EpochMillis, const std::function<void()>& taken) -> ParkedPoll::Result {
        int me = 0;
        {
          std::lock_guard<std::mutex> lock(mu);
          me = ++calls;
        }
        taken();
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return me != 1 || first_may_finish; });
        engine::PolledTask t;
        t.token = "t" + std::to_string(me);
        return std::optional<engine::PolledTask>(t);
      },
      /*executors=*/4, nullptr);
  Polled first(std::chrono::seconds(5));
  Polled second(std::chrono::seconds(5));
  pump.Park(first.poll);
  pump.Park(second.poll);
  // Answered while the first poll's task is still starting (an empty answer at its deadline otherwise).
  EXPECT_EQ(second.Token(), "t2");
  {
    std::lock_guard<std::mutex> lock(mu);
    first_may_finish = true;
  }
  cv.notify_all();
  EXPECT_EQ(first.Token(), "t1");
}

// Until the pump's executors have taken every parked poll (at most 10 s).
void AwaitNoneParked(const PollPump& pump) {
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (pump.parked() != 0 && std::chrono::steady_clock::now() < end) {
    std::this_thread::yield();
  }
}

TEST(PollPumpTest, SingleTaskPollsWaitAsOneAndEachGetsTheTaskOfItsSlot) {
  std::mutex mu;
  std::condition_variable cv;
  bool first_may_return = false;
  std::vector<std::vector<std::string>> waits;  // the identities of each wait's slots
  // Wait 1 (the first poll alone) returns nothing once the test says so. Wait 2 gives slots 0 and 2 a task and
  // says so before they start; wait 3 gives slot 1 one without saying so first; wait 4 gives every slot one.
  PollPump pump(
      [&](ParkedPoll& poll, common::EpochMillis, const std::function<void()>& taken) -> ParkedPoll::Result {
        std::unique_lock<std::mutex> lock(mu);
        std::vector<std::string> identities{poll.identity};
        for (const std::shared_ptr<ParkedPoll>& j : poll.joined) {
          identities.push_back(j->identity);
        }
        waits.push_back(identities);
        const std::size_t wait = waits.size();
        const auto task = [&](std::size_t slot) {
          engine::PolledTask t;
          t.token = absl::StrCat("wait", wait, "-", identities[slot]);
          t.slot = slot;
          return t;
        };
        if (wait == 1) {
          cv.wait(lock, [&] { return first_may_return; });
          return None();
        }
        if (wait == 2) {
          poll.served = {true, false, true, false, false};
          lock.unlock();
          taken();
          poll.more = {task(2)};
          return std::optional<engine::PolledTask>(task(0));
        }
        if (wait == 3) {
          return std::optional<engine::PolledTask>(task(1));
        }
        for (std::size_t slot = 1; slot < identities.size(); ++slot) {
          poll.more.push_back(task(slot));
        }
        return std::optional<engine::PolledTask>(task(0));
      },
      /*executors=*/1, nullptr);
  std::vector<std::unique_ptr<Polled>> polls;
  for (int i = 0; i < 5; ++i) {
    polls.push_back(std::make_unique<Polled>(10s));
    polls.back()->poll->identity = absl::StrCat("w", i);
    pump.Park(polls.back()->poll);
    if (i == 0) {  // the one executor waits with it alone while the others are parked
      AwaitNoneParked(pump);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    first_may_return = true;
  }
  cv.notify_all();
  EXPECT_EQ(polls[0]->Token(), "wait2-w0");
  EXPECT_EQ(polls[2]->Token(), "wait2-w2");
  EXPECT_EQ(polls[3]->Token(), "wait3-w3");
  EXPECT_EQ(polls[1]->Token(), "wait4-w1");
  EXPECT_EQ(polls[4]->Token(), "wait4-w4");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(waits, (std::vector<std::vector<std::string>>{
                       {"w0"}, {"w0", "w1", "w2", "w3", "w4"}, {"w1", "w3", "w4"}, {"w1", "w4"}}));
}

TEST(PollPumpTest, ABatchPollWaitsAloneAndTheSingleTaskPollsBehindItWaitAfterIt) {
  std::mutex mu;
  std::condition_variable cv;
  bool hold = true;
  std::vector<std::vector<std::string>> waits;
  PollPump pump(
      [&](ParkedPoll& poll, common::EpochMillis, const std::function<void()>&) -> ParkedPoll::Result {
        std::unique_lock<std::mutex> lock(mu);
        std::vector<std::string> identities{poll.identity};
        for (const std::shared_ptr<ParkedPoll>& j : poll.joined) {
          identities.push_back(j->identity);
        }
        waits.push_back(identities);
        cv.wait(lock, [&] { return !hold; });
        for (std::size_t slot = 1; slot < identities.size(); ++slot) {
          engine::PolledTask t;
          t.token = identities[slot];
          t.slot = slot;
          poll.more.push_back(t);
        }
        engine::PolledTask t;
        t.token = poll.identity;
        return std::optional<engine::PolledTask>(t);
      },
      /*executors=*/1, nullptr);
  std::vector<std::unique_ptr<Polled>> polls;
  for (const char* identity : {"first", "batch", "single-1", "single-2"}) {
    polls.push_back(std::make_unique<Polled>(10s));
    polls.back()->poll->identity = identity;
    polls.back()->poll->max_tasks = polls.size() == 2 ? 5 : 1;
    pump.Park(polls.back()->poll);
    if (polls.size() == 1) {
      AwaitNoneParked(pump);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    hold = false;
  }
  cv.notify_all();
  for (const std::unique_ptr<Polled>& p : polls) {
    EXPECT_EQ(p->Token(), p->poll->identity);
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(waits, (std::vector<std::vector<std::string>>{{"first"}, {"batch"}, {"single-1", "single-2"}}));
}

TEST(PollPumpFanOutTest, AnIdlePollTakesATaskWaitingOnAnotherNode) {
  LocalQueue local;
  auto peers = std::make_unique<FakePeers>(
      std::vector<std::string>{"b:1"}, [](const std::string&, const std::function<bool()>&, common::EpochMillis) {
        return ParkedPoll::Result(std::optional<engine::PolledTask>(Task("from-b")));
      });
  FakePeers* fake = peers.get();
  PollPump pump(local.Poll(), 2, std::move(peers));
  Polled p(10s);
  pump.Park(p.poll);
  EXPECT_EQ(p.Token(), "from-b");
  std::vector<FakePeers::Call> calls = fake->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].queue, "q");
  EXPECT_EQ(calls[0].identity, "w1");
  EXPECT_EQ(calls[0].bearer, "token-1");  // the caller's token goes along
  EXPECT_LE(calls[0].call_deadline, calls[0].poll_deadline);
}

TEST(PollPumpFanOutTest, ATaskWaitingHereIsTakenWithoutAskingOtherNodes) {
  LocalQueue local;
  auto peers = std::make_unique<FakePeers>(
      std::vector<std::string>{"b:1"},
      [](const std::string&, const std::function<bool()>&, common::EpochMillis) { return None(); });
  FakePeers* fake = peers.get();
  PollPump pump(local.Poll(), 2, std::move(peers));
  local.Offer("here");
  Polled p(10s);
  pump.Park(p.poll);
  EXPECT_EQ(p.Token(), "here");
  EXPECT_TRUE(fake->calls().empty());
}

TEST(PollPumpFanOutTest, RoundsStartAtTheNextNodeEachTime) {
  LocalQueue local;
  // Whichever node is asked first has a task: each round asks one node, and the next may start at once.
  auto peers = std::make_unique<FakePeers>(
      std::vector<std::string>{"b:1", "c:1", "d:1"},
      [](const std::string& address, const std::function<bool()>&, common::EpochMillis) {
        return ParkedPoll::Result(std::optional<engine::PolledTask>(Task(address)));
      });
  FakePeers* fake = peers.get();
  PollPump pump(local.Poll(), 2, std::move(peers));
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    Polled p(10s);
    pump.Park(p.poll);
    seen.insert(p.Token());
  }
  EXPECT_EQ(seen, (std::set<std::string>{"b:1", "c:1", "d:1"}));
  EXPECT_EQ(fake->calls().size(), 3u);
}

TEST(PollPumpFanOutTest, AForwardedPollTakesOnlyWhatWaitsAndIsNeverFannedOut) {
  LocalQueue local;
  auto peers = std::make_unique<FakePeers>(
      std::vector<std::string>{"b:1"},
      [](const std::string&, const std::function<bool()>&, common::EpochMillis) {
        return ParkedPoll::Result(std::optional<engine::PolledTask>(Task("from-b")));
      });
  FakePeers* fake = peers.get();
  PollPump pump(local.Poll(), 2, std::move(peers));
  {
    Polled forwarded(10s, /*forwarded=*/true);
    pump.Park(forwarded.poll);
    // Answered empty without waiting out its 10 s: it takes only what waits now.
    ASSERT_EQ(forwarded.answer.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(forwarded.Token(), "");
  }
  {
    local.Offer("here");
    Polled forwarded(10s, /*forwarded=*/true);
    pump.Park(forwarded.poll);
    EXPECT_EQ(forwarded.Token(), "here");
  }
  EXPECT_TRUE(fake->calls().empty());
}

TEST(PollPumpFanOutTest, AForwardedPollIsAnsweredAtOnceWhenALocalPollWaitsOnItsQueue) {
  LocalQueue local;
  PollPump pump(local.Poll(), 2, nullptr);
  Polled waiting(10s);
  pump.Park(waiting.poll);
  // The local poll would take any task offered here first: the forwarded one has nothing to wait for.
  Polled forwarded(10s, /*forwarded=*/true);
  pump.Park(forwarded.poll);
  ASSERT_EQ(forwarded.answer.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(forwarded.Token(), "");
  local.Offer("here");
  EXPECT_EQ(waiting.Token(), "here");
}

// The cost of idle polls: one round per queue at a time whatever their number, then kFanOutIntervalMs
// between rounds. 20 polls of 1.5 s on a node with two others make at most 2 calls per round and
// 1 + 1.5 s / kFanOutIntervalMs + 1 rounds (a slower machine makes fewer).
TEST(PollPumpFanOutTest, IdlePollsOfAQueueShareOneRoundAtATime) {
  LocalQueue local;
  auto peers = std::make_unique<FakePeers>(
      std::vector<std::string>{"b:1", "c:1"}, [](const std::string&, const std::function<bool()>&, common::EpochMillis) {
        std::this_thread::sleep_for(5ms);
        return None();
      });
  FakePeers* fake = peers.get();
  PollPump pump(local.Poll(), 4, std::move(peers));
  std::vector<std::unique_ptr<Polled>> polls;
  for (int i = 0; i < 20; ++i) {
    polls.push_back(std::make_unique<Polled>(1500ms));
    pump.Park(polls.back()->poll);
  }
  for (auto& p : polls) {
    EXPECT_EQ(p->Token(), "");
  }
  static_assert(kFanOutIntervalMs == 1000, "the bound below assumes 1 s between idle rounds");
  EXPECT_EQ(fake->max_in_flight(), 1);
  EXPECT_GE(fake->calls().size(), 2u);  // there was a round
  EXPECT_LE(fake->calls().size(), 2u * 3u);
}

// A node that does not answer (paused, cut off) holds neither the poll past its deadline nor the tasks
// offered here meanwhile, and is left out of the next rounds for kPeerBackoffMs.
TEST(PollPumpFanOutTest, ANodeThatHangsHoldsNeitherThePollNorTheLocalTasks) {
  LocalQueue local;
  std::promise<void> entered;
  std::atomic<int> calls_to_b{0};
  auto peers = std::make_unique<FakePeers>(
      std::vector<std::string>{"b:1"},
      [&](const std::string&, const std::function<bool()>& gone, common::EpochMillis call_deadline) {
        if (calls_to_b++ == 0) {
          entered.set_value();
        }
        while (!gone() && NowMillis() < call_deadline) {
          std::this_thread::sleep_for(5ms);
        }
        return ParkedPoll::Result(absl::DeadlineExceededError("Deadline Exceeded"));
      });
  FakePeers* fake = peers.get();
  PollPump pump(local.Poll(), 2, std::move(peers));
  Polled hung(600ms);
  pump.Park(hung.poll);
  entered.get_future().wait();
  Polled other(10s);
  pump.Park(other.poll);
  local.Offer("here");
  EXPECT_EQ(other.Token(), "here");  // served while the round hangs
  EXPECT_EQ(hung.Token(), "");       // answered at its deadline, not the call's
  std::vector<FakePeers::Call> calls = fake->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_LE(calls[0].call_deadline, calls[0].poll_deadline);
  EXPECT_LE(calls[0].call_deadline, NowMillis() + kPeerCallTimeoutMs);
}

TEST(PollPumpFanOutTest, ANodeWhoseCallFailedIsLeftOutOfTheNextRounds) {
  LocalQueue local;
  auto peers = std::make_unique<FakePeers>(
      std::vector<std::string>{"b:1", "c:1"}, [](const std::string& address, const std::function<bool()>&,
                                                 common::EpochMillis) {
        if (address == "b:1") {
          return ParkedPoll::Result(absl::UnavailableError("ServiceUnavailable: connection refused"));
        }
        return ParkedPoll::Result(std::optional<engine::PolledTask>(Task("from-c")));
      });
  FakePeers* fake = peers.get();
  PollPump pump(local.Poll(), 2, std::move(peers));
  const common::EpochMillis began = NowMillis();
  for (int i = 0; i < 4; ++i) {  // rounds start at b, c, b, c
    Polled p(10s);
    pump.Park(p.poll);
    EXPECT_EQ(p.Token(), "from-c");
  }
  if (NowMillis() - began >= kPeerBackoffMs) {
    GTEST_SKIP() << "the machine was too slow to stay within the backoff";
  }
  int to_b = 0;
  for (const FakePeers::Call& c : fake->calls()) {
    to_b += c.address == "b:1" ? 1 : 0;
  }
  EXPECT_EQ(to_b, 1);
}

TEST(PollPumpFanOutTest, ACallerThatGoesAwayCancelsTheCallUnderWay) {
  LocalQueue local;
  std::promise<void> entered;
  std::atomic<bool> saw_gone{false};
  auto peers = std::make_unique<FakePeers>(
      std::vector<std::string>{"b:1"}, [&](const std::string&, const std::function<bool()>& gone, common::EpochMillis) {
        entered.set_value();
        while (!gone()) {
          std::this_thread::sleep_for(2ms);
        }
        saw_gone = true;
        return ParkedPoll::Result(absl::CancelledError("Cancelled"));
      });
  PollPump pump(local.Poll(), 2, std::move(peers));
  Polled p(30s);
  pump.Park(p.poll);
  entered.get_future().wait();
  p.poll->cancelled.store(true);
  ParkedPoll::Result r = p.answer.get();
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
  EXPECT_TRUE(saw_gone.load());
}

TEST(PollPumpFanOutTest, StopEndsARoundUnderWay) {
  LocalQueue local;
  std::promise<void> entered;
  auto peers = std::make_unique<FakePeers>(
      std::vector<std::string>{"b:1"}, [&](const std::string&, const std::function<bool()>& gone, common::EpochMillis) {
        entered.set_value();
        while (!gone()) {
          std::this_thread::sleep_for(2ms);
        }
        return ParkedPoll::Result(absl::CancelledError("Cancelled"));
      });
  PollPump pump(local.Poll(), 2, std::move(peers));
  Polled p(30s);
  pump.Park(p.poll);
  entered.get_future().wait();
  pump.Stop();
  ParkedPoll::Result r = p.answer.get();
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
}

// Racing pollers and tasks on one node with other nodes that hand out tasks too: every task, here or there,
// reaches exactly one poll.
TEST(PollPumpFanOutTest, EveryTaskReachesExactlyOnePoll) {
  LocalQueue local;
  std::mutex mu;
  int remote_left = 50;
  auto peers = std::make_unique<FakePeers>(
      std::vector<std::string>{"b:1", "c:1"},
      [&](const std::string& address, const std::function<bool()>&, common::EpochMillis) {
        std::lock_guard<std::mutex> lock(mu);
        if (remote_left == 0) {
          return None();
        }
        return ParkedPoll::Result(
            std::optional<engine::PolledTask>(Task(address + "#" + std::to_string(remote_left--))));
      });
  PollPump pump(local.Poll(), 3, std::move(peers));
  std::mutex got_mu;
  std::multiset<std::string> got;
  std::vector<std::thread> pollers;
  std::atomic<bool> done{false};
  for (int t = 0; t < 8; ++t) {
    pollers.emplace_back([&] {
      while (!done.load()) {
        Polled p(300ms);
        pump.Park(p.poll);
        std::string token = p.Token();
        if (!token.empty()) {
          std::lock_guard<std::mutex> lock(got_mu);
          got.insert(token);
        }
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    local.Offer("local#" + std::to_string(i));
  }
  auto all_in = [&] {
    std::lock_guard<std::mutex> lock(got_mu);
    return got.size() >= 100;
  };
  for (int i = 0; i < 3000 && !all_in(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  done = true;
  for (std::thread& t : pollers) {
    t.join();
  }
  ASSERT_EQ(got.size(), 100u);
  for (const std::string& token : got) {
    EXPECT_EQ(got.count(token), 1u) << token;
  }
}

}  // namespace
}  // namespace stepflow::api
