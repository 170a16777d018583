// Snapshots (engine/snapshots.h, sm::Execution::SaveState/Restore): a snapshot taken after any input k, written
// and read back as the engine stores it, plus the inputs after k, gives exactly what replaying the whole input
// log gives: every later decision (events, tasks, timers, dead letters), the final interpreter state, and the
// pending timers and tasks. Checked at every k of every golden case (tests/golden) and of every crash-test
// machine (tests/crash/machines) run with workers that heartbeat, answer, fail and go silent.
//
// And a state that is not one SaveState wrote (damaged or forged) is refused, never run.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include "common/clock.h"
#include "engine/driver.h"
#include "engine/input_log.h"
#include "engine/mock_dispatcher.h"
#include "engine/pending_work.h"
#include "engine/random_values.h"
#include "engine/replay.h"
#include "engine/snapshots.h"
#include "statemachine/compile.h"
#include "statemachine/core/history.h"
#include "storage/memory_store.h"

#ifndef STEPFLOW_GOLDEN_DIR
#error "STEPFLOW_GOLDEN_DIR must name tests/golden"
#endif
#ifndef STEPFLOW_CRASH_MACHINES_DIR
#error "STEPFLOW_CRASH_MACHINES_DIR must name tests/crash/machines"
#endif

namespace stepflow::engine {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

constexpr common::EpochMillis kT0 = 1'700'000'000'000;
constexpr char kKey[] = "0123456789abcdef0123456789abcdef";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs one execution to its end on a durable driver (input log kept) over an in-memory store, the way
// `stepflow run --time-skip` does, and returns its input log.
class TestRun {
 public:
  using Answer = std::function<void(Driver&, const TaskDispatch&)>;

  explicit TestRun(sm::ExecutionLimits limits = {})
      : store_(storage::NewMemoryStore()), clock_(kT0), values_(7), limits_(limits) {}

  std::vector<InputRecord> Execute(std::shared_ptr<const sm::StateMachine> machine, const std::string& input_text,
                                   TaskDispatcher* dispatcher) {
    DriverOptions options;
    options.durable = true;
    options.limits = limits_;
    Driver driver(store_.get(), &clock_, dispatcher, &values_, options);
    driver_ = &driver;
    sm::ExecutionInfo info;
    info.execution_arn = "arn:aws:states:us-east-1:123456789012:execution:m:run";
    info.name = "run";
    info.state_machine_name = "m";
    info.state_machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
    info.start_time = clock_.NowMillis();
    const std::string id = info.execution_arn;
    absl::StatusOr<json::value> input = ParseExecutionInput(input_text);
    EXPECT_TRUE(input.ok()) << input.status();
    EXPECT_TRUE(driver.Start(machine, info, *input).ok());
    for (int turns = 0; turns < 100'000; ++turns) {
      absl::Status processed = driver.ProcessInbox();
      // Answers still queued for an execution that ended (and was evicted) meanwhile name nothing.
      EXPECT_TRUE(processed.ok() || (absl::IsNotFound(processed) && driver.Find(id) == nullptr)) << processed;
      if (driver.has_yielded()) {
        EXPECT_TRUE(driver.ContinueYielded().ok());
        continue;
      }
      const sm::Execution* e = driver.Find(id);
      if (e == nullptr || e->status() != sm::ExecutionStatus::kRunning) {
        break;
      }
      std::optional<common::EpochMillis> due = driver.NextTimerDue();
      if (!due) {
        ADD_FAILURE() << "the execution waits on nothing";
        break;
      }
      clock_.AdvanceTo(*due);
      EXPECT_TRUE(driver.FireDueTimers().ok());
    }
    driver_ = nullptr;
    absl::StatusOr<std::vector<InputRecord>> log = ReadInputLog(*store_, id);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.value_or(std::vector<InputRecord>{});
  }
  Driver* driver() { return driver_; }

