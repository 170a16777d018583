// Unit tests for the Driver on an in-memory RocksDB store and a virtual clock: what it commits (history,
// execution record, timer rows), timers firing in due order, duplicate and stale inputs, Stop.

#include "engine/driver.h"

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "engine/history_rows.h"
#include "engine/random_values.h"
#include "engine/records.h"
#include "statemachine/compile.h"
#include "statemachine/core/model.h"
#include "statemachine/json_text.h"
#include "storage/memory_store.h"
#include "storage/store.h"

namespace stepflow::engine {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr common::EpochMillis kT0 = 1'700'000'000'000;

// Records every dispatch and cancellation; results are posted by the test.
class RecordingDispatcher final : public TaskDispatcher {
 public:
  absl::Status Dispatch(const TaskDispatch& task) override {
    dispatched.push_back(task);
    return absl::OkStatus();
  }
  void Cancel(const std::string& execution_id, std::uint64_t task_id) override {
    cancelled.emplace_back(execution_id, task_id);
  }
  std::vector<TaskDispatch> dispatched;
  std::vector<std::pair<std::string, std::uint64_t>> cancelled;
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

class DriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.in_memory = true;
    options.sync_writes = false;
    options.path = "/driver-test";
    auto store = storage::OpenRocksDbStore(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    driver_ = std::make_unique<Driver>(store_.get(), &clock_, &dispatcher_, &runtime_);
  }

  std::vector<std::string> HistoryTypes(const std::string& id) {
    absl::StatusOr<std::vector<json::object>> events = driver_->ReadHistory(id);
    EXPECT_TRUE(events.ok()) << events.status();
    std::vector<std::string> types;
    for (const json::object& e : events.value_or(std::vector<json::object>{})) {
      types.emplace_back(e.at("type").as_string());
    }
    return types;
  }

  int Rows(storage::Column column) {
    int n = 0;
    EXPECT_TRUE(store_->Scan(column, "", "", false, [&](std::string_view, std::string_view) {
                  ++n;
                  return true;
                }).ok());
    return n;
  }

  json::object ExecutionRecord(const std::string& id) {
    absl::StatusOr<std::optional<std::string>> v = store_->Get(storage::Column::kExecutions, id);
    EXPECT_TRUE(v.ok() && v->has_value());
    if (!v.ok() || !v->has_value()) {
      return {};
    }
    absl::StatusOr<StoredExecution> stored = DecodeExecutionRecord(**v);
    EXPECT_TRUE(stored.ok()) << stored.status();
    if (!stored.ok()) {
      return {};
    }
    // The record's fields, with the output as a JSON value.
    const ExecutionInfoRecord& r = stored->record;
    json::object o{{"id", r.arn}, {"name", r.name}, {"stateMachine", r.state_machine_arn},
                   {"status", sm::ExecutionStatusName(r.status)}, {"input", r.input}, {"startTime", r.start},
                   {"stopTime", r.stop}, {"error", r.error}, {"cause", r.cause},
                   {"lastEventId", stored->last_event_id}, {"redriveCount", r.redrive_count}};
    if (!r.output.empty()) {
      o["output"] = json::parse(r.output);
    }
    return o;
  }

  void Post(DriverInput::Kind kind, const std::string& id, std::uint64_t task, json::value output = nullptr) {
    DriverInput input;
    input.kind = kind;
    input.execution_id = id;
    input.task_id = task;
    input.output = std::move(output);
    input.error = "E";
    driver_->Post(std::move(input));
  }

  common::VirtualClock clock_{kT0};
  RecordingDispatcher dispatcher_;
  RandomRuntimeValues runtime_{42};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Driver> driver_;
};

TEST_F(DriverTest, CommitsTheHistoryInOrder) {
  ASSERT_TRUE(driver_->Start(Machine(R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},
      "B":{"Type":"Pass","Result":2,"End":true}}})"),
                             Info("e1"), json::parse(R"({"x":1})"))
                  .ok());
  absl::StatusOr<std::vector<json::object>> events = driver_->ReadHistory("e1");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 6u);
  for (std::size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].at("id"), json::value(static_cast<std::int64_t>(i + 1)));
  }
  EXPECT_THAT(HistoryTypes("e1"), ElementsAre("ExecutionStarted", "PassStateEntered", "PassStateExited",
                                              "PassStateEntered", "PassStateExited", "ExecutionSucceeded"));
  EXPECT_EQ((*events)[0].at("timestamp"), json::value("2023-11-14T22:13:20.000Z"));
  EXPECT_EQ((*events)[0].at("executionStartedEventDetails").at("input"), json::value(R"({"x":1})"));
  json::object record = ExecutionRecord("e1");
  EXPECT_EQ(record.at("status"), json::value("SUCCEEDED"));
  EXPECT_EQ(record.at("output"), json::value(2));
  EXPECT_EQ(record.at("lastEventId"), json::value(6));
  EXPECT_EQ(driver_->Find("e1")->status(), sm::ExecutionStatus::kSucceeded);
}

