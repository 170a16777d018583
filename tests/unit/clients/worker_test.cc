// The worker SDK (clients/cpp/worker.h) against the fake Tasks service: outputs and error mapping, the
// concurrency bound, heartbeats, cancellation, drain, reconnection.
#include "clients/cpp/worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>
#include <pthread.h>
#include <unistd.h>

#include "tests/unit/clients/fake_server.h"

namespace stepflow::client {
namespace {

using ::stepflow::testing::Report;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace json = boost::json;

// Waits until `done()` holds (checked every few ms), at most 20 s: for flags set by handlers, which the fake
// server's WaitFor does not hear about.
bool Eventually(const std::function<bool()>& done) {
  auto until = std::chrono::steady_clock::now() + 20s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(server_.address(), 5s);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }

  // Short waits and backoffs so that the tests run fast; logs dropped.
  WorkerOptions Options(int concurrency = 1) {
    WorkerOptions o;
    o.concurrency = concurrency;
    o.poll_wait = 1s;
    o.initial_backoff = 10ms;
    o.max_backoff = 50ms;
    o.log = [](LogSeverity, const std::string&) {};
    return o;
  }

  // Waits until the fake has `n` reports.
  bool WaitReports(std::size_t n) {
    return server_.tasks.WaitFor([&] { return server_.tasks.reports_locked() >= n; });
  }

  // Queues `tasks` tasks on "many", runs a worker of `slots` slots whose handler returns its input until all
  // are reported (at most 60 s), and stops it. The tasks' tokens.
  // Adds `tasks` tasks to queue "many", runs a worker of `slots` handler slots until every task is reported,
  // and returns their tokens. The handler echoes its input unless the test gives its own.
  std::set<std::string> RunEchoTasks(int slots, int tasks, TaskHandler handler = nullptr) {
    std::set<std::string> tokens;
    for (int i = 0; i < tasks; ++i) {
      tokens.insert(server_.tasks.Add("many", std::to_string(i)));
    }
    if (!handler) {
      handler = [](TaskContext&, const json::value& input) -> TaskResult { return input; };
    }
    Worker worker(*client_, Options(slots));
    EXPECT_TRUE(worker.Handle("many", std::move(handler)).ok());
    EXPECT_TRUE(worker.Start().ok());
    EXPECT_TRUE(server_.tasks.WaitFor(
        [&] { return server_.tasks.reports_locked() >= static_cast<std::size_t>(tasks); }, 60s))
        << server_.tasks.reports().size() << " of " << tasks << " reported";
    EXPECT_TRUE(worker.Stop().ok());
    EXPECT_EQ(worker.stats().completed, tasks);
    return tokens;
  }

  testing::FakeServer server_;
  std::unique_ptr<Client> client_;
};

TEST_F(WorkerTest, CompletesWithTheHandlersOutput) {
  Worker worker(*client_, Options());
  ASSERT_TRUE(worker
                  .Handle("q",
                          [](TaskContext& ctx, const json::value& input) -> TaskResult {
                            return json::object{{"echo", input}, {"state", ctx.state_name()}};
                          })
                  .ok());
  std::string t1 = server_.tasks.Add("q", R"({"n":1})");
  std::string t2 = server_.tasks.Add("q", "");
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(2));
  EXPECT_TRUE(worker.Stop().ok());
  Report r1 = server_.tasks.ReportOf(t1);
  EXPECT_TRUE(r1.completed);
  EXPECT_EQ(json::parse(r1.output), json::parse(R"({"echo":{"n":1},"state":"Work"})"));
  EXPECT_EQ(json::parse(server_.tasks.ReportOf(t2).output).at("echo"), json::object());  // "" = {}
  WorkerStats stats = worker.stats();
  EXPECT_EQ(stats.started, 2);
  EXPECT_EQ(stats.completed, 2);
  EXPECT_EQ(stats.running, 0);
  EXPECT_EQ(stats.reports_waiting, 0);
}

// A handler that returns its input reports the text it was given, numbers included: the worker reads inputs as
// the server does (common/precise_json.h), where Boost.JSON 1.81's own parse reads 8.888888888888889E55 as a
// neighbouring double.
TEST_F(WorkerTest, AnEchoedInputIsReportedAsTheTextItWas) {
  Worker worker(*client_, Options());
  ASSERT_TRUE(worker.Handle("q", [](TaskContext&, const json::value& input) -> TaskResult { return input; }).ok());
  const std::string text = R"({"n":8.888888888888889E55,"m":[1E-1,-2.5E-300,12345678901234567]})";
  std::string token = server_.tasks.Add("q", text);
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(1));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.ReportOf(token).output, text);
}

