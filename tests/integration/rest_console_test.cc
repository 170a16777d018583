// The REST routes the console's newer views use, on the real server:
// - bulk actions over a filter (POST /api/v1/executions:stop-matching and :redrive-matching): page by page with
//   a resume token, at most what was confirmed, only what the filter selects, named errors; racing bulk calls on
//   the same executions stop and redrive each one exactly once, its history one straight line;
// - a state's data flow (GET /api/v1/executions/{arn}/data-flow): every JSONPath step evaluated by the server,
//   a filter path in InputPath included, ResultSelector and ResultPath apart, as of a chosen event.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <boost/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
#include "tests/integration/fixture.h"
#include "tests/integration/rest_fixture.h"

namespace stepflow::itest {
namespace {

namespace json = boost::json;

std::int64_t Int(const json::value& v) {
  if (v.is_string()) {
    return std::stoll(std::string(v.as_string()));
  }
  return v.to_number<std::int64_t>();
}

std::int64_t Field(const json::value& body, const char* name) {
  const json::object& o = body.as_object();
  return o.contains(name) ? Int(o.at(name)) : 0;  // proto3 JSON leaves zeros out
}

class RestConsoleTest : public RestTest {
 protected:
  struct Totals {
    std::int64_t done = 0;
    std::int64_t skipped = 0;
    std::int64_t failures = 0;
    int calls = 0;
  };

  // Calls `action` ("stop-matching" or "redrive-matching") with `filter` until no page is left, passing what
  // is left of `confirmed` each time; every call must act on at most 100 executions.
  static Totals RunBulk(httplib::Client& http, const std::string& action, const std::string& filter,
                        std::int64_t confirmed) {
    Totals totals;
    std::string token;
    do {
      std::string body = absl::StrCat(R"({"filter":)", filter, R"(,"maxExecutions":)", confirmed - totals.done,
                                      token.empty() ? "" : absl::StrCat(R"(,"pageToken":")", token, R"(")"), "}");
      auto r = http.Post("/api/v1/executions:" + action, body, kJson);
      EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
      if (!r || r->status != 200) {
        break;
      }
      json::value v = Body(r);
      EXPECT_LE(Field(v, "done"), 100);
      totals.done += Field(v, "done");
      totals.skipped += Field(v, "skipped");
      totals.failures += v.as_object().contains("failures") ? v.at("failures").as_array().size() : 0;
      ++totals.calls;
      token = v.as_object().contains("nextPageToken") ? std::string(v.at("nextPageToken").as_string()) : "";
    } while (!token.empty() && totals.done < confirmed);
    return totals;
  }

  std::int64_t Count(const std::string& query, const char* status) {
    auto r = http_->Get("/api/v1/executions:counts?" + query);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    return Field(Body(r).at("counts"), status);
  }