TEST_F(DriverTest, HistoriesOfExecutionsDoNotMix) {
  auto machine = Machine(R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  ASSERT_TRUE(driver_->Start(machine, Info("e1"), json::object()).ok());
  ASSERT_TRUE(driver_->Start(machine, Info("e10"), json::object()).ok());  // "e1" is a prefix of "e10"
  EXPECT_EQ(HistoryTypes("e1").size(), 4u);
  EXPECT_EQ(HistoryTypes("e10").size(), 4u);
  EXPECT_THAT(HistoryTypes("nope"), IsEmpty());
}

TEST_F(DriverTest, TaskRoundTrip) {
  ASSERT_TRUE(driver_->Start(Machine(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q1",
      "Parameters":{"a.$":"$.a"},"End":true}}})"),
                             Info("e1"), json::parse(R"({"a":5})"))
                  .ok());
  ASSERT_EQ(dispatcher_.dispatched.size(), 1u);
  const TaskDispatch& t = dispatcher_.dispatched[0];
  EXPECT_EQ(t.execution_id, "e1");
  EXPECT_EQ(t.state_name, "T");
  EXPECT_EQ(t.resource, "q1");
  EXPECT_EQ(t.input, json::parse(R"({"a":5})"));
  EXPECT_EQ(Rows(storage::Column::kTasks), 0);  // a task has no row: the input log is its record
  EXPECT_EQ(ExecutionRecord("e1").at("status"), json::value("RUNNING"));

  clock_.AdvanceBy(100);
  Post(DriverInput::Kind::kTaskStarted, "e1", t.task_id);
  Post(DriverInput::Kind::kTaskSucceeded, "e1", t.task_id, json::parse(R"({"r":1})"));
  ASSERT_TRUE(driver_->ProcessInbox().ok());
  EXPECT_THAT(HistoryTypes("e1"), ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled",
                                              "TaskStarted", "TaskSucceeded", "TaskStateExited",
                                              "ExecutionSucceeded"));
  EXPECT_EQ(driver_->ReadHistory("e1")->at(4).at("timestamp"), json::value("2023-11-14T22:13:20.100Z"));
  EXPECT_EQ(ExecutionRecord("e1").at("output"), json::parse(R"({"r":1})"));
}