// Handlers run on the worker's own threads, named so that `top -H` and a profiler tell them apart; the threads
// that poll, report and heartbeat are named too.
TEST_F(WorkerTest, HandlersRunOnThreadsNamedAfterTheirRole) {
  auto name_of = [](pid_t tid) {
    std::ifstream comm("/proc/self/task/" + std::to_string(tid) + "/comm");
    std::string name;
    std::getline(comm, name);
    return name;
  };
  std::mutex mu;
  std::string handler_thread;
  Worker worker(*client_, Options());
  ASSERT_TRUE(worker
                  .Handle("q",
                          [&](TaskContext&, const json::value&) -> TaskResult {
                            char buffer[16] = {};
                            pthread_getname_np(pthread_self(), buffer, sizeof(buffer));
                            std::lock_guard lock(mu);
                            handler_thread = buffer;
                            return json::object();
                          })
                  .ok());
  server_.tasks.Add("q", "{}");
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(1));
  std::multiset<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    names.insert(name_of(std::stoi(entry.path().filename().string())));
  }
  EXPECT_TRUE(worker.Stop().ok());
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(handler_thread, "sf-w-handler");
  }
  EXPECT_EQ(names.count("sf-w-handler"), 1u);  // concurrency 1
  EXPECT_EQ(names.count("sf-w-poll"), 1u);
  EXPECT_EQ(names.count("sf-w-report"), 2u);
  EXPECT_EQ(names.count("sf-w-heartbeat"), 1u);
}

TEST_F(WorkerTest, HandleAndStartCheckTheirArguments) {
  Worker worker(*client_, Options());
  EXPECT_TRUE(absl::IsFailedPrecondition(worker.Start()));  // no handler
  auto handler = [](TaskContext&, const json::value&) -> TaskResult { return json::value(); };
  EXPECT_TRUE(absl::IsInvalidArgument(worker.Handle("", handler)));
  EXPECT_TRUE(worker.Handle("q", handler).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(worker.Handle("q", handler)));
  ASSERT_TRUE(worker.Start().ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(worker.Start()));
  EXPECT_TRUE(absl::IsFailedPrecondition(worker.Handle("r", handler)));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_TRUE(worker.Stop().ok());  // idempotent
}

TEST_F(WorkerTest, MapsHandlerErrors) {
  Worker worker(*client_, Options(2));
  ASSERT_TRUE(worker
                  .Handle("q",
                          [](TaskContext&, const json::value& input) -> TaskResult {
                            std::string c(input.at("case").as_string());
                            if (c == "typed") {
                              return TaskError{"Payment.Declined", "card expired"};
                            }
                            if (c == "throw") {
                              throw std::runtime_error("boom");
                            }
                            if (c == "named-status") {
                              return absl::InvalidArgumentError("Bad.Input: no items");
                            }
                            if (c == "status") {
                              return absl::InternalError("oops");
                            }
                            return absl::StatusOr<json::value>(json::value(1));
                          })
                  .ok());
  std::string typed = server_.tasks.Add("q", R"({"case":"typed"})");
  std::string thrown = server_.tasks.Add("q", R"({"case":"throw"})");
  std::string named = server_.tasks.Add("q", R"({"case":"named-status"})");
  std::string status = server_.tasks.Add("q", R"({"case":"status"})");
  std::string statusor = server_.tasks.Add("q", R"({"case":"statusor"})");
  std::string invalid = server_.tasks.Add("q", "{not json");
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(6));
  EXPECT_TRUE(worker.Stop().ok());

  Report r = server_.tasks.ReportOf(typed);
  EXPECT_FALSE(r.completed);
  EXPECT_EQ(r.error, "Payment.Declined");
  EXPECT_EQ(r.cause, "card expired");
  r = server_.tasks.ReportOf(thrown);
  EXPECT_EQ(r.error, "Worker.Exception");
  EXPECT_EQ(r.cause, "boom");
  r = server_.tasks.ReportOf(named);
  EXPECT_EQ(r.error, "Bad.Input");
  EXPECT_EQ(r.cause, "no items");
  r = server_.tasks.ReportOf(status);
  EXPECT_EQ(r.error, "Worker.Error");
  EXPECT_THAT(r.cause, HasSubstr("oops"));
  r = server_.tasks.ReportOf(statusor);
  EXPECT_TRUE(r.completed);
  EXPECT_EQ(r.output, "1");
  r = server_.tasks.ReportOf(invalid);
  EXPECT_EQ(r.error, "Worker.InvalidInput");
  EXPECT_EQ(worker.stats().failed, 5);
}

