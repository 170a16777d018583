// Workers end to end (issue 4): the real `stepflow server`, real RocksDB and gRPC on 127.0.0.1, tasks served
// by `stepflow worker` processes running shell scripts and by in-process SDK workers (clients/cpp/worker.h):
//   - a worker SIGKILLed mid-task: States.HeartbeatTimeout, the retry runs on another worker;
//   - a task that always fails: dead letter with every attempt, fixed worker, DeadLetters.Redrive;
//     bulk redrive of 100 entries by filter and discard by filter, recorded in the histories;
//   - Stop while a task runs: Heartbeat answers cancelled (raw API, SDK handler, `stepflow worker` command);
//   - late, duplicate, unknown and malformed completions;
//   - .waitForTaskToken completed by another client;
//   - Executions.Redrive of a Map re-runs only the failed iteration.
// (Restarts with tasks leased, queued and in retry backoff: workers_restart_test.cc.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <cstdio>
#include <set>
#include <stop_token>

#include "tests/integration/worker_fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using WorkersTest = WorkerFixture;

// --- 1. A worker killed mid-task: its heartbeats stop, the task times out, the retry runs elsewhere.

constexpr char kHeartbeatMachine[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:hb-work","HeartbeatSeconds":2,
          "Retry":[{"ErrorEquals":["States.HeartbeatTimeout"],"IntervalSeconds":1,"MaxAttempts":2,
                    "BackoffRate":1}],
          "End":true}}})";

// Echoes its input with the worker's ROLE and the attempt; the "victim" hangs instead.
constexpr char kEchoOrHang[] = R"(
if [ "$ROLE" = victim ]; then touch "$DIR/victim-running"; exec sleep 300; fi
input=$(cat)
printf '{"input":%s,"by":"%s","attempt":%s}\n' "$input" "$ROLE" "$STEPFLOW_ATTEMPT"
)";

TEST_F(WorkersTest, KilledWorkerTimesOutAndTheRetryRunsOnAnotherWorker) {
  Create("hb", kHeartbeatMachine);
  std::string script = Script("echo_or_hang.sh", kEchoOrHang);
  StepflowProcess* victim = StartWorkerProcess("hb-work", "victim", script, 1, {{"ROLE", "victim"}});
  ASSERT_NE(victim, nullptr);
  v1::Execution e = Start("hb", R"({"order":7})", "killed-worker");
  ASSERT_TRUE(WaitUntil([&] { return FileExists(tmp_.path() + "/victim-running"); }, 60s))
      << "the victim worker never ran the task";
  EXPECT_EQ(victim->Stop(SIGKILL), 128 + SIGKILL);
  StepflowProcess* rescuer = StartWorkerProcess("hb-work", "rescuer", script, 1, {{"ROLE", "rescuer"}});
  ASSERT_NE(rescuer, nullptr);

  v1::Execution done = WaitForEnd(e.arn(), 120s);
  ASSERT_EQ(done.status(), v1::SUCCEEDED) << ExecutionStatusText(done);
  json::value out = Json(done.output());
  ASSERT_TRUE(out.is_object()) << done.output();
  EXPECT_EQ(out.at("by"), "rescuer");
  EXPECT_EQ(out.at("attempt"), 1);
  EXPECT_EQ(out.at("input"), Json(R"({"order":7})"));

  std::vector<v1::HistoryEvent> h = History(e.arn());
  ExpectWellFormed(h);
  // An activity ARN: AWS's Activity* events.
  EXPECT_EQ(CountType(h, "ActivityScheduled"), 2);
  EXPECT_EQ(CountType(h, "ActivityStarted"), 2);
  EXPECT_EQ(CountType(h, "ActivitySucceeded"), 1);
  EXPECT_EQ(CountType(h, "ActivityFailed"), 0);
  std::vector<v1::HistoryEvent> timed_out = OfType(h, "ActivityTimedOut");
  ASSERT_EQ(timed_out.size(), 1u);
  EXPECT_EQ(DetailString(timed_out[0], "error"), "States.HeartbeatTimeout");
  // In this order: started (victim), timed out, scheduled again, started (rescuer), succeeded.
  std::vector<std::string> task_events;
  for (const v1::HistoryEvent& ev : h) {
    if (ev.type().rfind("Activity", 0) == 0) {
      task_events.push_back(ev.type());
    }
  }
  EXPECT_THAT(task_events, ::testing::ElementsAre("ActivityScheduled", "ActivityStarted", "ActivityTimedOut",
                                                  "ActivityScheduled", "ActivityStarted", "ActivitySucceeded"));
  EXPECT_EQ(h.back().type(), "ExecutionSucceeded");
  absl::StatusOr<std::vector<v1::DeadLetter>> dl = client().ListAllDeadLetters(v1::DeadLetterFilter());
  ASSERT_TRUE(dl.ok()) << dl.status();
  EXPECT_TRUE(dl->empty()) << "a retried timeout is no dead letter";
}

// --- 2. Dead letters: every attempt recorded, redrive once the worker is fixed.