TEST_F(DriverTest, ForgettingAnEndedExecutionDeletesEveryRowOfItAndNothingElse) {
  auto task = Machine(R"({"TimeoutSeconds":100,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q",
      "End":true}}})");
  // "e1" is a prefix of "e10": forgetting one leaves the other's rows alone.
  for (const char* id : {"e1", "e10"}) {
    ASSERT_TRUE(driver_->Start(task, Info(id), json::object()).ok()) << id;
  }
  EXPECT_TRUE(absl::IsFailedPrecondition(driver_->Forget("e1").status()));  // still running
  for (std::size_t i = 0; i < 2; ++i) {
    const TaskDispatch& t = dispatcher_.dispatched.at(i);
    Post(DriverInput::Kind::kTaskFailed, t.execution_id, t.task_id);  // no Catch: failed, with a dead letter
  }
  ASSERT_TRUE(driver_->ProcessInbox().ok());
  ASSERT_EQ(driver_->Find("e1")->status(), sm::ExecutionStatus::kFailed);
  const std::vector<std::string> e10_history = HistoryTypes("e10");
  const std::optional<std::string> e10_record = *store_->Get(storage::Column::kExecutions, "e10");
  EXPECT_EQ(Rows(storage::Column::kDeadLetters), 2);
  EXPECT_EQ(Rows(storage::Column::kExecutions), 2);

  absl::StatusOr<std::unique_ptr<sm::Execution>> forgotten = driver_->Forget("e1");
  ASSERT_TRUE(forgotten.ok()) << forgotten.status();
  EXPECT_EQ((*forgotten)->status(), sm::ExecutionStatus::kFailed);
  EXPECT_EQ((*forgotten)->info().execution_arn, "e1");
  EXPECT_EQ(driver_->Find("e1"), nullptr);
  EXPECT_EQ(driver_->size(), 1u);
  EXPECT_THAT(HistoryTypes("e1"), IsEmpty());
  EXPECT_EQ(*store_->Get(storage::Column::kExecutions, "e1"), std::nullopt);
  EXPECT_EQ(Rows(storage::Column::kDeadLetters), 1);
  EXPECT_EQ(HistoryTypes("e10"), e10_history);
  EXPECT_EQ(*store_->Get(storage::Column::kExecutions, "e10"), e10_record);
  EXPECT_TRUE(absl::IsNotFound(driver_->Forget("e1").status()));
  EXPECT_TRUE(absl::IsNotFound(driver_->Forget("ghost").status()));

  // One commit's events over several history rows (a row holds at most kMaxEventsPerHistoryRow): every row goes.
  json::array items(200, json::value(1));
  ASSERT_TRUE(driver_->Start(Machine(R"({"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":
                                 {"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}})"),
                             Info("e2"), json::value(std::move(items)))
                  .ok());
  ASSERT_EQ(driver_->Find("e2")->status(), sm::ExecutionStatus::kSucceeded);
  ASSERT_GT(driver_->Find("e2")->last_event_id(), 2 * static_cast<std::int64_t>(kMaxEventsPerHistoryRow));
  ASSERT_TRUE(driver_->Forget("e2").ok());
  ASSERT_TRUE(driver_->Forget("e10").ok());
  for (int c = 0; c < storage::kColumnCount; ++c) {
    EXPECT_EQ(Rows(static_cast<storage::Column>(c)), 0) << storage::ColumnName(static_cast<storage::Column>(c));
  }
  EXPECT_FALSE(driver_->NextTimerDue().has_value());
  // The id is free again: a new execution under it starts from nothing.
  ASSERT_TRUE(driver_->Start(Machine(R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})"), Info("e1"),
                             json::object())
                  .ok());
  EXPECT_THAT(HistoryTypes("e1"), ElementsAre("ExecutionStarted", "PassStateEntered", "PassStateExited",
                                              "ExecutionSucceeded"));
}

TEST_F(DriverTest, ForgettingIsRefusedInADurableDriverAndInsideAGroup) {
  DriverOptions options;
  options.durable = true;
  Driver durable(store_.get(), &clock_, &dispatcher_, &runtime_, options);
  auto pass = Machine(R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})");
  ASSERT_TRUE(durable.Start(pass, Info("d1"), json::object()).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(durable.Forget("d1").status()));
  ASSERT_TRUE(driver_->Start(pass, Info("e1"), json::object()).ok());
  driver_->BeginGroup();
  EXPECT_TRUE(absl::IsFailedPrecondition(driver_->Forget("e1").status()));
  ASSERT_TRUE(driver_->EndGroup().ok());
  EXPECT_TRUE(driver_->Forget("e1").ok());
}

TEST_F(DriverTest, DuplicateCompletionChangesNothing) {
  ASSERT_TRUE(driver_->Start(Machine(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q","Next":"U"},
      "U":{"Type":"Task","Resource":"q","End":true}}})"),
                             Info("e1"), json::object())
                  .ok());
  std::uint64_t first = dispatcher_.dispatched.at(0).task_id;
  Post(DriverInput::Kind::kTaskSucceeded, "e1", first, json::value(1));
  ASSERT_TRUE(driver_->ProcessInbox().ok());
  ASSERT_EQ(dispatcher_.dispatched.size(), 2u);
  const std::vector<std::string> before = HistoryTypes("e1");
  const json::object record_before = ExecutionRecord("e1");

  Post(DriverInput::Kind::kTaskSucceeded, "e1", first, json::value(2));
  Post(DriverInput::Kind::kTaskFailed, "e1", first);
  Post(DriverInput::Kind::kTaskStarted, "e1", first);
  EXPECT_TRUE(driver_->ProcessInbox().ok());
  EXPECT_EQ(HistoryTypes("e1"), before);
  EXPECT_EQ(ExecutionRecord("e1"), record_before);
  EXPECT_EQ(dispatcher_.dispatched.size(), 2u);
  EXPECT_EQ(driver_->Find("e1")->status(), sm::ExecutionStatus::kRunning);
}

TEST_F(DriverTest, InputForAnUnknownExecutionIsNotFound) {
  Post(DriverInput::Kind::kTaskSucceeded, "ghost", 1, json::value(1));
  EXPECT_TRUE(absl::IsNotFound(driver_->ProcessInbox()));
}

