// The Driver in durable mode: the input log holds every applied input with its time and drawn values, in
// the batch of its events; duplicates write nothing; tasks have no rows of their own; a commit group
// commits many executions at once; replaying the log rebuilds the live state.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/driver.h"
#include "engine/execution_record.h"
#include "engine/input_log.h"
#include "engine/random_values.h"
#include "engine/records.h"
#include "engine/replay.h"
#include "engine/snapshots.h"
#include "statemachine/compile.h"
#include "statemachine/core/model.h"
#include "storage/store.h"
#include "tests/unit/engine/forwarding_store.h"

namespace stepflow::engine {
namespace {

namespace json = boost::json;
constexpr common::EpochMillis kT0 = 1'700'000'000'000;

class Recording final : public TaskDispatcher {
 public:
  absl::Status Dispatch(const TaskDispatch& task) override {
    dispatched.push_back(task);
    return absl::OkStatus();
  }
  void Cancel(const std::string&, std::uint64_t) override {}
  std::vector<TaskDispatch> dispatched;
};

std::shared_ptr<const sm::StateMachine> Machine(std::string_view definition) {
  auto m = sm::CompileStored(definition);  // some cases are deliberately not valid ASL
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : nullptr;
}

sm::ExecutionInfo Info(const std::string& id) {
  sm::ExecutionInfo info;
  info.execution_arn = id;
  info.name = id;
  info.state_machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:SM";
  info.state_machine_name = "SM";
  info.start_time = kT0;
  return info;
}

constexpr char kTaskWithUuid[] = R"json({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"q","Parameters":{"id.$":"States.UUID()"},"Next":"U"},
    "U":{"Type":"Pass","Parameters":{"r.$":"States.MathRandom(1, 100)"},"End":true}}})json";

class DurableDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.in_memory = true;
    options.sync_writes = false;
    options.path = "/durable-driver-test";
    auto store = storage::OpenRocksDbStore(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    DriverOptions driver_options;
    driver_options.durable = true;
    driver_ = std::make_unique<Driver>(store_.get(), &clock_, &dispatcher_, &runtime_, driver_options);
  }

  int Rows(storage::Column column, std::string_view prefix = "") {
    int n = 0;
    EXPECT_TRUE(store_
                    ->Scan(column, prefix, "", false,
                           [&](std::string_view, std::string_view) {
                             ++n;
                             return true;
                           })
                    .ok());
    return n;
  }

  std::vector<InputRecord> Log(const std::string& id) {
    absl::StatusOr<std::vector<InputRecord>> log = ReadInputLog(*store_, id);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.value_or(std::vector<InputRecord>{});
  }

  void Complete(const std::string& id, std::uint64_t task, json::value output) {
    DriverInput input;
    input.kind = DriverInput::Kind::kTaskSucceeded;
    input.execution_id = id;
    input.task_id = task;
    input.output = std::move(output);
    driver_->Post(std::move(input));
    ASSERT_TRUE(driver_->ProcessInbox().ok());
  }

  common::VirtualClock clock_{kT0};
  Recording dispatcher_;
  RandomRuntimeValues runtime_{7};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Driver> driver_;
};

TEST_F(DurableDriverTest, TheInputLogRecordsTimesAndDrawnValues) {
  ExecutionMeta meta{3, R"({"k":1})"};
  ASSERT_TRUE(driver_->Start(Machine(kTaskWithUuid), Info("e1"), json::parse(meta.input_text), meta).ok());
  ASSERT_EQ(dispatcher_.dispatched.size(), 1u);
  const std::string uuid(dispatcher_.dispatched[0].input.at("id").as_string());
  clock_.AdvanceBy(250);
  Complete("e1", dispatcher_.dispatched[0].task_id, json::parse(R"({"done":true})"));
  EXPECT_EQ(driver_->Find("e1"), nullptr);  // ended: evicted from memory

  std::vector<InputRecord> log = Log("e1");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].kind, InputRecord::Kind::kStart);
  EXPECT_EQ(log[0].now, kT0);
  EXPECT_EQ(log[0].state_machine_version, 3);
  EXPECT_EQ(log[0].input_text, R"({"k":1})");
  ASSERT_EQ(log[0].drawn.size(), 1u);
  EXPECT_EQ(std::get<std::string>(log[0].drawn[0]), uuid);
  EXPECT_EQ(log[1].kind, InputRecord::Kind::kTaskSucceeded);
  EXPECT_EQ(log[1].now, kT0 + 250);
  EXPECT_EQ(log[1].payload, json::parse(R"({"done":true})"));
  ASSERT_EQ(log[1].drawn.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<double>(log[1].drawn[0]));

  // No task row was written (the input log is the task's record); the index rows say SUCCEEDED only.
  EXPECT_EQ(Rows(storage::Column::kTasks), 0);
  EXPECT_EQ(Rows(storage::Column::kIndexes, IndexPrefix("", "RUNNING")), 0);
  EXPECT_EQ(Rows(storage::Column::kIndexes, IndexPrefix("SM", "SUCCEEDED")), 1);
  EXPECT_EQ(Rows(storage::Column::kIndexes), 4);

  // Replaying the log rebuilds the same state.
  MachineLookup machines = [](const std::string&,
                              std::int64_t) -> absl::StatusOr<std::shared_ptr<const sm::StateMachine>> {
    return Machine(kTaskWithUuid);
  };
  absl::StatusOr<ReplayedExecution> replayed = LoadExecution(*store_, "e1", machines);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->execution->status(), sm::ExecutionStatus::kSucceeded);
  absl::StatusOr<std::optional<std::string>> record = store_->Get(storage::Column::kExecutions, "e1");
  ASSERT_TRUE(record.ok() && record->has_value());
  absl::StatusOr<StoredExecution> stored = DecodeExecutionRecord(**record);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(json::parse(stored->record.output), replayed->execution->output());
  EXPECT_TRUE(replayed->pending.tasks.empty());
}