  json::array History(const std::string& arn) {
    auto r = http_->Get("/api/v1/executions/" + Encode(arn) + "/history?pageSize=1000");
    EXPECT_TRUE(r && r->status == 200);
    return Body(r).at("events").as_array();
  }
};

TEST_F(RestConsoleTest, StopAndRedriveWhatAFilterSelectsPageByPage) {
  CreateSm("waits", WaitThenPass(600));
  CreateSm("others", WaitThenPass(600));
  for (int i = 0; i < 230; ++i) {
    StartExec("waits", "{}", absl::StrCat("batch-", i));
  }
  for (int i = 0; i < 20; ++i) {
    StartExec("waits", "{}", absl::StrCat("keep-", i));
  }
  for (int i = 0; i < 5; ++i) {
    StartExec("others", "{}", absl::StrCat("batch-", i));
  }

  // 230 confirmed: three calls (100, 100, 30); the executions outside the filter keep running.
  Totals stopped = RunBulk(*http_, "stop-matching", R"({"stateMachine":"waits","namePrefix":"batch-"})", 230);
  EXPECT_EQ(stopped.done, 230);
  EXPECT_EQ(stopped.failures, 0);
  EXPECT_GE(stopped.calls, 3);
  EXPECT_EQ(Count("stateMachine=waits", "ABORTED"), 230);
  EXPECT_EQ(Count("stateMachine=waits", "RUNNING"), 20);
  EXPECT_EQ(Count("stateMachine=others", "RUNNING"), 5);

  // Never more than confirmed: 5 of the 20 "keep-" ones.
  Totals five =
      RunBulk(*http_, "stop-matching", R"({"stateMachine":"waits","namePrefix":"keep-","status":"RUNNING"})", 5);
  EXPECT_EQ(five.done, 5);
  EXPECT_EQ(Count("stateMachine=waits", "RUNNING"), 15);

  // Redrive the 235 ABORTED ones of "waits" that start with "batch-" (the 5 "keep-" stay ABORTED).
  Totals redriven =
      RunBulk(*http_, "redrive-matching", R"({"stateMachine":"waits","status":"ABORTED","namePrefix":"batch-"})", 230);
  EXPECT_EQ(redriven.done, 230);
  EXPECT_EQ(redriven.failures, 0);
  EXPECT_EQ(Count("stateMachine=waits", "RUNNING"), 245);
  EXPECT_EQ(Count("stateMachine=waits", "ABORTED"), 5);
  auto one = http_->Get("/api/v1/state-machines/waits/executions/batch-7");
  ASSERT_TRUE(one && one->status == 200);
  EXPECT_EQ(Field(Body(one), "redriveCount"), 1);
  // A second pass finds nothing left to do.
  Totals again =
      RunBulk(*http_, "redrive-matching", R"({"stateMachine":"waits","status":"ABORTED","namePrefix":"batch-"})", 230);
  EXPECT_EQ(again.done, 0);
}

TEST_F(RestConsoleTest, RefusalsAreNamed) {
  CreateSm("waits", WaitThenPass(600));
  struct Case {
    const char* action;
    const char* body;
    int status;
    const char* error;
  };
  const Case cases[] = {
      {"stop-matching", R"({"filter":{},"maxExecutions":1})", 400, "ValidationException"},
      {"stop-matching", R"({"filter":{"stateMachine":"waits"}})", 400, "ValidationException"},
      {"stop-matching", R"({"filter":{"stateMachine":"waits","status":"FAILED"},"maxExecutions":1})", 400,
       "ValidationException"},
      {"stop-matching", R"({"filter":{"stateMachine":"waits","pageSize":5},"maxExecutions":1})", 400,
       "ValidationException"},
      {"stop-matching", R"({"filter":{"stateMachine":"nope"},"maxExecutions":1})", 404, "StateMachineDoesNotExist"},
      {"stop-matching", R"({"filter":{"stateMachine":"waits"},"maxExecutions":1,"pageToken":"forged"})", 400,
       "InvalidToken"},
      {"redrive-matching", R"({"filter":{"stateMachine":"waits"},"maxExecutions":1})", 400, "ValidationException"},
      {"redrive-matching", R"({"filter":{"stateMachine":"waits","status":"FAILED"},"maxExecutions":1,"error":"x"})",
       400, "ValidationException"},
  };
  for (const Case& c : cases) {
    auto r = http_->Post(absl::StrCat("/api/v1/executions:", c.action), c.body, kJson);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, c.status) << c.body << " -> " << r->body;
    EXPECT_EQ(ErrorOf(r), c.error) << c.body << " -> " << r->body;
  }
  // Mutating: not without a JSON content type.
  auto plain = http_->Post("/api/v1/executions:stop-matching",
                           R"({"filter":{"stateMachine":"waits"},"maxExecutions":1})", "text/plain");
  ASSERT_TRUE(plain);
  EXPECT_EQ(ErrorOf(plain), "UnsupportedMediaType") << plain->body;
}

// Four bulk stops race over the same 60 executions, then four bulk redrives: each execution is stopped once and
// redriven once (the done counts add up to 60 each time), and every history is one line of events 1..n.
TEST_F(RestConsoleTest, RacingBulkCallsActOnEachExecutionOnce) {
  CreateSm("waits", WaitThenPass(600));
  constexpr int kExecutions = 60;
  constexpr int kThreads = 4;
  std::vector<std::string> arns;
  for (int i = 0; i < kExecutions; ++i) {
    arns.emplace_back(StartExec("waits", "{}", absl::StrCat("race-", i)).at("arn").as_string());
  }
  auto race = [&](const std::string& action, const std::string& filter) {
    std::atomic<std::int64_t> done{0}, failures{0};
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        auto http = Http(server().http_address());
        ready.fetch_add(1);
        while (ready.load() < kThreads) {
          std::this_thread::yield();
        }
        // Small pages, so that the racers overlap on many pages.
        Totals totals;
        std::string token;
        do {
          auto r = http->Post("/api/v1/executions:" + action,
                              absl::StrCat(R"({"filter":)", filter, R"(,"maxExecutions":7)",
                                           token.empty() ? "" : absl::StrCat(R"(,"pageToken":")", token, R"(")"), "}"),
                              kJson);
          if (!r || r->status != 200) {
            failures.fetch_add(1);
            break;
          }
          json::value v = Body(r);
          totals.done += Field(v, "done");
          totals.failures += v.as_object().contains("failures") ? v.at("failures").as_array().size() : 0;
          token = v.as_object().contains("nextPageToken") ? std::string(v.at("nextPageToken").as_string()) : "";
        } while (!token.empty());
        done.fetch_add(totals.done);
        failures.fetch_add(totals.failures);
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    EXPECT_EQ(failures.load(), 0) << action;
    return done.load();
  };
  EXPECT_EQ(race("stop-matching", R"({"stateMachine":"waits"})"), kExecutions);
  EXPECT_EQ(race("redrive-matching", R"({"stateMachine":"waits","status":"ABORTED"})"), kExecutions);

  for (const std::string& arn : arns) {
    json::array events = History(arn);
    int aborted = 0;
    int redriven = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(Int(events[i].at("id")), static_cast<std::int64_t>(i + 1)) << arn;
      aborted += events[i].at("type").as_string() == "ExecutionAborted" ? 1 : 0;
      redriven += events[i].at("type").as_string() == "ExecutionRedriven" ? 1 : 0;
    }
    EXPECT_EQ(aborted, 1) << arn;
    EXPECT_EQ(redriven, 1) << arn;
    auto d = http_->Get("/api/v1/executions/" + Encode(arn));
    ASSERT_TRUE(d && d->status == 200);
    EXPECT_EQ(Body(d).at("status").as_string(), "RUNNING");
    EXPECT_EQ(Field(Body(d), "redriveCount"), 1);
  }
}