TEST_F(DriverTest, StartingTheSameIdTwiceIsAlreadyExists) {
  auto machine = Machine(R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  ASSERT_TRUE(driver_->Start(machine, Info("e1"), json::object()).ok());
  absl::Status again = driver_->Start(machine, Info("e1"), json::object());
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_EQ(HistoryTypes("e1").size(), 4u);
}

constexpr char kWaitThenTask[] = R"({"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","Next":"T"},
    "T":{"Type":"Task","Resource":"q","End":true}}})";

TEST_F(DriverTest, TimersFireInDueOrder) {
  auto machine = Machine(kWaitThenTask);
  ASSERT_TRUE(driver_->Start(machine, Info("slow"), json::parse(R"({"s":10})")).ok());
  ASSERT_TRUE(driver_->Start(machine, Info("fast"), json::parse(R"({"s":5})")).ok());
  ASSERT_TRUE(driver_->Start(machine, Info("mid"), json::parse(R"({"s":7})")).ok());
  EXPECT_EQ(Rows(storage::Column::kTimers), 3);
  ASSERT_TRUE(driver_->NextTimerDue().has_value());
  EXPECT_EQ(*driver_->NextTimerDue(), kT0 + 5'000);

  clock_.AdvanceTo(kT0 + 4'999);
  ASSERT_TRUE(driver_->FireDueTimers().ok());
  EXPECT_THAT(dispatcher_.dispatched, IsEmpty());

  clock_.AdvanceTo(kT0 + 7'000);
  ASSERT_TRUE(driver_->FireDueTimers().ok());
  ASSERT_EQ(dispatcher_.dispatched.size(), 2u);
  EXPECT_EQ(dispatcher_.dispatched[0].execution_id, "fast");
  EXPECT_EQ(dispatcher_.dispatched[1].execution_id, "mid");
  EXPECT_EQ(*driver_->NextTimerDue(), kT0 + 10'000);

  clock_.AdvanceTo(kT0 + 60'000);
  ASSERT_TRUE(driver_->FireDueTimers().ok());
  ASSERT_EQ(dispatcher_.dispatched.size(), 3u);
  EXPECT_EQ(dispatcher_.dispatched[2].execution_id, "slow");
  EXPECT_FALSE(driver_->NextTimerDue().has_value());
  // Each fired timer's row went in the batch that recorded what it caused.
  EXPECT_EQ(Rows(storage::Column::kTimers), 0);
}

TEST_F(DriverTest, TimersOfOneExecutionFireInDueOrder) {
  ASSERT_TRUE(driver_->Start(Machine(R"({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
      {"StartAt":"W1","States":{"W1":{"Type":"Wait","Seconds":30,"Next":"T1"},"T1":{"Type":"Task","Resource":"late","End":true}}},
      {"StartAt":"W2","States":{"W2":{"Type":"Wait","Seconds":3,"Next":"T2"},"T2":{"Type":"Task","Resource":"early","End":true}}}]}}})"),
                             Info("e1"), json::object())
                  .ok());
  clock_.AdvanceTo(kT0 + 30'000);
  ASSERT_TRUE(driver_->FireDueTimers().ok());
  ASSERT_EQ(dispatcher_.dispatched.size(), 2u);
  EXPECT_EQ(dispatcher_.dispatched[0].resource, "early");
  EXPECT_EQ(dispatcher_.dispatched[1].resource, "late");
}

TEST_F(DriverTest, TimerTimestampsAreTheFiringTime) {
  ASSERT_TRUE(driver_->Start(Machine(kWaitThenTask), Info("e1"), json::parse(R"({"s":2})")).ok());
  clock_.AdvanceTo(kT0 + 2'000);
  ASSERT_TRUE(driver_->FireDueTimers().ok());
  absl::StatusOr<std::vector<json::object>> events = driver_->ReadHistory("e1");
  ASSERT_TRUE(events.ok());
  ASSERT_GE(events->size(), 4u);
  EXPECT_EQ((*events)[2].at("type"), json::value("WaitStateExited"));
  EXPECT_EQ((*events)[2].at("timestamp"), json::value("2023-11-14T22:13:22.000Z"));
}

TEST_F(DriverTest, StopAbortsCancelsAndDeletesTimers) {
  ASSERT_TRUE(driver_->Start(Machine(R"({"TimeoutSeconds":100,"StartAt":"T","States":{
      "T":{"Type":"Task","Resource":"q","End":true}}})"),
                             Info("e1"), json::object())
                  .ok());
  EXPECT_EQ(Rows(storage::Column::kTimers), 1);  // the execution timeout
  ASSERT_TRUE(driver_->Stop("e1", "Stopped", "by test").ok());
  EXPECT_EQ(HistoryTypes("e1").back(), "ExecutionAborted");
  ASSERT_EQ(dispatcher_.cancelled.size(), 1u);
  EXPECT_EQ(dispatcher_.cancelled[0].first, "e1");
  EXPECT_EQ(dispatcher_.cancelled[0].second, dispatcher_.dispatched.at(0).task_id);
  EXPECT_EQ(Rows(storage::Column::kTimers), 0);
  EXPECT_FALSE(driver_->NextTimerDue().has_value());
  json::object record = ExecutionRecord("e1");
  EXPECT_EQ(record.at("status"), json::value("ABORTED"));
  EXPECT_EQ(record.at("error"), json::value("Stopped"));
  EXPECT_TRUE(absl::IsFailedPrecondition(driver_->Stop("e1", "", "")));
  EXPECT_TRUE(absl::IsNotFound(driver_->Stop("ghost", "", "")));
}

TEST_F(DriverTest, ExecutionTimeoutFiresThroughTheTimerWheel) {
  ASSERT_TRUE(driver_->Start(Machine(R"({"TimeoutSeconds":100,"StartAt":"T","States":{
      "T":{"Type":"Task","Resource":"q","End":true}}})"),
                             Info("e1"), json::object())
                  .ok());
  clock_.AdvanceTo(kT0 + 100'000);
  ASSERT_TRUE(driver_->FireDueTimers().ok());
  EXPECT_EQ(driver_->Find("e1")->status(), sm::ExecutionStatus::kTimedOut);
  EXPECT_EQ(HistoryTypes("e1").back(), "ExecutionTimedOut");
  EXPECT_EQ(dispatcher_.cancelled.size(), 1u);
  EXPECT_EQ(Rows(storage::Column::kTimers), 0);
}

