// The batched worker calls (issue 13) on the real binary: Tasks.PollBatch hands out many tasks per call,
// Tasks.ReportBatch answers many completions, failures and heartbeats per call, each as its unary call;
// bounds, duplicates, racing reporters, a worker gone mid-batch, and the C++ SDK worker on the batched calls.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "clients/cpp/worker.h"
#include "tests/integration/rest_fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kOneTask[] = R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"batch-q","End":true}}})";
// A task that times out after 2 s and is tried again once.
constexpr char kRetriedOnTimeout[] = R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"retry-q",
    "TimeoutSeconds":2,"Retry":[{"ErrorEquals":["States.Timeout"],"IntervalSeconds":1,"MaxAttempts":1}],
    "End":true}}})";

class TaskBatchTest : public ServerFixture {
 protected:
  std::vector<std::string> StartMany(const std::string& machine, int n) {
    std::vector<std::string> arns;
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<v1::Execution> e = client().StartExecution(machine, absl::StrCat(R"({"i":)", i, "}"));
      EXPECT_TRUE(e.ok()) << e.status();
      arns.push_back(e.ok() ? e->arn() : "");
    }
    return arns;
  }
  // Polls `queue` until `n` tasks came (at most 20 s); the calls it took in `calls`.
  std::vector<v1::PollTaskResponse> PollAll(const std::string& queue, int n, int* calls = nullptr,
                                            client::Client* c = nullptr) {
    std::vector<v1::PollTaskResponse> tasks;
    int made = 0;
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (static_cast<int>(tasks.size()) < n && std::chrono::steady_clock::now() < end) {
      absl::StatusOr<std::vector<v1::PollTaskResponse>> got =
          (c != nullptr ? *c : client()).PollTasks(queue, "itest", n - static_cast<int>(tasks.size()), 5s);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) {
        break;
      }
      ++made;
      tasks.insert(tasks.end(), got->begin(), got->end());
    }
    EXPECT_EQ(static_cast<int>(tasks.size()), n);
    if (calls != nullptr) {
      *calls = made;
    }
    return tasks;
  }
  static v1::TaskReport Complete(const std::string& token, const std::string& output) {
    v1::TaskReport r;
    r.mutable_complete()->set_task_token(token);
    r.mutable_complete()->set_output(output);
    return r;
  }
  int Count(const std::string& arn, const std::string& type) {
    absl::StatusOr<std::vector<v1::HistoryEvent>> h = client().GetExecutionHistory(arn);
    EXPECT_TRUE(h.ok()) << h.status();
    int n = 0;
    for (const v1::HistoryEvent& e : h.value_or(std::vector<v1::HistoryEvent>{})) {
      n += e.type() == type ? 1 : 0;
    }
    return n;
  }
  // The unary call's answer, as a TaskReportResult carries it.
  static std::pair<int, std::string> Unary(const absl::Status& s) {
    return {static_cast<int>(s.code()), std::string(s.message())};
  }
  static std::pair<int, std::string> Item(const v1::TaskReportResult& r) { return {r.code(), r.message()}; }
};

TEST_F(TaskBatchTest, OnePollHandsOutManyTasksAndOneCallCompletesThem) {
  Create("batch", kOneTask);
  std::vector<std::string> arns = StartMany("batch", 12);
  absl::StatusOr<std::vector<v1::PollTaskResponse>> tasks = client().PollTasks("batch-q", "itest", 12, 5s);
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_EQ(tasks->size(), 12u) << "the twelve waiting tasks in one call";
  std::set<std::string> tokens;
  v1::ReportTaskBatchRequest reports;
  for (const v1::PollTaskResponse& t : *tasks) {
    tokens.insert(t.task_token());
    EXPECT_EQ(t.queue(), "batch-q");
    EXPECT_EQ(Count(t.context().execution_arn(), "TaskStarted"), 1) << "started before the answer";
    *reports.add_reports() = Complete(t.task_token(), t.input());
  }
  EXPECT_EQ(tokens.size(), 12u);
  absl::StatusOr<std::vector<v1::PollTaskResponse>> none = client().PollTasks("batch-q", "itest", 12, 1s);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty()) << "each task handed out once";
  absl::StatusOr<v1::ReportTaskBatchResponse> done = client().ReportTasks(reports);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->results_size(), 12);
  for (const v1::TaskReportResult& r : done->results()) {
    EXPECT_EQ(r.code(), 0) << r.message();
  }
  for (int i = 0; i < 12; ++i) {
    v1::Execution e = WaitForEnd(arns[i]);
    EXPECT_EQ(e.status(), v1::SUCCEEDED);
    EXPECT_EQ(e.output(), absl::StrCat(R"({"i":)", i, "}"));
  }
}