constexpr char kAlwaysFails[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"activity:dl-work",
          "Retry":[{"ErrorEquals":["Bad"],"IntervalSeconds":1,"MaxAttempts":2,"BackoffRate":1}],"Next":"After"},
  "After":{"Type":"Pass","Parameters":{"result.$":"$","after":true},"End":true}}})";

constexpr char kBroken[] = R"(
cat > /dev/null
echo "working on attempt $STEPFLOW_ATTEMPT" >&2
echo "{\"error\":\"Bad\",\"cause\":\"attempt $STEPFLOW_ATTEMPT of $STEPFLOW_STATE_NAME failed\"}" >&2
exit 3
)";

constexpr char kFixed[] = R"(
input=$(cat)
printf '{"fixed":true,"input":%s,"attempt":%s}\n' "$input" "$STEPFLOW_ATTEMPT"
)";

TEST_F(WorkersTest, AlwaysFailingTaskIsDeadLetteredWithEveryAttemptAndRedrivenOnceFixed) {
  Create("dl", kAlwaysFails);
  StepflowProcess* broken = StartWorkerProcess("dl-work", "broken-1", Script("broken.sh", kBroken));
  ASSERT_NE(broken, nullptr);
  v1::Execution e = Start("dl", R"({"id":"dl-1"})", "always-fails");
  v1::Execution failed = WaitForEnd(e.arn(), 120s);
  ASSERT_EQ(failed.status(), v1::FAILED) << ExecutionStatusText(failed);
  EXPECT_EQ(failed.error(), "Bad");
  EXPECT_EQ(failed.cause(), "attempt 2 of Work failed");

  v1::DeadLetterFilter by_queue;
  by_queue.set_queue("dl-work");
  absl::StatusOr<std::vector<v1::DeadLetter>> list = client().ListAllDeadLetters(by_queue);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  const v1::DeadLetter dl = list->front();
  EXPECT_EQ(dl.queue(), "dl-work");
  EXPECT_EQ(dl.execution_arn(), e.arn());
  EXPECT_EQ(dl.state_machine_arn(), e.state_machine_arn());
  EXPECT_EQ(dl.state_name(), "Work");
  EXPECT_EQ(Json(dl.input()), Json(R"({"id":"dl-1"})"));
  EXPECT_EQ(dl.error(), "Bad");
  EXPECT_EQ(dl.cause(), "attempt 2 of Work failed");
  ASSERT_EQ(dl.attempts_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const v1::TaskAttempt& a = dl.attempts(i);
    EXPECT_EQ(a.attempt(), i);
    EXPECT_EQ(a.worker_identity(), "broken-1");
    EXPECT_EQ(a.error(), "Bad");
    EXPECT_EQ(a.cause(), absl::StrCat("attempt ", i, " of Work failed"));
    EXPECT_TRUE(a.has_scheduled() && a.has_started() && a.has_ended()) << a.DebugString();
  }
  absl::StatusOr<v1::DeadLetter> got = client().GetDeadLetter(dl.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), dl.SerializeAsString());
  // The CLI shows the same entry.
  CliResult shown = RunCli({"--server", address(), "--output", "json", "dlq", "show", dl.id()});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  json::value shown_json = Json(shown.out);
  ASSERT_TRUE(shown_json.is_object()) << shown.out;
  EXPECT_EQ(shown_json.at("attempts").as_array().size(), 3u);
  EXPECT_EQ(shown_json.at("attempts").as_array()[1].at("workerIdentity"), "broken-1");

  // "Fix" the worker, then redrive the entry.
  EXPECT_EQ(broken->Stop(SIGTERM), 0);
  ASSERT_NE(StartWorkerProcess("dl-work", "fixed-1", Script("fixed.sh", kFixed)), nullptr);
  // Redriven at once: the stopped worker's cancelled long poll may still be parked on the server, and must
  // not take the task (CancelledPollTakesNoTask).
  v1::RedriveDeadLettersRequest redrive;
  redrive.set_id(dl.id());
  absl::StatusOr<v1::RedriveDeadLettersResponse> r = client().RedriveDeadLetters(redrive);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcomes_size(), 1);
  EXPECT_EQ(r->outcomes(0).id(), dl.id());
  EXPECT_EQ(r->outcomes(0).execution_arn(), e.arn());
  EXPECT_EQ(r->outcomes(0).error(), "");

  v1::Execution done = WaitForEnd(e.arn(), 120s);
  ASSERT_EQ(done.status(), v1::SUCCEEDED) << ExecutionStatusText(done);
  EXPECT_EQ(done.redrive_count(), 1);
  EXPECT_EQ(Json(done.output()),
            Json(R"({"result":{"fixed":true,"input":{"id":"dl-1"},"attempt":0},"after":true})"));
  std::vector<v1::HistoryEvent> h = History(e.arn());
  ExpectWellFormed(h);
  EXPECT_EQ(CountType(h, "ExecutionFailed"), 1);
  EXPECT_EQ(CountType(h, "ExecutionRedriven"), 1);
  EXPECT_EQ(CountType(h, "DeadLetterRedriven"), 1);
  EXPECT_EQ(CountType(h, "TaskScheduled"), 4);
  EXPECT_EQ(CountType(h, "TaskFailed"), 3);
  EXPECT_EQ(CountType(h, "TaskSucceeded"), 1);
  EXPECT_EQ(h.back().type(), "ExecutionSucceeded");
  absl::StatusOr<v1::DeadLetter> gone = client().GetDeadLetter(dl.id());
  EXPECT_TRUE(absl::IsNotFound(gone.status())) << gone.status();
  EXPECT_EQ(client::ErrorName(gone.status()), "DeadLetterDoesNotExist");
  list = client().ListAllDeadLetters(v1::DeadLetterFilter());
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->empty());
}