TEST_F(WorkerTest, RunsAtMostConcurrencyHandlersAndPollsOnlyWithAFreeSlot) {
  constexpr int kSlots = 2;
  std::atomic<int> active{0};
  std::atomic<int> max_active{0};
  Worker worker(*client_, Options(kSlots));
  auto handler = [&](TaskContext&, const json::value&) -> TaskResult {
    int now = ++active;
    int seen = max_active.load();
    while (now > seen && !max_active.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(50ms);
    --active;
    return json::object();
  };
  ASSERT_TRUE(worker.Handle("a", handler).ok());
  ASSERT_TRUE(worker.Handle("b", handler).ok());  // two pollers share the two slots
  for (int i = 0; i < 4; ++i) {
    server_.tasks.Add("a", "{}");
    server_.tasks.Add("b", "{}");
  }
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(8));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(max_active.load(), kSlots);
  EXPECT_LE(server_.tasks.max_busy(), kSlots);  // tasks held + polls in progress
  EXPECT_EQ(worker.stats().completed, 8);
}

TEST_F(WorkerTest, PollsAQueueWithEveryFreeSlotAtOnce) {
  constexpr int kSlots = 4;
  Worker worker(*client_, Options(kSlots));
  ASSERT_TRUE(worker.Handle("idle", [](TaskContext&, const json::value&) -> TaskResult { return json::object(); })
                  .ok());
  ASSERT_TRUE(worker.Start().ok());
  // Nothing to do: every slot holds a long poll of the one queue, not one poll at a time.
  EXPECT_TRUE(Eventually([&] { return server_.tasks.max_busy() == kSlots; })) << server_.tasks.max_busy();
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.max_busy(), kSlots);
}

TEST_F(WorkerTest, OnePollAsksForEveryFreeSlotAndReportsGoInBatchCalls) {
  constexpr int kSlots = 6;
  Worker worker(*client_, Options(kSlots));
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  for (int i = 0; i < kSlots; ++i) {
    server_.tasks.Add("many", std::to_string(i));
  }
  // Every handler waits until all six run: they can only if one poll handed out all six.
  ASSERT_TRUE(worker
                  .Handle("many",
                          [&](TaskContext&, const json::value& input) -> TaskResult {
                            std::unique_lock lock(mu);
                            ++running;
                            cv.notify_all();
                            cv.wait_for(lock, 20s, [&] { return running == kSlots; });
                            return input;
                          })
                  .ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(kSlots));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.max_batch(), kSlots);
  EXPECT_EQ(worker.stats().completed, kSlots);
  EXPECT_GE(server_.tasks.report_batches(), 1);
  EXPECT_EQ(server_.tasks.unary_reports(), 0) << "every result went in a ReportBatch call";
}

// Many handler slots reporting at once while every ReportBatch call takes a while (a synced commit): the
// reports made meanwhile gather into the next call, at most two calls are under way, and every task is
// reported once. Racing reporters are what the batcher's addressed wake-ups must not lose (a lost one hangs a
// handler's slot, and this test then times out waiting for the last reports).
TEST_F(WorkerTest, ManySlotsReportingAtOnceShareAtMostTwoBatchCallsAndLoseNoReport) {
  constexpr int kSlots = 32;
  constexpr int kTasks = 2000;
  server_.tasks.SetReportBatchDelay(2ms);
  const std::set<std::string> tokens = RunEchoTasks(kSlots, kTasks);
  std::set<std::string> reported;
  for (const Report& r : server_.tasks.reports()) {
    EXPECT_TRUE(r.completed) << r.token;
    reported.insert(r.token);
  }
  EXPECT_EQ(reported, tokens);
  EXPECT_EQ(server_.tasks.repeated_reports(), 0);
  EXPECT_LE(server_.tasks.max_concurrent_report_batches(), 2);
  EXPECT_GT(server_.tasks.max_report_batch(), 1) << "reports made during a call went together in the next";
  EXPECT_LT(server_.tasks.report_batches(), kTasks);
  EXPECT_EQ(server_.tasks.unary_reports(), 0);
  // A busy worker's next tasks come back with its reports, each in the slot of a reported task.
  EXPECT_GT(server_.tasks.report_poll_tasks(), kTasks / 2);
  EXPECT_LE(server_.tasks.max_busy(), kSlots) << "tasks held + polls in progress";
}