TEST_F(TaskBatchTest, MixedReportsAreEachAnsweredAsTheirUnaryCall) {
  Create("batch", kOneTask);
  std::vector<std::string> arns = StartMany("batch", 4);
  std::vector<v1::PollTaskResponse> t = PollAll("batch-q", 4);
  ASSERT_EQ(t.size(), 4u);
  v1::ReportTaskBatchRequest request;
  *request.add_reports() = Complete(t[0].task_token(), R"({"first":1})");
  v1::FailTaskRequest* fail = request.add_reports()->mutable_fail();
  fail->set_task_token(t[1].task_token());
  fail->set_error("Custom.Error");
  fail->set_cause("it broke");
  request.add_reports()->mutable_heartbeat()->set_task_token(t[2].task_token());
  *request.add_reports() = Complete(t[3].task_token(), "{not json");
  *request.add_reports() = Complete("nonsense", "{}");
  request.add_reports();                                      // none of complete, fail, heartbeat
  *request.add_reports() = Complete("", "{}");                // no token
  *request.add_reports() = Complete(t[0].task_token(), R"({"second":1})");  // a duplicate: OK, no effect
  absl::StatusOr<v1::ReportTaskBatchResponse> response = client().ReportTasks(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 8);
  const auto& r = response->results();
  EXPECT_EQ(r[0].code(), 0) << r[0].message();
  EXPECT_EQ(r[1].code(), 0) << r[1].message();
  EXPECT_EQ(r[2].code(), 0) << r[2].message();
  EXPECT_FALSE(r[2].cancelled());
  EXPECT_EQ(r[3].error(), "InvalidOutput");
  EXPECT_EQ(Item(r[3]), Unary(client().CompleteTask(t[3].task_token(), "{not json")));
  EXPECT_EQ(r[4].error(), "InvalidToken");
  EXPECT_EQ(Item(r[4]), Unary(client().CompleteTask("nonsense", "{}")));
  EXPECT_EQ(r[5].code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(r[5].error(), "ValidationException");
  EXPECT_THAT(r[5].message(), HasSubstr("none of complete, fail and heartbeat"));
  EXPECT_EQ(Item(r[6]), Unary(client().CompleteTask("", "{}")));
  EXPECT_EQ(r[7].code(), 0) << r[7].message();
  EXPECT_EQ(WaitForEnd(arns[0]).output(), R"({"first":1})");
  EXPECT_EQ(Count(arns[0], "TaskSucceeded"), 1);
  v1::Execution failed = WaitForEnd(arns[1]);
  EXPECT_EQ(failed.status(), v1::FAILED);
  EXPECT_EQ(failed.error(), "Custom.Error");
  // After the execution ended: TaskTimedOut, as the unary call; a heartbeat answers cancelled.
  ASSERT_TRUE(client().StopExecution(arns[2]).ok());
  v1::ReportTaskBatchRequest late;
  *late.add_reports() = Complete(t[2].task_token(), "{}");
  late.add_reports()->mutable_heartbeat()->set_task_token(t[2].task_token());
  response = client().ReportTasks(late);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 2);
  EXPECT_EQ(response->results(0).error(), "TaskTimedOut");
  EXPECT_EQ(Item(response->results(0)), Unary(client().CompleteTask(t[2].task_token(), "{}")));
  EXPECT_EQ(response->results(1).code(), 0);
  EXPECT_TRUE(response->results(1).cancelled());
  EXPECT_TRUE(client().CompleteTask(t[3].task_token(), "{}").ok());
}