 private:
  std::unique_ptr<storage::Store> store_;
  common::VirtualClock clock_;
  RandomRuntimeValues values_;
  sm::ExecutionLimits limits_;
  Driver* driver_ = nullptr;
};

DriverInput Input(DriverInput::Kind kind, const TaskDispatch& task) {
  DriverInput in;
  in.kind = kind;
  in.execution_id = task.execution_id;
  in.task_id = task.task_id;
  return in;
}

// Answers like the crash test's `stepflow worker` on crash-echo ({"echo": input, "marker": "echoed"}), with a
// heartbeat first; every third task is taken and never answered (its HeartbeatSeconds runs out and Retry
// goes on), every fifth fails.
class EchoWorkers final : public TaskDispatcher {
 public:
  explicit EchoWorkers(TestRun* run) : run_(run) {}
  absl::Status Dispatch(const TaskDispatch& task) override {
    Driver& d = *run_->driver();
    ++count_;
    DriverInput started = Input(DriverInput::Kind::kTaskStarted, task);
    started.worker = "worker-1";
    d.Post(started);
    if (count_ % 3 == 0) {
      return absl::OkStatus();  // silent: the heartbeat timeout fires
    }
    d.Post(Input(DriverInput::Kind::kTaskHeartbeat, task));
    d.Post(Input(DriverInput::Kind::kTaskHeartbeat, task));
    if (count_ % 5 == 0) {
      DriverInput failed = Input(DriverInput::Kind::kTaskFailed, task);
      failed.error = "Boom";
      failed.cause = "it broke";
      d.Post(failed);
      return absl::OkStatus();
    }
    DriverInput done = Input(DriverInput::Kind::kTaskSucceeded, task);
    done.output = json::object{{"echo", task.input}, {"marker", "echoed"}};
    d.Post(done);
    return absl::OkStatus();
  }
  void Cancel(const std::string&, std::uint64_t) override {}