// More results in one call than a call's polls may ask tasks for (256 together): the call asks for 256, and
// every result is still reported in batch calls. The server holds the worker's two calls (one result each)
// while the other 398 results are made, so that they gather behind them for the next call.
TEST_F(WorkerTest, AReportCallAsksForAtMostTheServersBoundOfTasks) {
  constexpr int kSlots = 400;
  constexpr int kTasks = 800;
  std::set<std::string> tokens;
  for (int i = 0; i < kTasks; ++i) {
    tokens.insert(server_.tasks.Add("many", std::to_string(i)));
  }
  // The first kSlots handlers return when the test lets them (one, then one, then the rest), the others at once.
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  int let_go = 0;
  Worker worker(*client_, Options(kSlots));
  ASSERT_TRUE(worker
                  .Handle("many",
                          [&](TaskContext&, const json::value& input) -> TaskResult {
                            std::unique_lock lock(mu);
                            const int n = started++;
                            cv.notify_all();
                            cv.wait_for(lock, 20s, [&] { return n >= kSlots || n < let_go; });
                            return input;
                          })
                  .ok());
  auto let_go_of = [&](int n) {
    std::lock_guard lock(mu);
    let_go = n;
    cv.notify_all();
  };
  server_.tasks.HoldReportBatches(true);
  ASSERT_TRUE(worker.Start().ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return started == kSlots; }));
  }
  // Both report calls the worker may have under way, one result each, are held by the server.
  let_go_of(1);
  ASSERT_TRUE(server_.tasks.WaitFor([&] { return server_.tasks.report_batches_under_way_locked() == 1; }));
  let_go_of(2);
  ASSERT_TRUE(server_.tasks.WaitFor([&] { return server_.tasks.report_batches_under_way_locked() == 2; }));
  // The other 398 results wait for a call. (A handler stops counting as running just before it hands its
  // result over, so running == 0 alone would let the hold end with the last result still on its way.)
  let_go_of(kSlots);
  ASSERT_TRUE(Eventually([&] {
    const WorkerStats s = worker.stats();
    return s.running == 0 && s.reports_waiting == kSlots - 2;
  }));
  server_.tasks.HoldReportBatches(false);
  ASSERT_TRUE(server_.tasks.WaitFor(
      [&] { return server_.tasks.reports_locked() >= static_cast<std::size_t>(kTasks); }, 60s));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(worker.stats().completed, kTasks);
  EXPECT_GE(server_.tasks.max_report_batch(), kSlots - 2) << "the results made while both calls were held";
  EXPECT_EQ(server_.tasks.most_asked(), 256) << "a call asks for no more tasks than the server's bound";
  EXPECT_EQ(server_.tasks.unary_reports(), 0);
  EXPECT_LE(server_.tasks.max_busy(), kSlots);
  std::set<std::string> reported;
  for (const Report& r : server_.tasks.reports()) {
    reported.insert(r.token);
  }
  EXPECT_EQ(reported, tokens);
}

// The tasks that come back with a report take the reported tasks' slots: with every slot busy and a backlog,
// the worker never holds more than its slots, polls no more once the tasks come with its reports, and a
// stopping worker asks for none.
TEST_F(WorkerTest, TasksThatComeWithReportsTakeTheReportedSlotsAndAStoppingWorkerAsksForNone) {
  constexpr int kSlots = 3;
  constexpr int kTasks = 30;
  for (int i = 0; i < kTasks; ++i) {
    server_.tasks.Add("q", std::to_string(i));
  }
  std::atomic<int> active{0};
  std::atomic<int> max_active{0};
  WorkerOptions o = Options(kSlots);
  o.drain_timeout = 0ms;  // Stop() cancels the handlers at once, after it has stopped asking for tasks
  o.shutdown_grace = 10s;
  Worker worker(*client_, o);
  std::atomic<int> handled{0};
  std::mutex mu;
  std::vector<std::string> last;  // the tasks whose handlers waited for Stop()
  ASSERT_TRUE(worker
                  .Handle("q",
                          [&](TaskContext& ctx, const json::value& input) -> TaskResult {
                            int now = ++active;
                            int seen = max_active.load();
                            while (now > seen && !max_active.compare_exchange_weak(seen, now)) {
                            }
                            if (++handled > kTasks - kSlots) {
                              {
                                std::lock_guard lock(mu);
                                last.push_back(ctx.task_token());
                              }
                              ctx.WaitForCancellation(20s);  // the last ones wait for Stop()
                            }
                            --active;
                            return input;
                          })
                  .ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return handled.load() == kTasks; }));
  const int polls = server_.tasks.polls();
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.reports().size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(max_active.load(), kSlots);
  EXPECT_LE(server_.tasks.max_busy(), kSlots);
  EXPECT_GT(server_.tasks.report_poll_tasks(), 0);
  EXPECT_LT(polls, kTasks / 2) << "most tasks came with reports, not polls";
  ASSERT_EQ(last.size(), static_cast<std::size_t>(kSlots));
  for (const std::string& token : last) {
    EXPECT_TRUE(server_.tasks.ReportOf(token).completed) << token;
    EXPECT_FALSE(server_.tasks.ReportedWithPolls(token)) << token << ": reported after Stop() began, with a poll";
  }
  EXPECT_EQ(worker.stats().completed, kTasks);
}