TEST_F(TaskBatchTest, OversizeBatchesAreRefusedByName) {
  v1::ReportTaskBatchRequest many;
  for (int i = 0; i < 1001; ++i) {
    *many.add_reports() = Complete("nonsense", "{}");
  }
  absl::Status s = client().ReportTasks(many).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(client::ErrorName(s), "ValidationException");
  EXPECT_THAT(std::string(s.message()), HasSubstr("1001 items; the limit is 1000"));
  many.mutable_reports()->DeleteSubrange(1000, 1);
  absl::StatusOr<v1::ReportTaskBatchResponse> at_limit = client().ReportTasks(many);
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->results_size(), 1000);

  v1::ReportTaskBatchRequest big;
  const std::string output = absl::StrCat("\"", std::string(900 * 1024, 'x'), "\"");
  for (int i = 0; i < 5; ++i) {
    *big.add_reports() = Complete("nonsense", output);
  }
  s = client().ReportTasks(big).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(client::ErrorName(s), "ValidationException");
  EXPECT_THAT(std::string(s.message()), HasSubstr("the limit is 4194304"));

  for (int max : {-1, 257}) {
    s = client().PollTasks("batch-q", "itest", max, 1s).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << max << ": " << s;
    EXPECT_EQ(client::ErrorName(s), "ValidationException");
    EXPECT_THAT(std::string(s.message()), HasSubstr("max_tasks"));
  }
}

// Two Task states on "steps-q", one after the other.
constexpr char kTwoSteps[] = R"({"StartAt":"A","States":{"A":{"Type":"Task","Resource":"steps-q","Next":"B"},
    "B":{"Type":"Task","Resource":"steps-q","End":true}}})";

TEST_F(TaskBatchTest, AReportsPollHandsBackTheNextTasksStartedInTheReportsCommit) {
  Create("steps", kTwoSteps);
  std::vector<std::string> arns = StartMany("steps", 3);
  std::vector<v1::PollTaskResponse> a = PollAll("steps-q", 3);
  ASSERT_EQ(a.size(), 3u);
  v1::ReportTaskBatchRequest request;
  for (const v1::PollTaskResponse& t : a) {
    *request.add_reports() = Complete(t.task_token(), R"({"a":1})");
  }
  v1::PollTaskBatchRequest* poll = request.add_polls();
  poll->set_queue("steps-q");
  poll->set_worker_identity("slot-passer");
  poll->set_max_tasks(3);
  absl::StatusOr<v1::ReportTaskBatchResponse> done = client().ReportTasks(request);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->results_size(), 3);
  for (const v1::TaskReportResult& r : done->results()) {
    EXPECT_EQ(r.code(), 0) << r.message();
  }
  ASSERT_EQ(done->tasks_size(), 3) << "each report's commit scheduled B";
  std::set<std::string> executions;
  v1::ReportTaskBatchRequest finish;
  for (const v1::PollTaskResponse& t : done->tasks()) {
    EXPECT_EQ(t.queue(), "steps-q");
    EXPECT_EQ(t.context().state_name(), "B");
    EXPECT_EQ(t.input(), R"({"a":1})");
    executions.insert(t.context().execution_arn());
    EXPECT_EQ(Count(t.context().execution_arn(), "TaskStarted"), 2) << "B started before the answer";
    *finish.add_reports() = Complete(t.task_token(), R"({"b":1})");
  }
  EXPECT_EQ(executions, std::set<std::string>(arns.begin(), arns.end()));
  absl::StatusOr<std::vector<v1::PollTaskResponse>> none = client().PollTasks("steps-q", "itest", 3, 1s);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty()) << "each task handed out once";
  *finish.add_polls() = *poll;
  done = client().ReportTasks(finish);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->tasks_size(), 0);
  for (const std::string& arn : arns) {
    v1::Execution e = WaitForEnd(arn);
    EXPECT_EQ(e.status(), v1::SUCCEEDED);
    EXPECT_EQ(e.output(), R"({"b":1})");
  }
}