 private:
  TestRun* run_;
  int count_ = 0;
};

json::value DecisionJson(const sm::Decision& d) {
  json::array events;
  for (const sm::HistoryEvent& e : d.events) {
    events.push_back(sm::HistoryEventToJson(e));
  }
  json::array tasks;
  for (const sm::TaskCommand& t : d.tasks_to_schedule) {
    tasks.push_back(json::array{t.task_id, t.state_name, t.resource, t.input, t.attempt, t.scheduled});
  }
  json::array timers;
  for (const sm::TimerCommand& t : d.timers_to_start) {
    timers.push_back(json::array{t.timer_id, t.due});
  }
  json::array dead_letters;
  for (const sm::DeadLetterCommand& dl : d.dead_letters) {
    dead_letters.push_back(json::array{dl.task_id, dl.state_name, dl.input, dl.attempts.size()});
  }
  return json::object{{"events", std::move(events)},
                      {"tasks", std::move(tasks)},
                      {"cancelTasks", json::value_from(d.tasks_to_cancel)},
                      {"timers", std::move(timers)},
                      {"cancelTimers", json::value_from(d.timers_to_cancel)},
                      {"deadLetters", std::move(dead_letters)}};
}

json::value PendingJson(const PendingWork& p) {
  json::array timers;
  for (const auto& [id, due] : p.timers) {
    timers.push_back(json::array{id, due});
  }
  json::array tasks;
  for (const auto& [id, t] : p.tasks) {
    tasks.push_back(json::array{id, t.state_name, t.resource, t.input, t.attempt, t.scheduled});
  }
  return json::object{{"timers", std::move(timers)}, {"tasks", std::move(tasks)}};
}

// Applies `inputs` to `execution` one by one and records each decision.
std::vector<json::value> Apply(sm::Execution& execution, const std::vector<InputRecord>& inputs) {
  std::vector<json::value> out;
  for (const InputRecord& input : inputs) {
    ReplayingRuntimeValues rv(input.drawn);
    absl::StatusOr<sm::Decision> d = ApplyInputRecord(execution, input, rv);
    EXPECT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(rv.ok());
    out.push_back(d.ok() ? DecisionJson(*d) : json::value(d.status().ToString()));
  }
  return out;
}

// The property, at every k: snapshot after k inputs (encoded and decoded as stored) + inputs k.. == full replay.
int snapshots_checked = 0;

void ExpectSnapshotPlusTailEqualsReplay(const std::string& name, std::shared_ptr<const sm::StateMachine> machine,
                                        const std::vector<InputRecord>& log) {
  ASSERT_GE(log.size(), 1u) << name;
  MachineLookup machines = [&](const std::string&, std::int64_t) -> absl::StatusOr<std::shared_ptr<const sm::StateMachine>> {
    return machine;
  };
  absl::StatusOr<ReplayedExecution> full = ReplayInputs(log, machines);
  ASSERT_TRUE(full.ok()) << name << ": " << full.status();
  // The decisions of a replay from the start, input by input.
  absl::StatusOr<ReplayedExecution> fresh = ReplayInputs({log.front()}, machines);
  ASSERT_TRUE(fresh.ok());
  std::vector<json::value> full_decisions =
      Apply(*fresh->execution, std::vector<InputRecord>(log.begin() + 1, log.end()));
  const json::object final_state = full->execution->SaveState();
  const std::string id = log.front().info.execution_arn;
  for (std::size_t k = 1; k <= log.size(); ++k) {
    SCOPED_TRACE(name + " snapshot after input " + std::to_string(k) + " of " + std::to_string(log.size()));
    absl::StatusOr<ReplayedExecution> prefix =
        ReplayInputs(std::vector<InputRecord>(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(k)), machines);
    ASSERT_TRUE(prefix.ok()) << prefix.status();
    std::string row = EncodeSnapshot(id, static_cast<std::int64_t>(k), *prefix->execution, prefix->pending, kKey);
    absl::StatusOr<DecodedSnapshot> snapshot = DecodeSnapshot(id, row, kKey);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    ASSERT_EQ(snapshot->inputs, static_cast<std::int64_t>(k));
    // The state read back is the state written.
    EXPECT_EQ(snapshot->state, json::value(prefix->execution->SaveState()));
    const std::vector<InputRecord> tail(log.begin() + static_cast<std::ptrdiff_t>(k), log.end());
    absl::StatusOr<ReplayedExecution> resumed = ReplayFromSnapshot(log.front(), *snapshot, tail, machines);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    EXPECT_EQ(resumed->inputs, full->inputs);
    EXPECT_EQ(resumed->execution->status(), full->execution->status());
    EXPECT_EQ(resumed->execution->last_event_id(), full->execution->last_event_id());
    EXPECT_EQ(json::serialize(resumed->execution->output()), json::serialize(full->execution->output()));
    EXPECT_EQ(json::value(resumed->execution->SaveState()), json::value(final_state));
    EXPECT_EQ(PendingJson(resumed->pending), PendingJson(full->pending));
    // Every decision after the snapshot is the one the replay from the start made.
    absl::StatusOr<std::unique_ptr<sm::Execution>> restored =
        sm::Execution::Restore(machine, log.front().info, log.front().limits, snapshot->state);
    ASSERT_TRUE(restored.ok()) << restored.status();
    std::vector<json::value> decisions = Apply(**restored, tail);
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      ASSERT_EQ(decisions[i], full_decisions[k - 1 + i]) << "input " << k + i;
    }
    ++snapshots_checked;
  }
}

std::shared_ptr<const sm::StateMachine> CompileOrFail(const std::string& text, const std::string& name) {
  sm::CompileResult compiled = sm::Compile(text);
  EXPECT_TRUE(compiled.ok()) << name << ": " << compiled.model_status;
  return compiled.model;
}