constexpr char kBulkMachine[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"activity:bulk","End":true}}})";

TEST_F(WorkersTest, BulkRedriveByFilterAndDiscardByFilter) {
  constexpr int kRedriven = 100;
  constexpr int kDiscarded = 20;
  Create("bulk-redrive", kBulkMachine);
  Create("bulk-discard", kBulkMachine);
  std::atomic<bool> fixed{false};
  std::atomic<int> calls{0};
  std::mutex mu;
  std::multiset<std::string> handled;  // execution ARNs, one per handler call after the fix
  client::WorkerOptions options;
  options.concurrency = 8;
  options.identity = "bulk-worker";
  options.poll_wait = std::chrono::seconds(2);
  options.drain_timeout = 5s;
  ASSERT_NE(StartSdkWorker({{"bulk",
                             [&](client::TaskContext& ctx, const json::value& input) -> client::TaskResult {
                               ++calls;
                               if (!fixed) {
                                 return client::TaskError{"Bulk.Bad", "not fixed yet"};
                               }
                               std::lock_guard<std::mutex> lock(mu);
                               handled.insert(ctx.execution_arn());
                               return json::object{{"ok", true}, {"i", input.at("i")}};
                             }}},
                           options),
            nullptr);
  std::vector<std::string> redriven_arns;
  std::vector<std::string> discarded_arns;
  for (int i = 0; i < kRedriven; ++i) {
    redriven_arns.push_back(Start("bulk-redrive", absl::StrCat(R"({"i":)", i, "}"), absl::StrCat("r", i)).arn());
  }
  for (int i = 0; i < kDiscarded; ++i) {
    discarded_arns.push_back(Start("bulk-discard", absl::StrCat(R"({"i":)", i, "}"), absl::StrCat("d", i)).arn());
  }
  for (const auto* arns : {&redriven_arns, &discarded_arns}) {
    for (const std::string& arn : *arns) {
      v1::Execution x = WaitForEnd(arn, 120s);
      ASSERT_EQ(x.status(), v1::FAILED) << arn << ": " << ExecutionStatusText(x);
      EXPECT_EQ(x.error(), "Bulk.Bad");
    }
  }
  EXPECT_EQ(calls.load(), kRedriven + kDiscarded);

  absl::StatusOr<std::vector<v1::DeadLetter>> all = client().ListAllDeadLetters(v1::DeadLetterFilter());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), static_cast<std::size_t>(kRedriven + kDiscarded));
  for (const v1::DeadLetter& d : *all) {
    ASSERT_EQ(d.attempts_size(), 1);
    EXPECT_EQ(d.attempts(0).worker_identity(), "bulk-worker");
    EXPECT_EQ(d.attempts(0).error(), "Bulk.Bad");
    EXPECT_EQ(d.attempts(0).cause(), "not fixed yet");
  }

  fixed = true;
  v1::RedriveDeadLettersRequest redrive;
  redrive.mutable_filter()->set_state_machine("bulk-redrive");
  redrive.mutable_filter()->set_error("Bulk.Bad");
  absl::StatusOr<v1::RedriveDeadLettersResponse> r = client().RedriveDeadLetters(redrive);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcomes_size(), kRedriven);
  std::set<std::string> outcome_arns;
  for (const v1::DeadLetterOutcome& o : r->outcomes()) {
    EXPECT_EQ(o.error(), "") << o.id();
    outcome_arns.insert(o.execution_arn());
  }
  EXPECT_EQ(outcome_arns, std::set<std::string>(redriven_arns.begin(), redriven_arns.end()));

  for (int i = 0; i < kRedriven; ++i) {
    v1::Execution x = WaitForEnd(redriven_arns[i], 120s);
    ASSERT_EQ(x.status(), v1::SUCCEEDED) << redriven_arns[i] << ": " << ExecutionStatusText(x);
    EXPECT_EQ(Json(x.output()), Json(absl::StrCat(R"({"ok":true,"i":)", i, "}")));
    EXPECT_EQ(x.redrive_count(), 1);
    std::vector<v1::HistoryEvent> h = History(redriven_arns[i]);
    ExpectWellFormed(h);
    EXPECT_EQ(CountType(h, "ExecutionRedriven"), 1);
    EXPECT_EQ(CountType(h, "DeadLetterRedriven"), 1);
    EXPECT_EQ(CountType(h, "TaskScheduled"), 2);
    EXPECT_EQ(h.back().type(), "ExecutionSucceeded");
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(handled.size(), static_cast<std::size_t>(kRedriven)) << "each redriven task ran once";
    EXPECT_EQ(std::set<std::string>(handled.begin(), handled.end()),
              std::set<std::string>(redriven_arns.begin(), redriven_arns.end()));
  }
  // The other machine's entries were not touched.
  all = client().ListAllDeadLetters(v1::DeadLetterFilter());
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kDiscarded));
  for (const std::string& arn : discarded_arns) {
    EXPECT_EQ(WaitForEnd(arn).status(), v1::FAILED);
  }

  v1::DiscardDeadLettersRequest discard;
  discard.mutable_filter()->set_state_machine("bulk-discard");
  absl::StatusOr<v1::DiscardDeadLettersResponse> d = client().DiscardDeadLetters(discard);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->outcomes_size(), kDiscarded);
  for (const v1::DeadLetterOutcome& o : d->outcomes()) {
    EXPECT_EQ(o.error(), "") << o.id();
  }
  all = client().ListAllDeadLetters(v1::DeadLetterFilter());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->empty());
  for (const std::string& arn : discarded_arns) {
    v1::Execution x = WaitForEnd(arn);
    EXPECT_EQ(x.status(), v1::FAILED);
    EXPECT_EQ(x.redrive_count(), 0);
    std::vector<v1::HistoryEvent> h = History(arn);
    ExpectWellFormed(h);
    EXPECT_EQ(h.back().type(), "DeadLetterDiscarded");
    EXPECT_EQ(CountType(h, "DeadLetterDiscarded"), 1);
    EXPECT_EQ(CountType(h, "ExecutionFailed"), 1);
    EXPECT_EQ(CountType(h, "ExecutionRedriven"), 0);
  }
  EXPECT_EQ(calls.load(), kRedriven + kDiscarded + kRedriven);
}