TEST_F(DurableDriverTest, DuplicatesAndStaleInputsWriteNothing) {
  ASSERT_TRUE(driver_->Start(Machine(kTaskWithUuid), Info("e1"), json::object()).ok());
  const std::uint64_t task = dispatcher_.dispatched.at(0).task_id;
  DriverInput started;
  started.kind = DriverInput::Kind::kTaskStarted;
  started.execution_id = "e1";
  started.task_id = task;
  driver_->Post(started);
  ASSERT_TRUE(driver_->ProcessInbox().ok());
  const int inputs = Rows(storage::Column::kInputs);
  const int events = Rows(storage::Column::kHistory);
  driver_->Post(started);  // a repeated TaskStarted for the same attempt
  DriverInput stale = started;
  stale.kind = DriverInput::Kind::kTaskFailed;
  stale.task_id = task + 100;
  driver_->Post(stale);
  ASSERT_TRUE(driver_->ProcessInbox().ok());
  EXPECT_EQ(Rows(storage::Column::kHistory), events);
  EXPECT_LE(Rows(storage::Column::kInputs), inputs + 1);  // the repeat is logged only if it was applied
  Complete("e1", task, json::object());  // the task is still pending: its result ends the execution
  EXPECT_EQ(Rows(storage::Column::kIndexes, IndexPrefix("SM", "SUCCEEDED")), 1);
}

TEST_F(DurableDriverTest, ALeasedTaskLogsItsStartAtTheLeasesTimeInTheCommitOfItsResult) {
  ASSERT_TRUE(driver_->Start(Machine(kTaskWithUuid), Info("e1"), json::object()).ok());
  const std::uint64_t task = dispatcher_.dispatched.at(0).task_id;
  const std::uint64_t commits = driver_->counters().commits.load();
  const int inputs = Rows(storage::Column::kInputs);
  clock_.AdvanceBy(100);
  EXPECT_FALSE(driver_->LeaseTask("e1", task + 1, "w"));      // no such task
  EXPECT_FALSE(driver_->LeaseTask("nobody", task, "w"));      // no such execution
  ASSERT_TRUE(driver_->LeaseTask("e1", task, "worker-1"));
  EXPECT_FALSE(driver_->LeaseTask("e1", task, "worker-2"));   // taken already
  EXPECT_EQ(driver_->counters().commits.load(), commits);      // nothing written
  EXPECT_EQ(Rows(storage::Column::kInputs), inputs);
  EXPECT_EQ(driver_->TaskStanding("e1", task), sm::TaskStanding::kPending);
  clock_.AdvanceBy(400);
  driver_->BeginGroup();  // as a partition applies every input
  Complete("e1", task, json::object());
  ASSERT_TRUE(driver_->EndGroup().ok());
  EXPECT_EQ(driver_->counters().commits.load(), commits + 1);  // the start and the result together
  std::vector<InputRecord> log = Log("e1");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1].kind, InputRecord::Kind::kTaskStarted);
  EXPECT_EQ(log[1].now, kT0 + 100);
  EXPECT_EQ(log[1].worker, "worker-1");
  EXPECT_EQ(log[2].kind, InputRecord::Kind::kTaskSucceeded);
  EXPECT_EQ(log[2].now, kT0 + 500);
}