TEST(SnapshotReplayTest, EveryGoldenCase) {
  int cases = 0;
  snapshots_checked = 0;
  for (const fs::directory_entry& dir : fs::directory_iterator(STEPFLOW_GOLDEN_DIR)) {
    if (!fs::exists(dir.path() / "definition.json")) {
      continue;
    }
    const std::string name = dir.path().filename().string();
    std::shared_ptr<const sm::StateMachine> machine = CompileOrFail(ReadFile(dir.path() / "definition.json"), name);
    ASSERT_NE(machine, nullptr);
    TestRun run;
    std::unique_ptr<TaskDispatcher> dispatcher;
    if (fs::exists(dir.path() / "mocks.json")) {
      absl::StatusOr<MockTestCase> mocks =
          MockTestCase::FromConfig(json::parse(ReadFile(dir.path() / "mocks.json")), "golden", "default");
      ASSERT_TRUE(mocks.ok()) << name << ": " << mocks.status();
      dispatcher = std::make_unique<MockDispatcher>(*mocks, [&run](const TaskDispatch& task,
                                                                   const MockedResponse& response) {
        run.driver()->Post(Input(DriverInput::Kind::kTaskStarted, task));
        DriverInput done = Input(response.is_throw ? DriverInput::Kind::kTaskFailed : DriverInput::Kind::kTaskSucceeded, task);
        done.error = response.error;
        done.cause = response.cause;
        if (!response.is_throw) {
          done.output = response.value;
        }
        run.driver()->Post(done);
      });
    } else {
      dispatcher = std::make_unique<EchoWorkers>(&run);
    }
    std::vector<InputRecord> log = run.Execute(machine, ReadFile(dir.path() / "input.json"), dispatcher.get());
    ExpectSnapshotPlusTailEqualsReplay(name, machine, log);
    ++cases;
  }
  EXPECT_GE(cases, 10);
  std::printf("golden cases: %d, snapshot points checked: %d\n", cases, snapshots_checked);
}

// The crash test's input k (tests/crash/crash_test.cc, MakeInput): what every machine there reads.
std::string CrashInput(int k) {
  json::array items;
  for (int j = 0; j < 1 + k % 5; ++j) {
    items.push_back(1 + (k + j) % 5);
  }
  return json::serialize(json::object{
      {"tag", "t" + std::to_string(k)}, {"n", 1 + k % 6}, {"items", items}, {"wait", 1 + k % 3}, {"fail", k % 7 == 3}});
}

TEST(SnapshotReplayTest, EveryCrashTestMachine) {
  int machines = 0;
  snapshots_checked = 0;
  for (const fs::directory_entry& file : fs::directory_iterator(STEPFLOW_CRASH_MACHINES_DIR)) {
    const std::string name = file.path().filename().string();
    std::shared_ptr<const sm::StateMachine> machine = CompileOrFail(ReadFile(file.path()), name);
    ASSERT_NE(machine, nullptr);
    for (int k : {3, 4, 5}) {  // 3 takes the machines' failure paths, 4 the longest Map
      sm::ExecutionLimits limits;
      if (k == 5) {
        limits.max_transitions_per_decision = 2;  // decisions yield: snapshots with frames ready to enter
      }
      TestRun run(limits);
      EchoWorkers workers(&run);
      std::vector<InputRecord> log = run.Execute(machine, CrashInput(k), &workers);
      ExpectSnapshotPlusTailEqualsReplay(name + " input " + std::to_string(k), machine, log);
    }
    ++machines;
  }
  EXPECT_GE(machines, 8);
  std::printf("crash-test machines: %d, snapshot points checked: %d\n", machines, snapshots_checked);
}

// --- Forged states: every leaf of real states changed, one at a time, to values that break references (an id
// of nothing, an index past an array, a name of no state, a wrong type). Restore refuses the mutant, or the
// restored execution takes every later input, and any timer or task id, without crashing.

using Step = std::variant<std::string, std::size_t>;

void CollectLeaves(const json::value& v, std::vector<Step>& path, std::vector<std::vector<Step>>& out, int depth) {
  if (depth > 6) {
    return;
  }
  if (v.is_object()) {
    for (const auto& [key, child] : v.get_object()) {
      path.push_back(std::string(key));
      out.push_back(path);
      CollectLeaves(child, path, out, depth + 1);
      path.pop_back();
    }
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.get_array().size() && i < 8; ++i) {
      path.push_back(i);
      out.push_back(path);
      CollectLeaves(v.get_array()[i], path, out, depth + 1);
      path.pop_back();
    }
  }
}