// Four activities on "fan-q" in parallel branches, told apart by their inputs.
constexpr char kFourActivities[] = R"({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
    {"StartAt":"A","States":{"A":{"Type":"Task","Parameters":{"b":"A"},"End":true,
      "Resource":"arn:aws:states:us-east-1:123456789012:activity:fan-q"}}},
    {"StartAt":"B","States":{"B":{"Type":"Task","Parameters":{"b":"B"},"End":true,
      "Resource":"arn:aws:states:us-east-1:123456789012:activity:fan-q"}}},
    {"StartAt":"C","States":{"C":{"Type":"Task","Parameters":{"b":"C"},"End":true,
      "Resource":"arn:aws:states:us-east-1:123456789012:activity:fan-q"}}},
    {"StartAt":"D","States":{"D":{"Type":"Task","Parameters":{"b":"D"},"End":true,
      "Resource":"arn:aws:states:us-east-1:123456789012:activity:fan-q"}}}]}}})";

// A gauge or counter of the server's /metrics (0 when absent).
double MetricOf(const std::string& http_address, const std::string& series) {
  httplib::Result r = Http(http_address)->Get("/metrics");
  EXPECT_TRUE(r);
  if (!r) {
    return 0;
  }
  for (absl::string_view line : absl::StrSplit(r->body, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      return std::stod(std::string(line.substr(series.size() + 1)));
    }
  }
  return 0;
}

TEST_F(TaskBatchTest, SingleTaskPollsOfManyWorkersGetTheTasksOfOneCommitEachStartedForItsWorker) {
  Create("fan", kFourActivities);
  // Five workers' unary polls, parked on the server: they come to wait in the matcher as one (the gauge counts
  // each), and the start's commit starts one task for each of four of them.
  std::vector<std::thread> polls;
  std::mutex mu;
  std::map<std::string, std::string> got;  // worker -> its task's input ("" = none)
  for (int w = 0; w < 5; ++w) {
    polls.emplace_back([&, w] {
      const std::string identity = absl::StrCat("fan-worker-", w);
      absl::StatusOr<v1::PollTaskResponse> t = client().PollTask("fan-q", identity, 3s);
      ASSERT_TRUE(t.ok()) << t.status();
      std::lock_guard<std::mutex> lock(mu);
      got[identity] = t->input();
      if (!t->task_token().empty()) {
        EXPECT_TRUE(client().CompleteTask(t->task_token(), "{}").ok());
      }
    });
  }
  const std::string waiting = R"(stepflow_task_polls_waiting{queue="fan-q"})";
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (MetricOf(server().http_address(), waiting) < 5) {
    ASSERT_LT(std::chrono::steady_clock::now(), end) << "the five polls never waited in the matcher";
    std::this_thread::sleep_for(10ms);
  }
  const double at_schedule = MetricOf(server().http_address(), "stepflow_tasks_started_at_schedule_total");
  absl::StatusOr<v1::Execution> e = client().StartExecution("fan", "{}");
  ASSERT_TRUE(e.ok()) << e.status();
  for (std::thread& t : polls) {
    t.join();
  }
  EXPECT_EQ(MetricOf(server().http_address(), "stepflow_tasks_started_at_schedule_total") - at_schedule, 4)
      << "every task started in the start's commit";
  // Each task went to one worker, and its ActivityStarted names that worker.
  std::map<std::string, std::string> started;  // input -> workerName
  std::map<std::int64_t, std::string> scheduled;
  absl::StatusOr<std::vector<v1::HistoryEvent>> history = client().GetExecutionHistory(e->arn());
  ASSERT_TRUE(history.ok()) << history.status();
  for (const v1::HistoryEvent& event : *history) {
    const json::object details = json::parse(event.details()).as_object();
    if (event.type() == "ActivityScheduled") {
      scheduled[event.id()] = std::string(details.at("input").as_string());
    } else if (event.type() == "ActivityStarted") {
      started[scheduled[event.previous_event_id()]] = std::string(details.at("workerName").as_string());
    }
  }
  ASSERT_EQ(started.size(), 4u);
  int without = 0;
  for (const auto& [worker, input] : got) {
    if (input.empty()) {
      ++without;
      continue;
    }
    EXPECT_EQ(started[input], worker) << input;
  }
  EXPECT_EQ(without, 1);
  EXPECT_EQ(WaitForEnd(e->arn()).status(), v1::SUCCEEDED);
}