// A failure that a Catch handled still leaves a dead letter, but its execution went on and cannot be
// redriven: the outcome says so and nothing changes.
TEST_F(WorkersTest, CaughtFailureIsDeadLetteredButNotRedrivable) {
  Create("caught", R"({"StartAt":"Work","States":{
    "Work":{"Type":"Task","Resource":"activity:caught","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Handled"}],
            "End":true},
    "Handled":{"Type":"Pass","Result":"handled","End":true}}})");
  client::WorkerOptions options;
  options.poll_wait = std::chrono::seconds(2);
  options.drain_timeout = 5s;
  ASSERT_NE(StartSdkWorker({{"caught",
                             [](client::TaskContext&, const json::value&) -> client::TaskResult {
                               return client::TaskError{"Caught.Bad", "always"};
                             }}},
                           options),
            nullptr);
  v1::Execution e = Start("caught", "{}", "caught-one");
  v1::Execution done = WaitForEnd(e.arn(), 60s);
  ASSERT_EQ(done.status(), v1::SUCCEEDED) << ExecutionStatusText(done);
  EXPECT_EQ(done.output(), R"("handled")");
  absl::StatusOr<std::vector<v1::DeadLetter>> list = client().ListAllDeadLetters(v1::DeadLetterFilter());
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().error(), "Caught.Bad");
  std::vector<v1::HistoryEvent> before = History(e.arn());
  v1::RedriveDeadLettersRequest redrive;
  redrive.set_id(list->front().id());
  absl::StatusOr<v1::RedriveDeadLettersResponse> r = client().RedriveDeadLetters(redrive);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcomes_size(), 1);
  EXPECT_THAT(r->outcomes(0).error(), StartsWith("ExecutionNotRedrivable")) << r->DebugString();
  absl::StatusOr<v1::Execution> after = client().DescribeExecution(e.arn());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status(), v1::SUCCEEDED);
  EXPECT_EQ(after->redrive_count(), 0);
  EXPECT_EQ(History(e.arn()).size(), before.size());
}