TEST_F(DurableDriverTest, ALeaseIsLostWithTheDriverAndRecordLeasesCommitsIt) {
  ASSERT_TRUE(driver_->Start(Machine(kTaskWithUuid), Info("e1"), json::object()).ok());
  const std::uint64_t task = dispatcher_.dispatched.at(0).task_id;
  ASSERT_TRUE(driver_->LeaseTask("e1", task, "w"));
  // The process dies: the store knows nothing of the lease, so the task is pending again after a replay.
  MachineLookup machines = [](const std::string&,
                              std::int64_t) -> absl::StatusOr<std::shared_ptr<const sm::StateMachine>> {
    return Machine(kTaskWithUuid);
  };
  absl::StatusOr<ReplayedExecution> replayed = LoadExecution(*store_, "e1", machines);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->execution->task_standing(task), sm::TaskStanding::kPending);
  // A graceful stop commits it instead.
  ASSERT_TRUE(driver_->RecordLeases().ok());
  std::vector<InputRecord> log = Log("e1");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].kind, InputRecord::Kind::kTaskStarted);
  EXPECT_EQ(driver_->TaskStanding("e1", task), sm::TaskStanding::kStarted);
  ASSERT_TRUE(driver_->RecordLeases().ok());  // nothing left to record
  EXPECT_EQ(Log("e1").size(), 2u);
}

// Forwards to a store, keeping the (column, key) of each put of every batch committed.
class PutRecordingStore final : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  absl::Status Commit(const storage::WriteBatch& batch) override {
    std::vector<std::pair<storage::Column, std::string>> puts;
    for (const storage::WriteBatch::Op& op : batch.ops()) {
      if (op.is_put()) {
        puts.emplace_back(op.column, op.key);
      }
    }
    batches.push_back(std::move(puts));
    return ForwardingStore::Commit(batch);
  }
  // The puts of the last batch to `column`.
  std::vector<std::string> LastPuts(storage::Column column) const {
    std::vector<std::string> keys;
    for (const auto& [c, key] : batches.back()) {
      if (c == column) {
        keys.push_back(key);
      }
    }
    return keys;
  }
  std::vector<std::vector<std::pair<storage::Column, std::string>>> batches;
};