TEST_F(DriverTest, WorkStartedAndEndedInOneCommitIsNeitherDispatchedNorLeftBehind) {
  ASSERT_TRUE(driver_->Start(Machine(R"({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
      {"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q","End":true}}},
      {"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3,"End":true}}},
      {"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E"}}}]}}})"),
                             Info("e1"), json::object())
                  .ok());
  EXPECT_EQ(driver_->Find("e1")->status(), sm::ExecutionStatus::kFailed);
  EXPECT_THAT(dispatcher_.dispatched, IsEmpty());
  EXPECT_EQ(Rows(storage::Column::kTimers), 0);
  EXPECT_FALSE(driver_->NextTimerDue().has_value());
}

TEST_F(DriverTest, DispatchErrorIsReturned) {
  class Refusing final : public TaskDispatcher {
   public:
    absl::Status Dispatch(const TaskDispatch& task) override {
      return absl::FailedPreconditionError("no worker for " + task.state_name);
    }
    void Cancel(const std::string&, std::uint64_t) override {}
  } refusing;
  Driver driver(store_.get(), &clock_, &refusing, &runtime_);
  absl::Status s = driver.Start(Machine(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q","End":true}}})"),
                                Info("e1"), json::object());
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("no worker for T"));
}

// The record's output is the text of the ExecutionSucceeded event (kept by the interpreter, not serialized
// again): byte for byte AWS's compact text of the output, also for numbers and escapes, and the same after the
// execution is rebuilt from a snapshot (where the interpreter serializes it).
TEST_F(DriverTest, TheRecordsOutputIsTheOutputsAwsText) {
  auto machine = Machine(R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},
      "B":{"Type":"Pass","End":true}}})");
  const json::value input = json::parse(R"({"big":1e300,"small":1.5e-7,"n":-0.0,"s":"\u00e9\n\u0001/","a":[1,2.50]})");
  ASSERT_TRUE(driver_->Start(machine, Info("e1"), input).ok());
  absl::StatusOr<std::optional<std::string>> v = store_->Get(storage::Column::kExecutions, "e1");
  ASSERT_TRUE(v.ok() && v->has_value());
  absl::StatusOr<StoredExecution> stored = DecodeExecutionRecord(**v);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->record.output, sm::ToAwsJson(input));
  absl::StatusOr<std::vector<json::object>> events = driver_->ReadHistory("e1");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(json::value(stored->record.output), events->back().at("executionSucceededEventDetails").at("output"));

  const sm::Execution* e = driver_->Find("e1");
  ASSERT_NE(e, nullptr);
  absl::StatusOr<std::unique_ptr<sm::Execution>> restored =
      sm::Execution::Restore(machine, Info("e1"), sm::ExecutionLimits{}, e->SaveState());
  ASSERT_TRUE(restored.ok()) << restored.status();
  std::string text;
  (*restored)->AppendOutputText(text);
  EXPECT_EQ(text, stored->record.output);
}