TEST_F(WorkerTest, IdlePollsOfOneQueueLeaveASlotForAnother) {
  Worker worker(*client_, Options(2));
  std::atomic<bool> b_done{false};
  // "a" has one task, whose handler runs until "b"'s task is done; "a"'s other polls find nothing.
  std::string a = server_.tasks.Add("a", "{}");
  ASSERT_TRUE(worker
                  .Handle("a",
                          [&](TaskContext&, const json::value&) -> TaskResult {
                            return json::value(Eventually([&] { return b_done.load(); }));
                          })
                  .ok());
  ASSERT_TRUE(worker
                  .Handle("b",
                          [&](TaskContext&, const json::value&) -> TaskResult {
                            b_done = true;
                            return json::object();
                          })
                  .ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(server_.tasks.WaitFor([&] { return server_.tasks.polls_locked() >= 3; }));
  std::string b = server_.tasks.Add("b", "{}");
  ASSERT_TRUE(WaitReports(2));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.ReportOf(a).output, "true");
  EXPECT_EQ(server_.tasks.ReportOf(b).output, "{}");
}

// One slot, two queues with nothing to do: the queue whose poll found nothing lets the other's waiting poller have
// the slot, so a task of either is polled within a poll's wait or two. (Before, the thread of the empty poll took
// the slot it freed again at once, and the other queue never polled.)
TEST_F(WorkerTest, QueuesTakeTurnsWithTheOneSlotWhenTheirPollsFindNothing) {
  Worker worker(*client_, Options(1));
  for (const char* queue : {"a", "b"}) {
    ASSERT_TRUE(worker.Handle(queue, [](TaskContext&, const json::value&) -> TaskResult { return json::object(); })
                    .ok());
  }
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(server_.tasks.WaitFor([&] { return server_.tasks.polls_locked() >= 3; }));
  EXPECT_GE(server_.tasks.polls_of("a"), 1);
  EXPECT_GE(server_.tasks.polls_of("b"), 1);
  // A task for the queue polled least: the other one had the slot last.
  const std::string quiet = server_.tasks.polls_of("a") < server_.tasks.polls_of("b") ? "a" : "b";
  std::string token = server_.tasks.Add(quiet, "{}");
  ASSERT_TRUE(WaitReports(1)) << "queue " << quiet << " never got the slot";
  EXPECT_TRUE(server_.tasks.ReportOf(token).completed);
  EXPECT_TRUE(worker.Stop().ok());
}

TEST_F(WorkerTest, HeartbeatsWhileTheHandlerRuns) {
  Worker worker(*client_, Options());
  std::string token = server_.tasks.Add("q", "{}", /*heartbeat_seconds=*/1);  // every ~333 ms
  ASSERT_TRUE(worker
                  .Handle("q",
                          [&](TaskContext& ctx, const json::value&) -> TaskResult {
                            bool beat = server_.tasks.WaitFor(
                                [&] { return server_.tasks.heartbeats_locked(ctx.task_token()) >= 2; });
                            return json::value(beat);
                          })
                  .ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(1));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.ReportOf(token).output, "true");
  int beats = server_.tasks.heartbeats(token);
  EXPECT_GE(beats, 2);
  EXPECT_GE(worker.stats().heartbeats, 2);
  std::this_thread::sleep_for(500ms);  // no heartbeat once the task is reported
  EXPECT_EQ(server_.tasks.heartbeats(token), beats);
}

TEST_F(WorkerTest, NoHeartbeatsWithoutHeartbeatSecondsWhenTheDefaultIsOff) {
  WorkerOptions o = Options();
  o.default_heartbeat_interval = 0ms;
  Worker worker(*client_, o);
  std::string token = server_.tasks.Add("q", "{}");
  ASSERT_TRUE(worker
                  .Handle("q",
                          [](TaskContext&, const json::value&) -> TaskResult {
                            std::this_thread::sleep_for(300ms);
                            return json::object();
                          })
                  .ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(1));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.heartbeats(token), 0);
}

// The handler waits for its cancellation and says why it came.
TaskHandler WaitForCancel(std::atomic<bool>* callback_ran) {
  return [callback_ran](TaskContext& ctx, const json::value&) -> TaskResult {
    ctx.OnCancel([callback_ran] { *callback_ran = true; });
    if (!ctx.WaitForCancellation(20s)) {
      return TaskError{"Test.NotCancelled", ""};
    }
    return TaskError{"Test.Cancelled", CancelReasonName(ctx.cancel_reason())};
  };
}

TEST_F(WorkerTest, HeartbeatAnsweringCancelledCancelsTheHandler) {
  std::atomic<bool> callback_ran{false};
  Worker worker(*client_, Options());
  ASSERT_TRUE(worker.Handle("q", WaitForCancel(&callback_ran)).ok());
  std::string token = server_.tasks.Add("q", "{}", /*heartbeat_seconds=*/1);
  server_.tasks.CancelTask(token);
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(1));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.ReportOf(token).error, "Test.Cancelled");
  EXPECT_EQ(server_.tasks.ReportOf(token).cause, "cancelled");
  EXPECT_TRUE(callback_ran);
}