// A task's result and the TaskStarted of the task it schedules (a worker's poll already waits) are two inputs
// of one group: the commit writes the execution's record once, in the state the second left, its events as one
// run of history rows keyed by the last, and both inputs in one input row keyed by the first, not a record and
// a row of each per input.
TEST_F(DurableDriverTest, AnExecutionSteppedTwiceInAGroupGetsOneRecordOneHistoryRowAndOneInputRow) {
  PutRecordingStore store(store_.get());
  DriverOptions options;
  options.durable = true;
  Driver driver(&store, &clock_, &dispatcher_, &runtime_, options);
  ASSERT_TRUE(driver.Start(Machine(R"({"StartAt":"A","States":{"A":{"Type":"Task","Resource":"q","Next":"B"},
      "B":{"Type":"Task","Resource":"q","End":true}}})"),
                           Info("e1"), json::object())
                  .ok());
  ASSERT_EQ(dispatcher_.dispatched.size(), 1u);
  clock_.AdvanceBy(100);
  driver.BeginGroup();
  DriverInput result;
  result.kind = DriverInput::Kind::kTaskSucceeded;
  result.execution_id = "e1";
  result.task_id = dispatcher_.dispatched[0].task_id;
  result.output = json::object();
  driver.Post(std::move(result));
  ASSERT_TRUE(driver.ProcessInbox().ok());
  int taken = 0;
  ASSERT_TRUE(driver
                  .StartTasksTaken([&](const std::string& id, const sm::TaskCommand&) -> std::optional<std::string> {
                    ++taken;
                    return id == "e1" ? std::optional<std::string>("worker-1") : std::nullopt;
                  })
                  .ok());
  ASSERT_TRUE(driver.EndGroup().ok());
  ASSERT_EQ(taken, 1);

  absl::StatusOr<std::vector<json::object>> history = driver.ReadHistory("e1");
  ASSERT_TRUE(history.ok()) << history.status();
  std::vector<std::string> types;
  for (const json::object& e : *history) {
    types.emplace_back(e.at("type").as_string());
  }
  EXPECT_THAT(types, ::testing::ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskSucceeded",
                                            "TaskStateExited", "TaskStateEntered", "TaskScheduled", "TaskStarted"));
  const std::int64_t last = history->back().at("id").as_int64();
  EXPECT_EQ(history->back().at("taskStartedEventDetails").at("resource"), json::value("q"));
  EXPECT_EQ(store.LastPuts(storage::Column::kExecutions), std::vector<std::string>{"e1"});
  EXPECT_EQ(store.LastPuts(storage::Column::kHistory), std::vector<std::string>{HistoryKey("e1", last)});
  EXPECT_EQ(store.LastPuts(storage::Column::kInputs), std::vector<std::string>{InputKey("e1", 1)});
  // Inputs 1 (the result) and 2 (the TaskStarted) share the row; reading from either finds it.
  absl::StatusOr<std::vector<InputRecord>> from_1 = ReadInputsFrom(*store_, "e1", 1);
  ASSERT_TRUE(from_1.ok()) << from_1.status();
  ASSERT_EQ(from_1->size(), 2u);
  EXPECT_EQ((*from_1)[0].kind, InputRecord::Kind::kTaskSucceeded);
  EXPECT_EQ((*from_1)[1].kind, InputRecord::Kind::kTaskStarted);
  EXPECT_EQ((*from_1)[1].worker, "worker-1");
  absl::StatusOr<std::vector<InputRecord>> from_2 = ReadInputsFrom(*store_, "e1", 2);
  ASSERT_TRUE(from_2.ok()) << from_2.status();
  ASSERT_EQ(from_2->size(), 1u);
  EXPECT_EQ(from_2->front().kind, InputRecord::Kind::kTaskStarted);
  absl::StatusOr<std::vector<InputRecord>> from_3 = ReadInputsFrom(*store_, "e1", 3);
  ASSERT_TRUE(from_3.ok()) << from_3.status();
  EXPECT_TRUE(from_3->empty());
  absl::StatusOr<std::optional<std::string>> value = store_->Get(storage::Column::kExecutions, "e1");
  ASSERT_TRUE(value.ok() && value->has_value());
  absl::StatusOr<StoredExecution> record = DecodeExecutionRecord(**value);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->last_event_id, last);
  EXPECT_EQ(record->record.status, sm::ExecutionStatus::kRunning);
  EXPECT_EQ(driver.TaskStanding("e1", dispatcher_.dispatched.at(1).task_id), sm::TaskStanding::kStarted);
  // The log replays to the same execution.
  MachineLookup machines = [](const std::string&,
                              std::int64_t) -> absl::StatusOr<std::shared_ptr<const sm::StateMachine>> {
    return Machine(R"({"StartAt":"A","States":{"A":{"Type":"Task","Resource":"q","Next":"B"},
        "B":{"Type":"Task","Resource":"q","End":true}}})");
  };
  absl::StatusOr<ReplayedExecution> replayed = LoadExecution(*store_, "e1", machines);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->execution->last_event_id(), last);
}