// The embedded engine's driver (defer_history_encoding, on the in-memory store) keeps history rows and the
// execution record as values rendered when read: they read back as the very bytes the durable layout writes in
// the commit, record and history, for a running, a succeeded and a failed execution.
TEST_F(DriverTest, DeferredEncodingReadsBackTheBytesWrittenInTheCommit) {
  std::unique_ptr<storage::Store> memory = storage::NewMemoryStore();
  RecordingDispatcher dispatcher;
  RandomRuntimeValues runtime{42};
  DriverOptions options;
  options.defer_history_encoding = true;
  Driver deferred(memory.get(), &clock_, &dispatcher, &runtime, options);
  const struct {
    const char* id;
    const char* definition;
  } cases[] = {
      {"ok", R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"M"},
          "M":{"Type":"Map","ItemsPath":"$.items","ResultPath":"$.out","Next":"V",
               "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}},
          "V":{"Type":"Pass","Assign":{"x":1,"z.$":"$.items"},"Next":"E"},
          "E":{"Type":"Succeed"}}})"},
      {"failed", R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"F"},
          "F":{"Type":"Fail","Error":"E\u00e9","Cause":"why \"not\""}}})"},
      {"running", R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"T"},
          "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}})"},
  };
  const json::value input =
      json::parse(R"({"items":[1,{"b":"\u00e9\n"},[2.5]],"s":")" + std::string(300, 'x') + R"("})");
  for (const auto& c : cases) {
    auto machine = Machine(c.definition);
    ASSERT_TRUE(driver_->Start(machine, Info(c.id), input).ok()) << c.id;
    ASSERT_TRUE(deferred.Start(machine, Info(c.id), input).ok()) << c.id;
    absl::StatusOr<std::optional<std::string>> encoded = store_->Get(storage::Column::kExecutions, c.id);
    absl::StatusOr<std::optional<std::string>> rendered = memory->Get(storage::Column::kExecutions, c.id);
    ASSERT_TRUE(encoded.ok() && encoded->has_value() && rendered.ok() && rendered->has_value()) << c.id;
    EXPECT_EQ(**rendered, **encoded) << c.id;
    std::string encoded_rows;
    std::string rendered_rows;
    for (auto [store, rows] : {std::pair{store_.get(), &encoded_rows}, std::pair{memory.get(), &rendered_rows}}) {
      ASSERT_TRUE(store->Scan(storage::Column::kHistory, HistoryPrefix(c.id), "", false,
                              [rows](std::string_view key, std::string_view value) {
                                rows->append(key);
                                rows->append(value);
                                return true;
                              }).ok());
    }
    EXPECT_FALSE(encoded_rows.empty()) << c.id;
    EXPECT_EQ(rendered_rows, encoded_rows) << c.id;
    absl::StatusOr<std::vector<json::object>> a = driver_->ReadHistory(c.id);
    absl::StatusOr<std::vector<json::object>> b = deferred.ReadHistory(c.id);
    ASSERT_TRUE(a.ok() && b.ok()) << c.id;
    EXPECT_EQ(*a, *b) << c.id;
  }
  EXPECT_EQ(driver_->Find("failed")->status(), sm::ExecutionStatus::kFailed);
  EXPECT_EQ(deferred.Find("running")->status(), sm::ExecutionStatus::kRunning);
}

// UUIDs keep the layout "%08x-%04x-%04x-%04x-%012llx" of the two 64-bit draws (version 4, RFC 4122 variant):
// executions started with a seed before the formatting changed get the same names.
TEST(RandomRuntimeValuesTest, UuidIsThePrintfLayoutOfTheDraws) {
  RandomRuntimeValues values(12345);
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 1000; ++i) {
    std::uint64_t hi = (rng() & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
    std::uint64_t lo = (rng() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
    char expected[40];
    std::snprintf(expected, sizeof(expected), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                  static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                  static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
    ASSERT_EQ(values.NewUuid(), expected) << "draw " << i;
  }
}

}  // namespace
}  // namespace stepflow::engine