// The steps of a state's data flow as {step: value} ("!unknown"/"!error" for the others).
json::object Steps(const json::value& flow) {
  json::object out;
  for (const json::value& step : flow.at("steps").as_array()) {
    const json::object& o = step.as_object();
    std::string name(o.at("step").as_string());
    if (o.contains("value")) {
      out[name] = o.at("value");
    } else {
      out[name] = o.contains("error") ? json::value(absl::StrCat("!error ", std::string(o.at("error").as_string())))
                                      : json::value("!unknown");
    }
  }
  return out;
}

TEST_F(RestConsoleTest, DataFlowEvaluatesEveryJsonPathStepOnTheServer) {
  CreateSm("shape", R"j({"StartAt":"Shape","States":{
    "Shape":{"Type":"Pass","InputPath":"$.order.lines[?(@.qty > 1)]",
             "Parameters":{"count.$":"States.ArrayLength($)","first.$":"$[0].sku"},
             "ResultPath":"$.summary","OutputPath":"$.summary","Assign":{"picked.$":"$.first"},"Next":"Charge"},
    "Charge":{"Type":"Task","Resource":"activity:pay","Parameters":{"sku.$":"$.first"},
              "ResultSelector":{"paid.$":"$.amount","sku.$":"$picked"},"ResultPath":"$.payment",
              "OutputPath":"$.payment.paid",
              "End":true}}})j");
  json::value e = StartExec(
      "shape", R"({"order":{"lines":[{"sku":"a","qty":1},{"sku":"b","qty":2},{"sku":"c","qty":3}]}})", "flow-1");
  const std::string arn(e.at("arn").as_string());
  const std::string flow_of = "/api/v1/executions/" + Encode(arn) + "/data-flow?state=";

  absl::StatusOr<v1::PollTaskResponse> task = client().PollTask("pay", "rest-test", std::chrono::seconds(20));
  ASSERT_TRUE(task.ok()) << task.status();
  ASSERT_FALSE(task->task_token().empty());
  EXPECT_EQ(json::parse(task->input()), json::parse(R"({"sku":"b"})"));
  // While the task runs: its Parameters are in the history, its result not yet.
  json::object waiting = Steps(Body(http_->Get(flow_of + "Charge")));
  EXPECT_EQ(waiting.at("Parameters"), json::parse(R"({"sku":"b"})"));
  EXPECT_EQ(waiting.at("result"), "!unknown");
  ASSERT_TRUE(client().CompleteTask(task->task_token(), R"({"amount":7,"currency":"EUR"})").ok());
  auto follow = http_->Get("/api/v1/executions/" + Encode(arn) + "/history:follow");  // returns once it ended
  ASSERT_TRUE(follow && follow->status == 200);
  ASSERT_NE(follow->body.find("event: end"), std::string::npos) << follow->body;

  auto shape = http_->Get(flow_of + "Shape");
  ASSERT_TRUE(shape && shape->status == 200) << (shape ? shape->body : "");
  json::value shape_flow = Body(shape);
  EXPECT_EQ(shape_flow.at("type"), "Pass");
  EXPECT_EQ(shape_flow.at("queryLanguage"), "JSONPath");
  json::object s = Steps(shape_flow);
  EXPECT_EQ(s.at("InputPath"), json::parse(R"([{"sku":"b","qty":2},{"sku":"c","qty":3}])"));
  EXPECT_EQ(s.at("Parameters"), json::parse(R"({"count":2,"first":"b"})"));
  EXPECT_EQ(s.at("ResultPath").at("summary"), json::parse(R"({"count":2,"first":"b"})"));
  EXPECT_TRUE(s.at("ResultPath").as_object().contains("order"));
  EXPECT_EQ(s.at("OutputPath"), json::parse(R"({"count":2,"first":"b"})"));
  EXPECT_EQ(s.at("output"), s.at("OutputPath")) << "the evaluation agrees with the recorded output";

  json::object c = Steps(Body(http_->Get(flow_of + "Charge")));
  EXPECT_EQ(c.at("input"), json::parse(R"({"count":2,"first":"b"})"));
  EXPECT_EQ(c.at("result"), json::parse(R"({"amount":7,"currency":"EUR"})"));
  // ResultSelector reads the variable that Shape assigned (the history's assignedVariables).
  EXPECT_EQ(c.at("ResultSelector"), json::parse(R"({"paid":7,"sku":"b"})"));
  EXPECT_EQ(c.at("ResultPath"), json::parse(R"({"count":2,"first":"b","payment":{"paid":7,"sku":"b"}})"));
  EXPECT_EQ(c.at("OutputPath"), json::value(7));
  EXPECT_EQ(c.at("output"), json::value(7));

  // As of the event where Shape exited, Charge was not entered: no steps.
  json::value before = Body(http_->Get(flow_of + "Shape"));
  const std::int64_t shape_exit = Int(before.at("exitedEventId"));
  json::value early = Body(http_->Get(absl::StrCat(flow_of, "Charge&atEventId=", shape_exit)));
  EXPECT_TRUE(early.at("steps").as_array().empty()) << json::serialize(early);

  // Named errors.
  auto no_state = http_->Get("/api/v1/executions/" + Encode(arn) + "/data-flow");
  EXPECT_EQ(no_state->status, 400);
  EXPECT_EQ(ErrorOf(no_state), "ValidationException");
  auto unknown_state = http_->Get(flow_of + "Nowhere");
  EXPECT_EQ(unknown_state->status, 404);
  EXPECT_EQ(ErrorOf(unknown_state), "StateDoesNotExist");
  auto negative = http_->Get(flow_of + "Shape&atEventId=-1");
  EXPECT_EQ(negative->status, 400);
  auto unknown_execution = http_->Get(
      "/api/v1/executions/" + Encode("arn:aws:states:us-east-1:123456789012:execution:shape:nope") +
      "/data-flow?state=Shape");
  EXPECT_EQ(unknown_execution->status, 404);
  EXPECT_EQ(ErrorOf(unknown_execution), "ExecutionDoesNotExist");
}