// A long poll whose call was cancelled (a worker stopped, or died) must not take a task. It used to: it stayed
// parked in the matcher until the end of its 250 ms wait slice, took the task, committed TaskStarted and
// answered nobody, so a Task without HeartbeatSeconds/TimeoutSeconds hung forever (fixed in d1ed8a9: the
// task goes back to its queue).
TEST_F(WorkersTest, CancelledPollTakesNoTask) {
  Create("ghost", R"({"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"activity:ghost","End":true}}})");
  // Five workers' long polls, parked on the server, then cancelled (as Worker::Stop does). They start 50 ms
  // apart so that their 250 ms slices are spread out: whenever the task comes, one has most of a slice left.
  std::vector<std::stop_source> stops(5);
  std::vector<std::thread> polls;
  std::atomic<int> cancelled{0};
  for (std::stop_source& stop : stops) {
    polls.emplace_back([&, token = stop.get_token()] {
      absl::StatusOr<v1::PollTaskResponse> t = client().PollTask("ghost", "ghost-worker", 20s, token);
      if (absl::IsCancelled(t.status())) {
        ++cancelled;
      }
    });
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(1s);  // parked in the matcher
  for (std::stop_source& stop : stops) {
    stop.request_stop();
  }
  for (std::thread& t : polls) {
    t.join();
  }
  EXPECT_EQ(cancelled.load(), 5);
  // The client sees its cancellation at once, the server when the cancel reaches it: until then a server cannot
  // tell a cancelled poll from a live one (the task it hands out then is lost like any answer to a worker that
  // dies, and its HeartbeatSeconds or TimeoutSeconds ends the attempt). Under ThreadSanitizer and load that
  // took long enough for the task below to go to a cancelled poll. So the test waits until the server has ended
  // the five calls (their audit lines), well before their 20 s wait: a server that keeps a cancelled poll parked
  // fails here.
  const std::string cancelled_poll = R"("rpc":"/stepflow.v1.Tasks/Poll","resource":"ghost","result":"CANCELLED")";
  EXPECT_TRUE(WaitUntil(
      [&] {
        const std::string log = server().log();
        int n = 0;
        for (std::size_t at = log.find(cancelled_poll); at != std::string::npos;
             at = log.find(cancelled_poll, at + 1)) {
          ++n;
        }
        return n == 5;
      },
      10s))
      << "the server did not end the five cancelled polls";
  // A task arrives right after the polls were cancelled; a live worker polls for it.
  v1::Execution e = Start("ghost", R"({"g":1})", "ghost-task");
  absl::StatusOr<v1::PollTaskResponse> t = client().PollTask("ghost", "live-worker", 10s);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->context().execution_arn(), e.arn()) << "the task went to a cancelled poll; history:\n"
                                                   << ExecutionStatusText(WaitForEnd(e.arn(), 1s));
}

// --- 3. Stop while a task runs.

constexpr char kStoppable[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"activity:QUEUE","HeartbeatSeconds":3,"End":true}}})";

std::string Stoppable(const std::string& queue) {
  std::string def = kStoppable;
  def.replace(def.find("QUEUE"), 5, queue);
  return def;
}

TEST_F(WorkersTest, StopAnswersTheNextHeartbeatWithCancelled) {
  Create("stop-raw", Stoppable("stop-raw"));
  v1::Execution e = Start("stop-raw", R"({"n":1})", "stopped-raw");
  absl::StatusOr<v1::PollTaskResponse> t;
  ASSERT_TRUE(WaitUntil(
      [&] {
        t = client().PollTask("stop-raw", "raw-worker", 5s);
        return !t.ok() || !t->task_token().empty();
      },
      60s));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->context().execution_arn(), e.arn());
  EXPECT_EQ(t->context().heartbeat_seconds(), 3);
  absl::StatusOr<bool> beat = client().HeartbeatTask(t->task_token());
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_FALSE(*beat);

  absl::StatusOr<v1::Execution> stopped = client().StopExecution(e.arn(), "Operator.Stop", "enough");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status(), v1::ABORTED);
  beat = client().HeartbeatTask(t->task_token());
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_TRUE(*beat) << "the heartbeat after Stop must answer cancelled";
  absl::Status late = client().CompleteTask(t->task_token(), R"({"late":true})");
  EXPECT_TRUE(absl::IsFailedPrecondition(late)) << late;
  EXPECT_EQ(client::ErrorName(late), "TaskTimedOut");
  v1::Execution x = WaitForEnd(e.arn());
  EXPECT_EQ(x.status(), v1::ABORTED);
  std::vector<v1::HistoryEvent> h = History(e.arn());
  ExpectWellFormed(h);
  EXPECT_EQ(h.back().type(), "ExecutionAborted");
  EXPECT_EQ(CountType(h, "TaskSucceeded"), 0);
}

TEST_F(WorkersTest, StopCancelsTheSdkHandler) {
  Create("stop-sdk", Stoppable("stop-sdk"));
  std::atomic<bool> started{false};
  std::atomic<int> reason{-1};
  client::WorkerOptions options;
  options.poll_wait = std::chrono::seconds(2);
  options.drain_timeout = 5s;
  ASSERT_NE(StartSdkWorker({{"stop-sdk",
                             [&](client::TaskContext& ctx, const json::value&) -> client::TaskResult {
                               started = true;
                               bool cancelled = ctx.WaitForCancellation(120s);
                               reason = cancelled ? static_cast<int>(ctx.cancel_reason()) : 0;
                               return client::TaskError{"Handler.Cancelled",
                                                        client::CancelReasonName(ctx.cancel_reason())};
                             }}},
                           options),
            nullptr);
  v1::Execution e = Start("stop-sdk", "{}", "stopped-sdk");
  ASSERT_TRUE(WaitUntil([&] { return started.load(); }, 60s)) << "the handler never ran";
  ASSERT_TRUE(client().StopExecution(e.arn(), "Operator.Stop", "enough").ok());
  ASSERT_TRUE(WaitUntil([&] { return reason.load() != -1; }, 60s)) << "the handler never saw the cancellation";
  EXPECT_EQ(reason.load(), static_cast<int>(client::CancelReason::kCancelled));
  v1::Execution x = WaitForEnd(e.arn());
  EXPECT_EQ(x.status(), v1::ABORTED);
  EXPECT_EQ(x.error(), "Operator.Stop");
}

