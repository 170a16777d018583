// The shared worker scenarios (tests/sdk/worker_scenarios.json) on the C++ SDK worker (clients/cpp/worker.h)
// against the real server: the same file drives the Python and TypeScript workers, so the three keep one
// contract. One test per scenario, each with its own server; an unknown behaviour word or key fails the scenario.
// The file is read when the binary starts: $STEPFLOW_WORKER_SCENARIOS, or the source tree's copy.

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/integration/worker_fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;

// The bound of every wait on the server or the handler.
constexpr std::chrono::seconds kWait{60};

const std::set<std::string> kScenarioKeys = {"name",   "description", "definition", "queue", "input",
                                             "worker", "handler",     "stop",       "expect"};
const std::set<std::string> kExpectKeys = {"status", "output", "error", "cause", "events", "handler_calls"};
const std::set<std::string> kWorkerKeys = {"default_heartbeat_interval_ms"};
const std::set<std::string> kStopKeys = {"after_event", "error", "cause"};
const std::set<std::string> kCallKeys = {"attempt", "cancel_reason"};
const std::set<std::string> kWords = {"echo", "return", "describe_context", "fail", "raise", "sleep_ms",
                                      "wait_for_cancel"};

struct Scenario {
  std::string name;       // a GoogleTest name: letters, digits and '_'
  json::object scenario;  // empty when the file could not be read
  std::string load_error;
};

void PrintTo(const Scenario& s, std::ostream* out) { *out << s.name; }

std::string TestName(std::string name) {
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      c = '_';
    }
  }
  return name.empty() ? "unnamed" : name;
}

// Every scenario of the file; one failing entry naming what was wrong when the file is missing or malformed.
std::vector<Scenario> LoadScenarios() {
  const char* env = std::getenv("STEPFLOW_WORKER_SCENARIOS");
  std::string path = env != nullptr && *env != '\0' ? env : STEPFLOW_WORKER_SCENARIOS;
  if (!FileExists(path)) {
    return {{"scenario_file", {}, "the shared worker scenarios are not at " + path}};
  }
  json::value file = Json(ReadFile(path));
  if (!file.is_object() || !file.as_object().contains("scenarios") || !file.at("scenarios").is_array() ||
      file.at("scenarios").as_array().empty()) {
    return {{"scenario_file", {}, path + ": not JSON with a non-empty \"scenarios\" array"}};
  }
  std::vector<Scenario> out;
  for (const json::value& s : file.at("scenarios").as_array()) {
    if (!s.is_object() || !s.as_object().contains("name") || !s.at("name").is_string()) {
      out.push_back({absl::StrCat("scenario_", out.size()), {}, "a scenario that is not an object with a name"});
      continue;
    }
    out.push_back({TestName(std::string(s.at("name").as_string())), s.as_object(), ""});
  }
  return out;
}

std::string Text(const json::value& v) { return json::serialize(v); }

void ExpectKnownKeys(const std::string& what, const json::object& got, const std::set<std::string>& allowed) {
  std::vector<std::string> unknown;
  for (const auto& [key, value] : got) {
    if (!allowed.contains(std::string(key))) {
      unknown.emplace_back(key);
    }
  }
  EXPECT_TRUE(unknown.empty()) << "unknown " << what << " keys: " << absl::StrJoin(unknown, ", ");
}

// What each handler call saw when it returned: its attempt and cancel reason; waitable.
class Calls {
 public:
  void Record(const client::TaskContext& ctx) {
    std::lock_guard lock(mu_);
    seen_.emplace_back(ctx.attempt(), client::CancelReasonName(ctx.cancel_reason()));
    changed_.notify_all();
  }
  // Waits (at most kWait) for `n` calls; returns them in attempt order.
  std::vector<std::pair<int, std::string>> WaitFor(std::size_t n) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, kWait, [&] { return seen_.size() >= n; });
    std::vector<std::pair<int, std::string>> out = seen_;
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::pair<int, std::string>> seen_;
};

std::int64_t Int(const json::object& b, const char* key) { return b.at(key).to_number<std::int64_t>(); }
std::string Str(const json::object& b, const char* key) { return std::string(b.at(key).as_string()); }

// One behaviour word of the scenario file (its "behaviours" section says what each does).
client::TaskResult RunBehaviour(const json::object& b, client::TaskContext& ctx, const json::value& input) {
  const std::string word = b.contains("do") && b.at("do").is_string() ? Str(b, "do") : "";
  if (word == "echo") {
    return input;
  }
  if (word == "return") {
    return b.at("value");
  }
  if (word == "describe_context") {
    return json::object{{"input", input},
                        {"attempt", ctx.attempt()},
                        {"state", ctx.state_name()},
                        {"heartbeat_seconds", ctx.heartbeat_seconds()},
                        {"has_deadline", ctx.deadline().has_value()}};
  }
  if (word == "fail") {
    return client::TaskError{Str(b, "error"), Str(b, "cause")};
  }
  if (word == "raise") {
    throw std::runtime_error(Str(b, "message"));
  }
  if (word == "sleep_ms") {
    bool cancelled = ctx.WaitForCancellation(std::chrono::milliseconds(Int(b, "ms")));
    return json::object{{"cancelled", cancelled}, {"reason", client::CancelReasonName(ctx.cancel_reason())}};
  }
  if (word == "wait_for_cancel") {
    if (!ctx.WaitForCancellation(std::chrono::milliseconds(Int(b, "timeout_ms")))) {
      return client::TaskError{"Scenario.NotCancelled",
                               absl::StrCat("not cancelled within ", Int(b, "timeout_ms"), " ms")};
    }
    return json::object{{"cancelled", true}, {"reason", client::CancelReasonName(ctx.cancel_reason())}};
  }
  throw std::logic_error("unknown behaviour word " + Text(json::value(b)));
}