// The steps are the interpreter's (the state run by TestState on what the history recorded): $$.Execution.Input
// is the run's input, not the state's; a path that fails shows its error at its own step and no step after it.
TEST_F(RestConsoleTest, DataFlowRunsTheStateAsTheRunDid) {
  CreateSm("ctx", R"j({"StartAt":"First","States":{
    "First":{"Type":"Pass","Result":{"x":1},"Next":"Pick"},
    "Pick":{"Type":"Pass","Parameters":{"order.$":"$$.Execution.Input.order","x.$":"$.x"},"Next":"Bad"},
    "Bad":{"Type":"Pass","InputPath":"$.nope","End":true}}})j");
  json::value e = StartExec("ctx", R"({"order":7})", "ctx-1");
  const std::string arn(e.at("arn").as_string());
  auto follow = http_->Get("/api/v1/executions/" + Encode(arn) + "/history:follow");  // returns once it ended
  ASSERT_TRUE(follow && follow->status == 200);
  const std::string flow_of = "/api/v1/executions/" + Encode(arn) + "/data-flow?state=";
  json::object pick = Steps(Body(http_->Get(flow_of + "Pick")));
  EXPECT_EQ(pick.at("input"), json::parse(R"({"x":1})"));
  EXPECT_EQ(pick.at("Parameters"), json::parse(R"({"order":7,"x":1})"));
  EXPECT_EQ(pick.at("OutputPath"), pick.at("output"));
  json::value bad = Body(http_->Get(flow_of + "Bad"));
  json::object b = Steps(bad);
  EXPECT_EQ(b.at("input"), json::parse(R"({"order":7,"x":1})"));
  ASSERT_TRUE(b.at("InputPath").is_string()) << json::serialize(bad);
  EXPECT_TRUE(std::string(b.at("InputPath").as_string()).starts_with("!error States.Runtime: ")) << json::serialize(bad);
  EXPECT_FALSE(b.contains("Parameters")) << json::serialize(bad);
  EXPECT_FALSE(b.contains("OutputPath")) << json::serialize(bad);
}