// Seventy task results in one commit: the input row closes at kMaxInputsPerRow and the rest begin another, keyed
// by its first input. A snapshot taken inside the second row replays from the row's middle.
TEST_F(DurableDriverTest, AnInputRowHoldsAtMostItsMaximumAndASnapshotMayFallInsideOne) {
  constexpr int kItems = 70;
  static_assert(kItems > static_cast<int>(kMaxInputsPerRow));
  DriverOptions options;
  options.durable = true;
  options.snapshots.every_inputs = 10;
  options.snapshots.key = "snapshot key";
  Driver driver(store_.get(), &clock_, &dispatcher_, &runtime_, options);
  constexpr char kMap[] = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","End":true,
      "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q","End":true}}}}}})";
  json::array items;
  for (int i = 0; i < kItems; ++i) {
    items.push_back(i);
  }
  ASSERT_TRUE(driver.Start(Machine(kMap), Info("m1"), json::object{{"items", items}}).ok());
  ASSERT_EQ(dispatcher_.dispatched.size(), static_cast<std::size_t>(kItems));
  driver.BeginGroup();
  for (const TaskDispatch& task : dispatcher_.dispatched) {
    DriverInput result;
    result.kind = DriverInput::Kind::kTaskSucceeded;
    result.execution_id = "m1";
    result.task_id = task.task_id;
    result.output = task.input;
    driver.Post(std::move(result));
  }
  ASSERT_TRUE(driver.ProcessInbox().ok());
  ASSERT_TRUE(driver.EndGroup().ok());

  std::vector<std::string> rows;
  ASSERT_TRUE(store_
                  ->Scan(storage::Column::kInputs, InputPrefix("m1"), "", false,
                         [&](std::string_view key, std::string_view) {
                           rows.emplace_back(key);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(rows, (std::vector<std::string>{InputKey("m1", 0), InputKey("m1", 1),
                                            InputKey("m1", 1 + static_cast<std::int64_t>(kMaxInputsPerRow))}));
  const std::vector<InputRecord> log = Log("m1");
  ASSERT_EQ(log.size(), static_cast<std::size_t>(kItems) + 1);
  MachineLookup machines = [&](const std::string&,
                               std::int64_t) -> absl::StatusOr<std::shared_ptr<const sm::StateMachine>> {
    return Machine(kMap);
  };
  absl::StatusOr<ReplayedExecution> whole = ReplayInputs(log, machines);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->execution->status(), sm::ExecutionStatus::kSucceeded);

  absl::StatusOr<std::optional<std::string>> stored = store_->Get(storage::Column::kSnapshots, "m1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  absl::StatusOr<DecodedSnapshot> snapshot = DecodeSnapshot("m1", **stored, options.snapshots.key);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->inputs, 70);  // inside the row of inputs 65..70
  absl::StatusOr<std::vector<InputRecord>> tail = ReadInputsFrom(*store_, "m1", snapshot->inputs);
  ASSERT_TRUE(tail.ok()) << tail.status();
  ASSERT_EQ(tail->size(), 1u);
  absl::StatusOr<ReplayedExecution> from_snapshot = ReplayFromSnapshot(log.front(), *snapshot, *tail, machines);
  ASSERT_TRUE(from_snapshot.ok()) << from_snapshot.status();
  EXPECT_EQ(from_snapshot->execution->status(), sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(from_snapshot->execution->output(), whole->execution->output());
  EXPECT_EQ(from_snapshot->execution->last_event_id(), whole->execution->last_event_id());
}

TEST_F(DurableDriverTest, AGroupCommitsManyExecutionsTogether) {
  auto machine = Machine(R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}})");
  driver_->BeginGroup();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(driver_->Start(machine, Info("g" + std::to_string(i)), json::object()).ok());
  }
  EXPECT_EQ(Rows(storage::Column::kExecutions), 0);   // nothing visible before the commit
  EXPECT_FALSE(driver_->NextTimerDue().has_value());  // nor armed
  ASSERT_TRUE(driver_->EndGroup().ok());
  EXPECT_EQ(Rows(storage::Column::kExecutions), 10);
  EXPECT_EQ(Rows(storage::Column::kTimers), 10);
  EXPECT_EQ(*driver_->NextTimerDue(), kT0 + 1000);
  clock_.AdvanceBy(1000);
  driver_->BeginGroup();
  ASSERT_TRUE(driver_->FireDueTimers().ok());
  ASSERT_TRUE(driver_->EndGroup().ok());
  EXPECT_EQ(Rows(storage::Column::kTimers), 0);
  EXPECT_EQ(driver_->size(), 0u);
  EXPECT_EQ(Rows(storage::Column::kIndexes, IndexPrefix("", "SUCCEEDED")), 10);
}

TEST_F(DurableDriverTest, ATimerFiringTwiceIsRecognisedAndWritesNothing) {
  auto machine = Machine(R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"X"},
      "X":{"Type":"Wait","Seconds":1,"End":true}}})");
  ASSERT_TRUE(driver_->Start(machine, Info("t"), json::object()).ok());
  clock_.AdvanceBy(1000);
  ASSERT_TRUE(driver_->FireDueTimers().ok());
  std::vector<InputRecord> log = Log("t");
  ASSERT_EQ(log.size(), 2u);
  ASSERT_EQ(log[1].kind, InputRecord::Kind::kTimerFired);

  // The interpreter refuses the same firing again: the live driver would write nothing for it.
  absl::StatusOr<ReplayedExecution> replayed = ReplayInputs(
      log, [&](const std::string&, std::int64_t) -> absl::StatusOr<std::shared_ptr<const sm::StateMachine>> {
        return machine;
      });
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  ReplayingRuntimeValues none(log[1].drawn);
  EXPECT_TRUE(absl::IsNotFound(ApplyInputRecord(*replayed->execution, log[1], none).status()));
  // A log that holds it twice does not replay: it cannot have been written by the engine.
  log.push_back(log[1]);
  absl::StatusOr<ReplayedExecution> twice = ReplayInputs(
      log, [&](const std::string&, std::int64_t) -> absl::StatusOr<std::shared_ptr<const sm::StateMachine>> {
        return machine;
      });
  EXPECT_TRUE(absl::IsDataLoss(twice.status())) << twice.status();
}

}  // namespace
}  // namespace stepflow::engine