constexpr char kTrapsTerm[] = R"(
trap 'touch "$DIR/terminated"; exit 143' TERM
cat > /dev/null
touch "$DIR/command-started"
sleep 300 &
echo $! >> "$PIDS"
wait
)";

TEST_F(WorkersTest, StopTerminatesTheWorkersCommand) {
  Create("stop-cli", Stoppable("stop-cli"));
  StepflowProcess* w = StartWorkerProcess("stop-cli", "cli-worker", Script("traps_term.sh", kTrapsTerm), 1, {},
                                          {"--kill-grace", "30"});
  ASSERT_NE(w, nullptr);
  v1::Execution e = Start("stop-cli", "{}", "stopped-cli");
  ASSERT_TRUE(WaitUntil([&] { return FileExists(tmp_.path() + "/command-started"); }, 60s));
  ASSERT_TRUE(client().StopExecution(e.arn()).ok());
  EXPECT_TRUE(WaitUntil([&] { return FileExists(tmp_.path() + "/terminated"); }, 60s))
      << "the command never got SIGTERM";
  EXPECT_TRUE(w->Running()) << "the worker itself keeps going";
  EXPECT_EQ(WaitForEnd(e.arn()).status(), v1::ABORTED);
  // And it serves the next task.
  Create("after-stop", R"({"StartAt":"W","States":{"W":{"Type":"Task","Resource":"activity:stop-cli",
                          "TimeoutSeconds":120,"End":true}}})");
  std::remove((tmp_.path() + "/terminated").c_str());
  std::remove((tmp_.path() + "/command-started").c_str());
  v1::Execution next = Start("after-stop", "{}", "after-stop");
  ASSERT_TRUE(WaitUntil([&] { return FileExists(tmp_.path() + "/command-started"); }, 60s));
  ASSERT_TRUE(client().StopExecution(next.arn()).ok());
  EXPECT_EQ(WaitForEnd(next.arn()).status(), v1::ABORTED);
  EXPECT_EQ(w->Stop(SIGTERM), 0);
}

// --- 5. Late, duplicate, unknown and malformed completions.

constexpr char kTimesOutOnce[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"activity:late","TimeoutSeconds":2,
          "Retry":[{"ErrorEquals":["States.Timeout"],"IntervalSeconds":1,"MaxAttempts":1}],"End":true}}})";

absl::StatusOr<v1::PollTaskResponse> PollUntilTask(client::Client& c, const std::string& queue,
                                                   const std::string& identity) {
  absl::StatusOr<v1::PollTaskResponse> t;
  auto end = std::chrono::steady_clock::now() + 60s;
  do {
    t = c.PollTask(queue, identity, 5s);
    if (!t.ok() || !t->task_token().empty()) {
      return t;
    }
  } while (std::chrono::steady_clock::now() < end);
  return absl::DeadlineExceededError("no task in " + queue);
}