// Two Map iterations run the same Task state at once: the data flow of its last entry takes that iteration's own
// task result, not the one the other iteration's task reported later.
TEST_F(RestConsoleTest, DataFlowOfAStateInAMapKeepsToItsOwnIteration) {
  CreateSm("fan", R"j({"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items",
    "ItemProcessor":{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"activity:fan","End":true}}},
    "End":true}}})j");
  json::value e = StartExec("fan", R"({"items":[{"n":1},{"n":2}]})", "fan-1");
  const std::string arn(e.at("arn").as_string());
  std::vector<v1::PollTaskResponse> tasks;
  while (tasks.size() < 2) {
    absl::StatusOr<v1::PollTaskResponse> task = client().PollTask("fan", "rest-test", std::chrono::seconds(20));
    ASSERT_TRUE(task.ok()) << task.status();
    ASSERT_FALSE(task->task_token().empty());
    tasks.push_back(*task);
  }
  // The iteration whose Work was entered last.
  std::int64_t last_n = 0;
  for (const json::value& event : History(arn)) {
    if (event.at("type").as_string() == "TaskStateEntered") {
      json::value input = json::parse(std::string(event.at("details").at("input").as_string()));
      last_n = Int(input.at("n"));
    }
  }
  ASSERT_NE(last_n, 0);
  // Its task completes first; the other iteration's completes after it.
  if (Int(json::parse(tasks[0].input()).at("n")) != last_n) {
    std::swap(tasks[0], tasks[1]);
  }
  for (const v1::PollTaskResponse& task : tasks) {
    const std::int64_t n = Int(json::parse(task.input()).at("n"));
    ASSERT_TRUE(client().CompleteTask(task.task_token(), absl::StrCat(R"({"r":)", n * 10, "}")).ok());
  }
  auto follow = http_->Get("/api/v1/executions/" + Encode(arn) + "/history:follow");
  ASSERT_TRUE(follow && follow->status == 200);
  json::object work = Steps(Body(http_->Get("/api/v1/executions/" + Encode(arn) + "/data-flow?state=Work")));
  EXPECT_EQ(Int(work.at("input").at("n")), last_n);
  EXPECT_EQ(Int(work.at("result").at("r")), last_n * 10);
  EXPECT_EQ(Int(work.at("output").at("r")), last_n * 10);
}

}  // namespace
}  // namespace stepflow::itest