TEST_F(TaskBatchTest, BadReportPollsAreRefusedByNameBeforeAnyReportIsApplied) {
  Create("batch", kOneTask);
  std::vector<std::string> arns = StartMany("batch", 1);
  std::vector<v1::PollTaskResponse> t = PollAll("batch-q", 1);
  ASSERT_EQ(t.size(), 1u);
  auto refused = [&](const std::function<void(v1::ReportTaskBatchRequest&)>& spoil, const std::string& says) {
    v1::ReportTaskBatchRequest request;
    *request.add_reports() = Complete(t[0].task_token(), "{}");
    v1::PollTaskBatchRequest* poll = request.add_polls();
    poll->set_queue("batch-q");
    poll->set_worker_identity("itest");
    spoil(request);
    absl::Status s = client().ReportTasks(request).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << says << ": " << s;
    EXPECT_EQ(client::ErrorName(s), "ValidationException") << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(says));
  };
  refused([](v1::ReportTaskBatchRequest& r) { r.mutable_polls(0)->set_wait_seconds(5); },
          "polls[0]: wait_seconds is 5");
  refused([](v1::ReportTaskBatchRequest& r) { r.mutable_polls(0)->set_max_tasks(257); }, "polls[0]: max_tasks is 257");
  refused([](v1::ReportTaskBatchRequest& r) { r.mutable_polls(0)->set_max_tasks(-1); }, "polls[0]: max_tasks is -1");
  refused([](v1::ReportTaskBatchRequest& r) { r.mutable_polls(0)->clear_queue(); }, "polls[0]: ");
  refused([](v1::ReportTaskBatchRequest& r) { *r.add_polls() = r.polls(0); },
          "polls[1]: queue 'batch-q' has an earlier poll");
  refused([](v1::ReportTaskBatchRequest& r) {
    r.mutable_polls(0)->set_max_tasks(200);
    v1::PollTaskBatchRequest* other = r.add_polls();
    other->set_queue("other-q");
    other->set_max_tasks(57);
  }, "the polls ask for 257 tasks together; the limit is 256");
  refused([](v1::ReportTaskBatchRequest& r) { r.mutable_polls(0)->set_queue(std::string(10'000, 'q')); },
          "polls[0]: ");
  refused([](v1::ReportTaskBatchRequest& r) {
    r.clear_polls();
    for (int i = 0; i < 101; ++i) {
      v1::PollTaskBatchRequest* p = r.add_polls();
      p->set_queue(absl::StrCat("q", i));
    }
  }, "polls has 101 items; the limit is 100");
  EXPECT_EQ(Count(arns[0], "TaskSucceeded"), 0) << "no report of a refused call is applied";
  v1::ReportTaskBatchRequest good;
  *good.add_reports() = Complete(t[0].task_token(), "{}");
  for (int i = 0; i < 100; ++i) {
    good.add_polls()->set_queue(absl::StrCat("q", i));
  }
  absl::StatusOr<v1::ReportTaskBatchResponse> done = client().ReportTasks(good);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->results(0).code(), 0);
  EXPECT_EQ(done->tasks_size(), 0);
  EXPECT_EQ(WaitForEnd(arns[0]).status(), v1::SUCCEEDED);
}

TEST_F(TaskBatchTest, RacingReportersOnTheSameTasksOneResultCounts) {
  Create("batch", kOneTask);
  std::vector<std::string> arns = StartMany("batch", 20);
  std::vector<v1::PollTaskResponse> tasks = PollAll("batch-q", 20);
  std::vector<absl::StatusOr<v1::ReportTaskBatchResponse>> answers(2, absl::UnknownError("not run"));
  std::vector<std::thread> reporters;
  for (int r = 0; r < 2; ++r) {
    reporters.emplace_back([&, r] {
      v1::ReportTaskBatchRequest request;
      for (const v1::PollTaskResponse& t : tasks) {
        *request.add_reports() = Complete(t.task_token(), absl::StrCat(R"({"by":)", r, "}"));
      }
      answers[r] = client().ReportTasks(request);
    });
  }
  for (std::thread& t : reporters) {
    t.join();
  }
  for (const auto& answer : answers) {
    ASSERT_TRUE(answer.ok()) << answer.status();
    for (const v1::TaskReportResult& r : answer->results()) {
      EXPECT_EQ(r.code(), 0) << r.message();  // the later one repeats a result: OK, no effect
    }
  }
  for (const std::string& arn : arns) {
    v1::Execution e = WaitForEnd(arn);
    EXPECT_EQ(e.status(), v1::SUCCEEDED);
    EXPECT_TRUE(e.output() == R"({"by":0})" || e.output() == R"({"by":1})") << e.output();
    EXPECT_EQ(Count(arn, "TaskSucceeded"), 1);
  }
}

TEST_F(TaskBatchTest, TasksOfAWorkerGoneMidBatchTimeOutAndAreTriedAgain) {
  Create("retry", kRetriedOnTimeout);
  std::vector<std::string> arns = StartMany("retry", 3);
  {
    // A worker that takes a batch and goes away (its connection closes) without a report.
    client::ClientOptions options;
    absl::StatusOr<std::unique_ptr<client::Client>> gone =
        client::Client::Connect(server().address(), 10s, options);
    ASSERT_TRUE(gone.ok()) << gone.status();
    std::vector<v1::PollTaskResponse> taken = PollAll("retry-q", 3, nullptr, gone->get());
    ASSERT_EQ(taken.size(), 3u);
  }
  // After TimeoutSeconds and the retry interval, the same tasks come again (attempt 1) to another worker.
  std::vector<v1::PollTaskResponse> again = PollAll("retry-q", 3);
  ASSERT_EQ(again.size(), 3u);
  v1::ReportTaskBatchRequest request;
  for (const v1::PollTaskResponse& t : again) {
    EXPECT_EQ(t.context().attempt(), 1);
    *request.add_reports() = Complete(t.task_token(), R"({"retried":true})");
  }
  absl::StatusOr<v1::ReportTaskBatchResponse> done = client().ReportTasks(request);
  ASSERT_TRUE(done.ok()) << done.status();
  for (const std::string& arn : arns) {
    v1::Execution e = WaitForEnd(arn);
    EXPECT_EQ(e.status(), v1::SUCCEEDED);
    EXPECT_EQ(Count(arn, "TaskTimedOut"), 1);
  }
}

TEST_F(TaskBatchTest, TheSdkWorkerTakesTheWaitingTasksInOnePoll) {
  Create("batch", kOneTask);
  std::vector<std::string> arns = StartMany("batch", 8);
  client::WorkerOptions options;
  options.concurrency = 8;
  options.poll_wait = 2s;
  client::Worker worker(client(), options);
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  long long polls_when_all_ran = -1;
  ASSERT_TRUE(worker
                  .Handle("batch-q",
                          [&](client::TaskContext&, const boost::json::value& input) -> client::TaskResult {
                            std::unique_lock lock(mu);
                            if (++running == 8) {
                              polls_when_all_ran = worker.stats().polls;
                              cv.notify_all();
                            }
                            cv.wait_for(lock, 20s, [&] { return running >= 8; });
                            return input;
                          })
                  .ok());
  ASSERT_TRUE(worker.Start().ok());
  for (const std::string& arn : arns) {
    EXPECT_EQ(WaitForEnd(arn).status(), v1::SUCCEEDED);
  }
  EXPECT_TRUE(worker.Stop().ok());
  // The eight slots were free and eight tasks waited: one call handed them all out.
  EXPECT_EQ(polls_when_all_ran, 1);
  EXPECT_EQ(worker.stats().completed, 8);
}

}  // namespace
}  // namespace stepflow::itest