TEST_F(WorkersTest, LateDuplicateUnknownAndMalformedCompletions) {
  Create("late", kTimesOutOnce);
  v1::Execution e = Start("late", R"({"k":1})", "late-one");
  absl::StatusOr<v1::PollTaskResponse> first = PollUntilTask(client(), "late", "slow");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->context().attempt(), 0);
  EXPECT_TRUE(first->context().has_deadline());
  ASSERT_TRUE(WaitForEvent(e.arn(), "TaskTimedOut")) << "the task never timed out";

  // The timed-out attempt's token is refused, whatever the report.
  absl::Status late = client().CompleteTask(first->task_token(), R"({"late":true})");
  EXPECT_TRUE(absl::IsFailedPrecondition(late)) << late;
  EXPECT_THAT(std::string(late.message()), HasSubstr("TaskTimedOut"));
  absl::Status late_fail = client().FailTask(first->task_token(), "Late", "too late");
  EXPECT_TRUE(absl::IsFailedPrecondition(late_fail)) << late_fail;
  EXPECT_EQ(client::ErrorName(late_fail), "TaskTimedOut");
  absl::StatusOr<bool> late_beat = client().HeartbeatTask(first->task_token());
  EXPECT_TRUE(absl::IsFailedPrecondition(late_beat.status())) << late_beat.status();

  absl::StatusOr<v1::PollTaskResponse> second = PollUntilTask(client(), "late", "quick");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->context().attempt(), 1);
  EXPECT_NE(second->task_token(), first->task_token());
  ASSERT_TRUE(client().CompleteTask(second->task_token(), R"({"v":1})").ok());
  v1::Execution done = WaitForEnd(e.arn());
  ASSERT_EQ(done.status(), v1::SUCCEEDED) << ExecutionStatusText(done);
  EXPECT_EQ(Json(done.output()), Json(R"({"v":1})"));
  std::vector<v1::HistoryEvent> before = History(e.arn());
  ExpectWellFormed(before);
  EXPECT_EQ(CountType(before, "TaskTimedOut"), 1);
  EXPECT_EQ(DetailString(OfType(before, "TaskTimedOut")[0], "error"), "States.Timeout");

  // Repeating the completion (or failing it afterwards) is OK and changes nothing.
  absl::Status again = client().CompleteTask(second->task_token(), R"({"v":2})");
  EXPECT_TRUE(again.ok()) << again;
  absl::Status fail_after = client().FailTask(second->task_token(), "Oops", "after the fact");
  EXPECT_TRUE(fail_after.ok()) << fail_after;
  std::vector<v1::HistoryEvent> after = History(e.arn());
  ASSERT_EQ(after.size(), before.size()) << "a repeated completion must not add events";
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].SerializeAsString(), before[i].SerializeAsString()) << "event " << i + 1;
  }
  absl::StatusOr<v1::Execution> still = client().DescribeExecution(e.arn());
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(Json(still->output()), Json(R"({"v":1})"));

  // Tokens the server did not sign: the guessable "<ARN>#<n>" forms, and a real token made non-canonical.
  const std::string real = second->task_token();
  for (const std::string& forged :
       {e.arn() + "#987654", std::string("arn:aws:states:us-east-1:123456789012:execution:late:nobody#1"),
        real.substr(0, real.rfind('.')), real.substr(0, real.rfind('#') + 1) + "0" + real.substr(real.rfind('#') + 1)}) {
    absl::Status refused = client().FailTask(forged, "E", "C");
    EXPECT_TRUE(absl::IsInvalidArgument(refused)) << forged << ": " << refused;
    EXPECT_EQ(client::ErrorName(refused), "InvalidToken") << forged;
  }
  // A malformed one.
  absl::Status malformed = client().CompleteTask("not-a-token", "{}");
  EXPECT_TRUE(absl::IsInvalidArgument(malformed)) << malformed;
  EXPECT_EQ(client::ErrorName(malformed), "InvalidToken");
  absl::StatusOr<bool> malformed_beat = client().HeartbeatTask("also#not#a#token");
  EXPECT_TRUE(absl::IsInvalidArgument(malformed_beat.status())) << malformed_beat.status();
  EXPECT_EQ(client::ErrorName(malformed_beat.status()), "InvalidToken");

  // Output that is not JSON, on a live task: refused, and the task still takes a good result.
  v1::Execution other = Start("late", "{}", "late-two");
  absl::StatusOr<v1::PollTaskResponse> live = PollUntilTask(client(), "late", "careless");
  ASSERT_TRUE(live.ok()) << live.status();
  absl::Status bad_output = client().CompleteTask(live->task_token(), "{not json");
  EXPECT_TRUE(absl::IsInvalidArgument(bad_output)) << bad_output;
  EXPECT_EQ(client::ErrorName(bad_output), "InvalidOutput");
  ASSERT_TRUE(client().CompleteTask(live->task_token(), R"("fine")").ok());
  v1::Execution other_done = WaitForEnd(other.arn());
  EXPECT_EQ(other_done.status(), v1::SUCCEEDED) << ExecutionStatusText(other_done);
  EXPECT_EQ(other_done.output(), R"("fine")");
}

// --- 6. .waitForTaskToken: the worker takes the message, another client answers.

constexpr char kSqsQueue[] = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
constexpr char kWaitForToken[] = R"({"StartAt":"Send","States":{
  "Send":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
          "Parameters":{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/approvals",
                        "MessageBody":{"order.$":"$.order"},"token.$":"$$.Task.Token"},
          "ResultPath":"$.reply","Next":"After"},
  "After":{"Type":"Pass","Result":"continued","ResultPath":"$.after","End":true}}})";

TEST_F(WorkersTest, WaitForTaskTokenIsCompletedByAnotherClient) {
  Create("approval", kWaitForToken);
  v1::Execution e = Start("approval", R"({"order":42})", "needs-approval");
  absl::StatusOr<std::unique_ptr<client::Client>> poller = client::Client::Connect(address(), 10s);
  ASSERT_TRUE(poller.ok()) << poller.status();
  absl::StatusOr<v1::PollTaskResponse> t = PollUntilTask(**poller, kSqsQueue, "sqs-sender");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->queue(), kSqsQueue);
  EXPECT_EQ(t->context().execution_arn(), e.arn());
  EXPECT_EQ(t->context().state_name(), "Send");
  json::value input = Json(t->input());
  ASSERT_TRUE(input.is_object()) << t->input();
  ASSERT_TRUE(input.as_object().contains("token")) << t->input();
  const std::string token(input.at("token").as_string().c_str());
  EXPECT_EQ(token, t->task_token()) << "$$.Task.Token is the task token";
  EXPECT_EQ(input.at("MessageBody"), Json(R"({"order":42})"));
  poller->reset();  // the worker is gone; only the token travels on

  absl::StatusOr<v1::Execution> waiting = client().DescribeExecution(e.arn());
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->status(), v1::RUNNING);
  absl::StatusOr<std::unique_ptr<client::Client>> approver = client::Client::Connect(address(), 10s);
  ASSERT_TRUE(approver.ok()) << approver.status();
  absl::Status s = (*approver)->CompleteTask(token, R"({"approved":true})");
  ASSERT_TRUE(s.ok()) << s;
  v1::Execution done = WaitForEnd(e.arn());
  ASSERT_EQ(done.status(), v1::SUCCEEDED) << ExecutionStatusText(done);
  EXPECT_EQ(Json(done.output()), Json(R"({"order":42,"reply":{"approved":true},"after":"continued"})"));
  std::vector<v1::HistoryEvent> h = History(e.arn());
  ExpectWellFormed(h);
  EXPECT_EQ(CountType(h, "TaskSucceeded"), 1);
  EXPECT_EQ(CountType(h, "PassStateEntered"), 1);
}