json::value* At(json::value& root, const std::vector<Step>& path) {
  json::value* v = &root;
  for (const Step& step : path) {
    if (const std::string* key = std::get_if<std::string>(&step)) {
      v = &v->as_object()[*key];
    } else {
      v = &v->as_array()[std::get<std::size_t>(step)];
    }
  }
  return v;
}

void DriveEverything(sm::Execution& e, const std::vector<InputRecord>& tail, std::uint64_t ids) {
  for (const InputRecord& input : tail) {
    ReplayingRuntimeValues rv(input.drawn);
    (void)ApplyInputRecord(e, input, rv);  // refused or diverging: either is fine, crashing is not
  }
  RandomRuntimeValues values(1);
  for (std::uint64_t id = 0; id <= ids + 2; ++id) {
    (void)e.task_standing(id);
    (void)e.OnTaskStarted(id, kT0, "w");
    (void)e.OnTaskHeartbeat(id, kT0);
    (void)e.OnTimerFired(id, kT0, values);
    (void)e.OnTaskFailed(id, "E", "c", kT0, values);
    (void)e.OnTaskSucceeded(id, json::object{{"x", 1}}, kT0, values);
    (void)e.Continue(kT0, values);
  }
  (void)e.Stop("E", "c", kT0);
  (void)e.Redrive(kT0, values);
  (void)e.Continue(kT0, values);
  (void)e.SaveState();
}

TEST(SnapshotReplayTest, ForgedStatesAreRefusedOrRunSafely) {
  int mutants = 0;
  int refused = 0;
  for (const char* file : {"mix.asl.json", "tasks.asl.json", "retry_catch_timeout.asl.json", "parallel.asl.json"}) {
    const fs::path path = fs::path(STEPFLOW_CRASH_MACHINES_DIR) / file;
    std::shared_ptr<const sm::StateMachine> machine = CompileOrFail(ReadFile(path), file);
    ASSERT_NE(machine, nullptr);
    TestRun run;
    EchoWorkers workers(&run);
    std::vector<InputRecord> log = run.Execute(machine, CrashInput(4), &workers);
    MachineLookup machines = [&](const std::string&, std::int64_t) -> absl::StatusOr<std::shared_ptr<const sm::StateMachine>> {
      return machine;
    };
    for (std::size_t k = 1; k < log.size(); k += std::max<std::size_t>(1, log.size() / 4)) {
      absl::StatusOr<ReplayedExecution> prefix =
          ReplayInputs(std::vector<InputRecord>(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(k)), machines);
      ASSERT_TRUE(prefix.ok());
      const json::value state = prefix->execution->SaveState();
      const std::vector<InputRecord> tail(log.begin() + static_cast<std::ptrdiff_t>(k), log.end());
      std::vector<Step> path;
      std::vector<std::vector<Step>> leaves;
      CollectLeaves(state, path, leaves, 0);
      const json::value replacements[] = {nullptr, 0, 1, 3, 7, -1, 1099511627776, 1.5, "", "X", "Wait",
                                          json::array(), json::array{1, 2}, json::object(), true};
      for (const std::vector<Step>& leaf : leaves) {
        for (const json::value& replacement : replacements) {
          json::value mutant = state;
          *At(mutant, leaf) = replacement;
          ++mutants;
          absl::StatusOr<std::unique_ptr<sm::Execution>> restored =
              sm::Execution::Restore(machine, log.front().info, log.front().limits, mutant);
          if (!restored.ok()) {
            ++refused;
            EXPECT_TRUE(absl::IsInvalidArgument(restored.status())) << restored.status();
            continue;
          }
          DriveEverything(**restored, tail, 64);
        }
      }
    }
  }
  std::printf("forged states: %d, refused: %d\n", mutants, refused);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace stepflow::engine