TEST_F(WorkerTest, ConcurrentTasksAreHeartbeatedAndCancelledFromOneSharedThread) {
  constexpr int kTasks = 6;
  Worker worker(*client_, Options(kTasks));
  std::mutex mu;
  std::set<std::thread::id> cancelling_threads;  // guarded by mu
  std::set<std::thread::id> handler_threads;     // guarded by mu
  std::vector<std::string> beaten;
  std::vector<std::string> cancelled;
  for (int i = 0; i < kTasks; ++i) {
    beaten.push_back(server_.tasks.Add("beat", "{}", /*heartbeat_seconds=*/1));  // every ~333 ms
    cancelled.push_back(server_.tasks.Add("cancel", "{}", /*heartbeat_seconds=*/1));
    server_.tasks.CancelTask(cancelled.back());
  }
  // Each handler of "beat" waits until its task had 3 heartbeats; all run at once.
  ASSERT_TRUE(worker
                  .Handle("beat",
                          [&](TaskContext& ctx, const json::value&) -> TaskResult {
                            {
                              std::lock_guard lock(mu);
                              handler_threads.insert(std::this_thread::get_id());
                            }
                            return json::value(server_.tasks.WaitFor(
                                [&] { return server_.tasks.heartbeats_locked(ctx.task_token()) >= 3; }));
                          })
                  .ok());
  ASSERT_TRUE(worker
                  .Handle("cancel",
                          [&](TaskContext& ctx, const json::value&) -> TaskResult {
                            ctx.OnCancel([&] {
                              std::lock_guard lock(mu);
                              cancelling_threads.insert(std::this_thread::get_id());
                            });
                            return TaskError{"Test.Cancelled",
                                             ctx.WaitForCancellation(20s) ? CancelReasonName(ctx.cancel_reason()) : ""};
                          })
                  .ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(2 * kTasks));
  EXPECT_TRUE(worker.Stop().ok());
  for (const std::string& token : beaten) {
    EXPECT_EQ(server_.tasks.ReportOf(token).output, "true") << token;
  }
  for (const std::string& token : cancelled) {
    EXPECT_EQ(server_.tasks.ReportOf(token).cause, "cancelled") << token;
  }
  std::lock_guard lock(mu);
  // One heartbeat thread for the worker, not one per task, and none of the handlers' threads.
  EXPECT_EQ(cancelling_threads.size(), 1u);
  for (std::thread::id id : cancelling_threads) {
    EXPECT_EQ(handler_threads.count(id), 0u);
  }
}

TEST_F(WorkerTest, RefusedHeartbeatCancelsTheHandler) {
  std::atomic<bool> callback_ran{false};
  WorkerOptions o = Options();
  o.default_heartbeat_interval = 100ms;  // the state has no HeartbeatSeconds: the default interval
  Worker worker(*client_, o);
  ASSERT_TRUE(worker.Handle("q", WaitForCancel(&callback_ran)).ok());
  std::string token = server_.tasks.Add("q", "{}");
  server_.tasks.ForgetTask(token);
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(1));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.ReportOf(token).cause, "task gone");
}

TEST_F(WorkerTest, PassedDeadlineCancelsTheHandler) {
  std::atomic<bool> callback_ran{false};
  Worker worker(*client_, Options());
  ASSERT_TRUE(worker.Handle("q", WaitForCancel(&callback_ran)).ok());
  std::string token = server_.tasks.Add("q", "{}", 0, /*timeout=*/300ms);
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(1));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.ReportOf(token).cause, "deadline");
  EXPECT_TRUE(callback_ran);
}

TEST_F(WorkerTest, StopWaitsForRunningHandlersAndPollsNoMore) {
  std::atomic<bool> release{false};
  std::atomic<bool> entered{false};
  Worker worker(*client_, Options());
  ASSERT_TRUE(worker
                  .Handle("q",
                          [&](TaskContext& ctx, const json::value&) -> TaskResult {
                            entered = true;
                            while (!release) {
                              std::this_thread::sleep_for(5ms);
                            }
                            return json::value(ctx.cancelled());
                          })
                  .ok());
  std::string token = server_.tasks.Add("q", "{}");
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return entered.load(); }));
  std::thread releaser([&] {
    std::this_thread::sleep_for(300ms);
    release = true;
  });
  EXPECT_TRUE(worker.Stop().ok());
  releaser.join();
  // Stop() returned after the handler finished and its result was reported, uncancelled.
  EXPECT_EQ(server_.tasks.ReportOf(token).output, "false");
  int polls = server_.tasks.polls();
  server_.tasks.Add("q", "{}");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(server_.tasks.polls(), polls);
  EXPECT_EQ(server_.tasks.reports().size(), 1u);
}