// --- 7. Executions.Redrive of a Map: only the failed iteration runs again.

constexpr char kMapMachine[] = R"({"StartAt":"Fan","States":{
  "Fan":{"Type":"Map","ItemsPath":"$.items",
         "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Item",
                          "States":{"Item":{"Type":"Task","Resource":"activity:map-item","End":true}}},
         "End":true}}})";

TEST_F(WorkersTest, RedriveExecutionRerunsOnlyTheFailedMapIteration) {
  Create("fan", kMapMachine);
  std::atomic<bool> fixed{false};
  std::mutex mu;
  std::vector<int> items;  // every task the worker received, by item
  client::WorkerOptions options;
  options.concurrency = 5;
  options.poll_wait = std::chrono::seconds(2);
  options.drain_timeout = 5s;
  client::Client& observer = client();
  ASSERT_NE(StartSdkWorker({{"map-item",
                             [&](client::TaskContext& ctx, const json::value& input) -> client::TaskResult {
                               int item = static_cast<int>(input.as_int64());
                               {
                                 std::lock_guard<std::mutex> lock(mu);
                                 items.push_back(item);
                               }
                               if (item != 3 || fixed) {
                                 return json::object{{"done", item}};
                               }
                               // Fail only once the four others have succeeded, so that none is cut short.
                               WaitUntil(
                                   [&] {
                                     absl::StatusOr<std::vector<v1::HistoryEvent>> h =
                                         observer.GetExecutionHistory(ctx.execution_arn());
                                     return h.ok() && CountType(*h, "MapIterationSucceeded") >= 4;
                                   },
                                   60s);
                               return client::TaskError{"Item.Bad", "item 3 is bad"};
                             }}},
                           options),
            nullptr);
  v1::Execution e = Start("fan", R"({"items":[1,2,3,4,5]})", "fan-out");
  v1::Execution failed = WaitForEnd(e.arn(), 120s);
  ASSERT_EQ(failed.status(), v1::FAILED) << ExecutionStatusText(failed);
  EXPECT_EQ(failed.error(), "Item.Bad");
  {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<int> sorted = items;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_THAT(sorted, ::testing::ElementsAre(1, 2, 3, 4, 5));
  }
  std::vector<v1::HistoryEvent> h = History(e.arn());
  ASSERT_EQ(CountType(h, "MapIterationSucceeded"), 4) << "the other iterations succeeded before the failure";

  fixed = true;
  absl::StatusOr<v1::Execution> redriven = client().RedriveExecution(e.arn());
  ASSERT_TRUE(redriven.ok()) << redriven.status();
  EXPECT_EQ(redriven->status(), v1::RUNNING);
  EXPECT_EQ(redriven->redrive_count(), 1);
  v1::Execution done = WaitForEnd(e.arn(), 120s);
  ASSERT_EQ(done.status(), v1::SUCCEEDED) << ExecutionStatusText(done);
  EXPECT_EQ(Json(done.output()), Json(R"([{"done":1},{"done":2},{"done":3},{"done":4},{"done":5}])"));
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(items.size(), 6u) << "only the failed iteration runs again";
    EXPECT_EQ(items.back(), 3);
  }
  h = History(e.arn());
  ExpectWellFormed(h);
  EXPECT_EQ(CountType(h, "ExecutionRedriven"), 1);
  EXPECT_EQ(CountType(h, "MapIterationStarted"), 6);
  EXPECT_EQ(CountType(h, "MapIterationSucceeded"), 5);
  EXPECT_EQ(CountType(h, "MapIterationFailed"), 1);
  EXPECT_EQ(CountType(h, "TaskScheduled"), 6);
  EXPECT_EQ(h.back().type(), "ExecutionSucceeded");
  // Redriving a SUCCEEDED execution is refused.
  absl::StatusOr<v1::Execution> again = client().RedriveExecution(e.arn());
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  EXPECT_EQ(client::ErrorName(again.status()), "ExecutionNotRedrivable");
}

}  // namespace
}  // namespace stepflow::itest
