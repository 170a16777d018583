#include "engine/commit_watchers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace stepflow::engine {
namespace {

using Interest = CommitWatchers::Interest;
using Touched = CommitWatchers::Touched;

std::chrono::system_clock::time_point In(std::chrono::milliseconds d) { return std::chrono::system_clock::now() + d; }
std::chrono::system_clock::time_point Far() { return In(std::chrono::seconds(30)); }

TEST(CommitWatchersTest, AWatchForEveryCommitSeesACommitThatLeavesTheExecutionRunning) {
  CommitWatchers watchers;
  CommitWatchers::Watch watch(watchers, "e1");
  watchers.Notify({Touched{"e1", /*ended=*/false}});
  EXPECT_TRUE(watch.WaitForCommit(Far()));
  // Seen: the next wait needs a new commit.
  EXPECT_FALSE(watch.WaitForCommit(In(std::chrono::milliseconds(20))));
}

TEST(CommitWatchersTest, AWatchForTheEndSleepsThroughCommitsThatLeaveTheExecutionRunning) {
  CommitWatchers watchers;
  CommitWatchers::Watch end(watchers, "e1", Interest::kEnd);
  watchers.Notify({Touched{"e1", false}, Touched{"e2", true}});
  watchers.Notify({Touched{"e1", false}});
  EXPECT_FALSE(end.WaitForCommit(In(std::chrono::milliseconds(20))));  // e1 still runs; e2 is not watched here
  watchers.Notify({Touched{"e1", true}});
  EXPECT_TRUE(end.WaitForCommit(Far()));
  EXPECT_FALSE(end.WaitForCommit(In(std::chrono::milliseconds(20))));
  // A redriven execution that ends again wakes it again.
  watchers.Notify({Touched{"e1", false}});
  watchers.Notify({Touched{"e1", true}});
  EXPECT_TRUE(end.WaitForCommit(Far()));
}

TEST(CommitWatchersTest, AnEndBeforeTheFirstWaitIsNotMissed) {
  CommitWatchers watchers;
  CommitWatchers::Watch end(watchers, "e1", Interest::kEnd);
  CommitWatchers::Watch every(watchers, "e1");
  watchers.Notify({Touched{"e1", true}});
  EXPECT_TRUE(end.WaitForCommit(Far()));
  EXPECT_TRUE(every.WaitForCommit(Far()));
}

TEST(CommitWatchersTest, CloseWakesBothKindsAndLaterWaitsReturnAtOnce) {
  CommitWatchers watchers;
  CommitWatchers::Watch end(watchers, "e1", Interest::kEnd);
  CommitWatchers::Watch every(watchers, "e1");
  std::thread closer([&] { watchers.Close(); });
  EXPECT_FALSE(end.WaitForCommit(Far()));
  EXPECT_FALSE(every.WaitForCommit(Far()));
  closer.join();
  EXPECT_TRUE(watchers.closed());
}

// A partition thread commits to an execution many times while threads wait on it: those waiting for the end
// return only after the ending commit was notified, those waiting for every commit see commits before it.
TEST(CommitWatchersTest, RacingWaitersForTheEndWakeOnlyForIt) {
  constexpr int kWaiters = 8;
  constexpr int kRunningCommits = 2000;
  CommitWatchers watchers;
  std::atomic<bool> end_notified{false};
  std::atomic<int> early_wakes{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&] {
      CommitWatchers::Watch end(watchers, "e1", Interest::kEnd);
      ready.fetch_add(1);
      EXPECT_TRUE(end.WaitForCommit(Far()));
      if (!end_notified.load()) {
        early_wakes.fetch_add(1);
      }
    });
  }
  std::atomic<int> every_commits_seen{0};
  std::thread every_waiter([&] {
    CommitWatchers::Watch every(watchers, "e1");
    ready.fetch_add(1);
    while (every.WaitForCommit(In(std::chrono::seconds(5))) && !end_notified.load()) {
      every_commits_seen.fetch_add(1);
    }
  });
  while (ready.load() < kWaiters + 1) {
    std::this_thread::yield();
  }
  for (int i = 0; i < kRunningCommits; ++i) {
    watchers.Notify({Touched{"e1", false}, Touched{"other", true}});
  }
  while (every_commits_seen.load() == 0) {  // it woke for the commits that left e1 running
    std::this_thread::yield();
  }
  end_notified.store(true);
  watchers.Notify({Touched{"e1", true}});
  for (std::thread& t : threads) {
    t.join();
  }
  every_waiter.join();
  EXPECT_EQ(early_wakes.load(), 0);
}

}  // namespace
}  // namespace stepflow::engine