TEST_F(WorkerTest, StopCancelsThenFailsHandlersThatOutliveTheDrain) {
  std::atomic<bool> release{false};
  std::atomic<bool> entered{false};
  std::atomic<int> reason{-1};
  WorkerOptions o = Options();
  o.drain_timeout = 100ms;
  o.shutdown_grace = 100ms;
  auto worker = std::make_unique<Worker>(*client_, o);
  ASSERT_TRUE(worker
                  ->Handle("q",
                           [&](TaskContext& ctx, const json::value&) -> TaskResult {
                             entered = true;
                             while (!release) {  // ignores cancellation
                               std::this_thread::sleep_for(5ms);
                             }
                             reason = static_cast<int>(ctx.cancel_reason());
                             return json::object();
                           })
                  .ok());
  std::string token = server_.tasks.Add("q", "{}");
  ASSERT_TRUE(worker->Start().ok());
  ASSERT_TRUE(Eventually([&] { return entered.load(); }));
  absl::Status stopped = worker->Stop();
  EXPECT_TRUE(absl::IsDeadlineExceeded(stopped)) << stopped;
  Report r = server_.tasks.ReportOf(token);
  EXPECT_EQ(r.error, "Worker.Shutdown");
  release = true;
  worker.reset();  // waits for the handler
  EXPECT_EQ(reason.load(), static_cast<int>(CancelReason::kShutdown));
  ASSERT_EQ(server_.tasks.reports().size(), 1u);  // the late result was not reported
  EXPECT_FALSE(server_.tasks.reports()[0].completed);
}

TEST_F(WorkerTest, StopLetsCancelledHandlersReportWithinTheGrace) {
  std::atomic<bool> entered{false};
  WorkerOptions o = Options();
  o.drain_timeout = 100ms;
  o.shutdown_grace = 5s;
  Worker worker(*client_, o);
  ASSERT_TRUE(worker
                  .Handle("q",
                          [&](TaskContext& ctx, const json::value&) -> TaskResult {
                            entered = true;
                            ctx.WaitForCancellation(20s);
                            return TaskError{"Test.Interrupted", CancelReasonName(ctx.cancel_reason())};
                          })
                  .ok());
  std::string token = server_.tasks.Add("q", "{}");
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return entered.load(); }));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.ReportOf(token).error, "Test.Interrupted");
  EXPECT_EQ(server_.tasks.ReportOf(token).cause, "shutdown");
}

TEST_F(WorkerTest, RetriesPollsThatFailWithUnavailable) {
  server_.tasks.FailPolls(3);
  Worker worker(*client_, Options());
  ASSERT_TRUE(
      worker.Handle("q", [](TaskContext&, const json::value&) -> TaskResult { return json::object(); }).ok());
  std::string token = server_.tasks.Add("q", "{}");
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(1));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_TRUE(server_.tasks.ReportOf(token).completed);
  EXPECT_GE(server_.tasks.polls(), 4);
}

// A result whose call fails with Unavailable is sent again (with the backoff) until the server takes it; its
// task's slot stays taken meanwhile, so the worker holds no second task.
TEST_F(WorkerTest, RetriesReportsThatFailWithUnavailableAndKeepTheirSlotMeanwhile) {
  server_.tasks.FailReportBatches(3);
  Worker worker(*client_, Options(1));
  ASSERT_TRUE(worker.Handle("q", [](TaskContext&, const json::value& input) -> TaskResult { return input; }).ok());
  std::string first = server_.tasks.Add("q", R"({"n":1})");
  std::string second = server_.tasks.Add("q", R"({"n":2})");
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(2));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(server_.tasks.failed_report_batches(), 3);
  EXPECT_EQ(server_.tasks.ReportOf(first).output, R"({"n":1})");
  EXPECT_EQ(server_.tasks.ReportOf(second).output, R"({"n":2})");
  EXPECT_EQ(server_.tasks.repeated_reports(), 0);
  EXPECT_EQ(server_.tasks.max_busy(), 1);
  EXPECT_EQ(worker.stats().completed, 2);
}

// A result that still fails when its report_timeout has passed is dropped with an error line; its slot is
// freed, and the worker goes on with the next task.
TEST_F(WorkerTest, AReportThatFailsPastItsTimeoutIsDroppedAndFreesItsSlot) {
  server_.tasks.FailReportBatches(1);
  WorkerOptions o = Options(1);
  o.report_timeout = 0ms;  // no second attempt
  std::mutex mu;
  std::vector<std::string> errors;
  o.log = [&](LogSeverity severity, const std::string& line) {
    if (severity == LogSeverity::kError) {
      std::lock_guard lock(mu);
      errors.push_back(line);
    }
  };
  Worker worker(*client_, o);
  ASSERT_TRUE(worker.Handle("q", [](TaskContext&, const json::value& input) -> TaskResult { return input; }).ok());
  std::string first = server_.tasks.Add("q", R"({"n":1})");
  std::string second = server_.tasks.Add("q", R"({"n":2})");
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitReports(1));
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_TRUE(server_.tasks.ReportOf(first).token.empty()) << "the first result was dropped";
  EXPECT_EQ(server_.tasks.ReportOf(second).output, R"({"n":2})");
  EXPECT_EQ(worker.stats().completed, 1);
  std::lock_guard lock(mu);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("ServiceUnavailable: failing on purpose"));
}