class WorkerScenarioTest : public WorkerFixture, public ::testing::WithParamInterface<Scenario> {};

TEST_P(WorkerScenarioTest, Runs) {
  const Scenario& param = GetParam();
  ASSERT_TRUE(param.load_error.empty()) << param.load_error;
  const json::object& s = param.scenario;
  ExpectKnownKeys("scenario", s, kScenarioKeys);
  for (const char* key : {"definition", "queue", "input", "handler", "expect"}) {
    ASSERT_TRUE(s.contains(key)) << "the scenario has no \"" << key << "\"";
  }
  const json::object& expect = s.at("expect").as_object();
  ExpectKnownKeys("expect", expect, kExpectKeys);
  ASSERT_TRUE(s.at("handler").is_array() && !s.at("handler").as_array().empty()) << "handler: a non-empty array";
  auto behaviours = std::make_shared<std::vector<json::object>>();
  for (const json::value& b : s.at("handler").as_array()) {
    ASSERT_TRUE(b.is_object() && b.as_object().contains("do") && b.at("do").is_string() &&
                kWords.contains(std::string(b.at("do").as_string())))
        << "unknown behaviour word in " << Text(b);  // loudly, before anything runs
    behaviours->push_back(b.as_object());
  }

  client::WorkerOptions options;
  options.concurrency = 2;
  options.poll_wait = 1s;
  options.drain_timeout = 5s;
  options.shutdown_grace = 1s;
  if (s.contains("worker")) {
    const json::object& w = s.at("worker").as_object();
    ExpectKnownKeys("worker", w, kWorkerKeys);
    if (w.contains("default_heartbeat_interval_ms")) {
      options.default_heartbeat_interval = std::chrono::milliseconds(Int(w, "default_heartbeat_interval_ms"));
    }
  }
  auto calls = std::make_shared<Calls>();
  Create("scenario", Text(s.at("definition")));
  StartSdkWorker({{Str(s, "queue"),
                   [behaviours, calls](client::TaskContext& ctx, const json::value& input) -> client::TaskResult {
                     struct RecordOnReturn {
                       Calls& calls;
                       client::TaskContext& ctx;
                       ~RecordOnReturn() { calls.Record(ctx); }
                     } record{*calls, ctx};
                     std::size_t i = std::min<std::size_t>(ctx.attempt(), behaviours->size() - 1);
                     return RunBehaviour((*behaviours)[i], ctx, input);
                   }}},
                 options);

  v1::Execution started = Start("scenario", Text(s.at("input")));
  ASSERT_FALSE(started.arn().empty());
  if (s.contains("stop")) {
    const json::object& stop = s.at("stop").as_object();
    ExpectKnownKeys("stop", stop, kStopKeys);
    ASSERT_TRUE(WaitForEvent(started.arn(), Str(stop, "after_event"), 1, kWait))
        << "no " << Str(stop, "after_event") << " event within " << kWait.count() << " s";
    absl::StatusOr<v1::Execution> stopped =
        client().StopExecution(started.arn(), Str(stop, "error"), Str(stop, "cause"));
    ASSERT_TRUE(stopped.ok()) << stopped.status();
  }
  v1::Execution e = WaitForEnd(started.arn(), kWait);
  std::vector<v1::HistoryEvent> history = History(started.arn());
  const std::string what = ExecutionStatusText(e);

  EXPECT_EQ(v1::ExecutionStatus_Name(e.status()), Str(expect, "status")) << what;
  if (expect.contains("output")) {
    EXPECT_EQ(Json(e.output()), expect.at("output")) << what;
  }
  if (expect.contains("error")) {
    EXPECT_EQ(e.error(), Str(expect, "error")) << what;
  }
  if (expect.contains("cause")) {
    EXPECT_EQ(e.cause(), Str(expect, "cause")) << what;
  }
  if (expect.contains("events")) {
    for (const auto& [type, count] : expect.at("events").as_object()) {
      EXPECT_EQ(CountType(history, std::string(type)), count.to_number<int>()) << type << ": " << what;
    }
  }
  if (expect.contains("handler_calls")) {
    const json::array& want = expect.at("handler_calls").as_array();
    std::vector<std::pair<int, std::string>> seen = calls->WaitFor(want.size());
    std::string shown = "handler calls:";
    for (const auto& [attempt, reason] : seen) {
      absl::StrAppend(&shown, " {attempt ", attempt, ", ", reason, "}");
    }
    absl::StrAppend(&shown, "; expected ", Text(json::value(want)));
    ASSERT_EQ(seen.size(), want.size()) << shown;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const json::object& wanted = want[i].as_object();
      ExpectKnownKeys("handler_calls", wanted, kCallKeys);
      std::vector<std::string> reasons;
      if (wanted.at("cancel_reason").is_array()) {
        for (const json::value& r : wanted.at("cancel_reason").as_array()) {
          reasons.emplace_back(r.as_string());
        }
      } else {
        reasons.push_back(Str(wanted, "cancel_reason"));
      }
      EXPECT_EQ(seen[i].first, Int(wanted, "attempt")) << shown;
      EXPECT_TRUE(std::find(reasons.begin(), reasons.end(), seen[i].second) != reasons.end()) << shown;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(WorkerScenarios, WorkerScenarioTest, ::testing::ValuesIn(LoadScenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& info) { return info.param.name; });

}  // namespace
}  // namespace stepflow::itest