TEST_F(WorkerTest, RunDrainsOnSigterm) {
  Worker worker(*client_, Options());
  std::atomic<bool> entered{false};
  ASSERT_TRUE(worker
                  .Handle("q",
                          [&](TaskContext&, const json::value&) -> TaskResult {
                            entered = true;
                            std::this_thread::sleep_for(200ms);
                            return json::value("done");
                          })
                  .ok());
  std::string token = server_.tasks.Add("q", "{}");
  absl::Status ran = absl::UnknownError("not returned");
  std::thread runner([&] { ran = worker.Run(); });
  ASSERT_TRUE(Eventually([&] { return entered.load(); }));  // Run() has installed its handler
  ::kill(::getpid(), SIGTERM);
  runner.join();
  EXPECT_TRUE(ran.ok()) << ran;
  EXPECT_EQ(server_.tasks.ReportOf(token).output, "\"done\"");
}

TEST_F(WorkerTest, RunReturnsWhenStopIsCalled) {
  Worker worker(*client_, Options());
  ASSERT_TRUE(
      worker.Handle("q", [](TaskContext&, const json::value&) -> TaskResult { return json::object(); }).ok());
  absl::Status ran = absl::UnknownError("not returned");
  std::thread runner([&] { ran = worker.Run(); });
  ASSERT_TRUE(server_.tasks.WaitFor([&] { return server_.tasks.polls_locked() > 0; }));
  EXPECT_TRUE(worker.Stop().ok());
  runner.join();
  EXPECT_TRUE(ran.ok()) << ran;
}

// SIGTERM keeps arriving from other threads while Run() wakes, drains and closes its wake-up pipe. A handler
// that read the pipe's descriptor before Run() reset it must finish its write before the pipe is closed: under
// ThreadSanitizer (make test-tsan) a write racing the close is a report; in a normal build it could land in a
// file that reused the descriptor's number.
TEST_F(WorkerTest, SignalsRacingRunsShutdownNeverWriteToItsClosedPipe) {
  // Signals that come while no Run() waits are counted here instead of ending the process.
  static std::atomic<int> outside_run{0};
  struct sigaction counting = {};
  counting.sa_handler = [](int) { outside_run.fetch_add(1); };
  sigemptyset(&counting.sa_mask);
  struct sigaction old = {};
  ASSERT_EQ(::sigaction(SIGTERM, &counting, &old), 0);
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int i = 0; i < 3; ++i) {
    senders.emplace_back([&] {
      while (!stop.load()) {
        ::kill(::getpid(), SIGTERM);
        std::this_thread::sleep_for(100us);
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    Worker worker(*client_, Options());
    EXPECT_TRUE(
        worker.Handle("q", [](TaskContext&, const json::value&) -> TaskResult { return json::object(); }).ok());
    // Run() on a thread of its own, so that the handlers run on other threads (the kernel prefers the main one).
    absl::Status ran = absl::UnknownError("not returned");
    std::thread runner([&] { ran = worker.Run(); });  // returns at the first signal after it installed its handler
    runner.join();
    EXPECT_TRUE(ran.ok()) << "round " << round << ": " << ran;
  }
  stop = true;
  for (std::thread& t : senders) {
    t.join();
  }
  ::sigaction(SIGTERM, &old, nullptr);
}

TEST(TaskResultTest, Conversions) {
  TaskResult object = json::object{{"a", 1}};
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(object.output().at("a"), 1);
  TaskResult number = 3;
  EXPECT_EQ(number.output(), 3);
  TaskResult ok_status = absl::OkStatus();
  EXPECT_EQ(ok_status.output(), json::object());
  TaskResult error = TaskError{"E", "C"};
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.error().error, "E");
}

TEST(TaskContextTest, CancelCallsCallbacksOnceWithTheFirstReason) {
  v1::PollTaskResponse task;
  task.set_task_token("t");
  TaskContext ctx("q", task);
  int calls = 0;
  ctx.OnCancel([&] { ++calls; });
  EXPECT_FALSE(ctx.cancelled());
  EXPECT_FALSE(ctx.WaitForCancellation(1ms));
  EXPECT_FALSE(ctx.deadline().has_value());
  ctx.Cancel(CancelReason::kDeadline);
  ctx.Cancel(CancelReason::kShutdown);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ctx.cancel_reason(), CancelReason::kDeadline);
  ctx.OnCancel([&] { ++calls; });  // already cancelled: called at once
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(ctx.WaitForCancellation(1ms));
}

}  // namespace
}  // namespace stepflow::client
