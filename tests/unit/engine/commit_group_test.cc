// Calls that touch the same execution inside one commit group of a partition (issue 9, section 7), made
// deterministic by running them in one posted work item: each call sees the state the calls before it left,
// nothing is evicted before the commit, a dead letter is checked and consumed in the same step, and each
// reply reports that call's own outcome. The group's history must be whole (VerifyHistory).

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "engine/definitions.h"
#include "engine/execution_record.h"
#include "engine/names.h"
#include "engine/partition.h"
#include "engine/replay.h"
#include "engine/tasks.h"

namespace stepflow::engine {
namespace {

constexpr common::EpochMillis kT0 = 1'700'000'000'000;
constexpr char kTask[] = R"({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true}}})";

// Holds a call's answer, set on the partition thread after the group's commit.
template <typename T>
struct Answer {
  std::shared_ptr<std::promise<absl::StatusOr<T>>> promise = std::make_shared<std::promise<absl::StatusOr<T>>>();
  std::shared_future<absl::StatusOr<T>> future = promise->get_future().share();
  absl::AnyInvocable<void(absl::StatusOr<T>)> Done() {
    return [p = promise](absl::StatusOr<T> r) { p->set_value(std::move(r)); };
  }
  absl::StatusOr<T> Get() const { return future.get(); }
};

class CommitGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions o;
    o.in_memory = true;
    o.sync_writes = false;
    auto store = storage::OpenRocksDbStore(o);
    ASSERT_TRUE(store.ok());
    store_ = *std::move(store);
    definitions_ = std::make_unique<DefinitionStore>(store_.get(), &clock_, 1 << 20);
    ASSERT_TRUE(definitions_->Create("T", kTask, false).ok());
    PartitionOptions options;
    options.max_timer_wait_ms = 1;
    partition_ = std::make_unique<Partition>(0, store_.get(), &clock_, definitions_.get(), &matcher_, options);
    partition_->Run();
  }
  void TearDown() override { partition_->Stop(); }

  // Runs `fn` on the partition thread: every call it makes is in one commit group.
  void InGroup(std::function<void(Partition&)> fn) {
    std::promise<void> ran;
    Partition* p = partition_.get();
    ASSERT_TRUE(p->Post([p, &fn, &ran] {
      fn(*p);
      ran.set_value();
    }));
    ran.get_future().wait();
  }

  std::string Start(const std::string& name) {
    auto latest = definitions_->Latest("T");
    EXPECT_TRUE(latest.ok());
    StartRequest request;
    request.machine = latest->second;
    request.info.execution_arn = ExecutionArn("T", name);
    request.info.name = name;
    request.info.state_machine_arn = latest->first.arn;
    request.info.state_machine_name = "T";
    request.info.start_time = clock_.NowMillis();
    request.meta = ExecutionMeta{latest->first.version, "{}"};
    request.input = boost::json::object();
    const std::string arn = request.info.execution_arn;
    Answer<ExecutionInfoRecord> started;
    InGroup([&](Partition& p) { p.StartExecution(std::move(request), started.Done()); });
    EXPECT_TRUE(started.Get().ok()) << started.Get().status();
    return arn;
  }

  // Takes the next task of the queue and commits its TaskStarted.
  std::uint64_t TakeTask(const std::string& arn) {
    std::vector<QueuedTask> taken = matcher_.Take("work", common::SystemClock().NowMillis() + 5000);
    EXPECT_EQ(taken.size(), 1u);
    if (taken.empty()) {
      return 0;
    }
    const QueuedTask* task = &taken.front();
    EXPECT_EQ(task->execution_id, arn);
    Answer<bool> started;
    InGroup([&](Partition& p) { p.StartTask(arn, task->task_id, "w", /*lazy=*/false, started.Done()); });
    EXPECT_TRUE(started.Get().ok() && *started.Get());
    return task->task_id;
  }

  static DriverInput Report(const std::string& arn, std::uint64_t task_id, DriverInput::Kind kind) {
    DriverInput input;
    input.kind = kind;
    input.execution_id = arn;
    input.task_id = task_id;
    input.output = boost::json::object();
    input.error = "Boom";
    return input;
  }

  absl::StatusOr<StoredExecution> Record(const std::string& arn) {
    auto value = store_->Get(storage::Column::kExecutions, arn);
    if (!value.ok() || !value->has_value()) {
      return absl::NotFoundError(arn);
    }
    return DecodeExecutionRecord(**value);
  }

  void ExpectWholeHistory(const std::string& arn) {
    absl::StatusOr<StoredExecution> stored = Record(arn);
    ASSERT_TRUE(stored.ok()) << stored.status();
    absl::Status whole = VerifyHistory(*store_, arn, stored->last_event_id);
    EXPECT_TRUE(whole.ok()) << whole;
  }

  common::VirtualClock clock_{kT0};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<DefinitionStore> definitions_;
  TaskMatcher matcher_;
  std::unique_ptr<Partition> partition_;
};

TEST_F(CommitGroupTest, ADeadLetterIsRedrivenOnceAndNotDiscardedAfterwardsInTheSameGroup) {
  const std::string arn = Start("dl");
  const std::uint64_t task = TakeTask(arn);
  const std::string token = DeadLetterId(arn, task);
  Answer<bool> failed;
  Answer<std::vector<DeadLetterOutcome>> first, second;
  Answer<bool> discarded;
  InGroup([&](Partition& p) {
    p.ReportTask(Report(arn, task, DriverInput::Kind::kTaskFailed), token, failed.Done());
    p.RedriveDeadLetters(arn, {{task, std::nullopt}}, first.Done());
    p.RedriveDeadLetters(arn, {{task, std::nullopt}}, second.Done());
    p.DiscardDeadLetter(arn, task, "T", discarded.Done());
  });
  ASSERT_TRUE(failed.Get().ok()) << failed.Get().status();
  ASSERT_TRUE(first.Get().ok()) << first.Get().status();
  ASSERT_EQ(first.Get()->size(), 1u);
  EXPECT_TRUE((*first.Get())[0].status.ok()) << (*first.Get())[0].status;
  ASSERT_TRUE(second.Get().ok()) << second.Get().status();
  ASSERT_EQ(second.Get()->size(), 1u);
  EXPECT_TRUE(absl::StartsWith((*second.Get())[0].status.message(), "DeadLetterDoesNotExist: "))
      << (*second.Get())[0].status;
  EXPECT_TRUE(absl::StartsWith(discarded.Get().status().message(), "DeadLetterDoesNotExist: "))
      << discarded.Get().status();
  EXPECT_EQ(Record(arn)->record.status, sm::ExecutionStatus::kRunning);
  EXPECT_EQ(Record(arn)->record.redrive_count, 1);
  EXPECT_FALSE(store_->Get(storage::Column::kDeadLetters, DeadLetterKey(arn, task))->has_value());
  // The redriven task was dispatched after the commit, not only after a restart.
  EXPECT_EQ(matcher_.Depth("work"), 1u);
  ExpectWholeHistory(arn);
}

TEST_F(CommitGroupTest, TheEndOfAnExecutionAndARedriveInOneGroupAreEachAnsweredAndDispatched) {
  const std::string arn = Start("end");
  const std::uint64_t task = TakeTask(arn);
  Answer<bool> failed;
  Answer<ExecutionInfoRecord> redriven;
  InGroup([&](Partition& p) {
    p.ReportTask(Report(arn, task, DriverInput::Kind::kTaskFailed), DeadLetterId(arn, task), failed.Done());
    p.RedriveExecution(arn, redriven.Done());
  });
  EXPECT_TRUE(failed.Get().ok()) << failed.Get().status();
  ASSERT_TRUE(redriven.Get().ok()) << redriven.Get().status();
  EXPECT_EQ(redriven.Get()->status, sm::ExecutionStatus::kRunning);
  EXPECT_EQ(matcher_.Depth("work"), 1u) << "the redriven task is offered at once";
  ExpectWholeHistory(arn);
}

TEST_F(CommitGroupTest, ARefusedRedriveDoesNotLetALaterCallForkTheHistory) {
  const std::string arn = Start("fork");
  const std::uint64_t task = TakeTask(arn);
  Answer<bool> completed;
  Answer<ExecutionInfoRecord> refused;
  Answer<ExecutionInfoRecord> stopped;
  Answer<bool> late;
  InGroup([&](Partition& p) {
    p.ReportTask(Report(arn, task, DriverInput::Kind::kTaskSucceeded), DeadLetterId(arn, task), completed.Done());
    p.RedriveExecution(arn, refused.Done());  // SUCCEEDED: not redrivable
    p.StopExecution(arn, "Operator", "late", stopped.Done());
    p.ReportTask(Report(arn, task, DriverInput::Kind::kTaskFailed), DeadLetterId(arn, task), late.Done());
  });
  EXPECT_TRUE(completed.Get().ok()) << completed.Get().status();
  EXPECT_TRUE(absl::StartsWith(refused.Get().status().message(), "ExecutionNotRedrivable: "))
      << refused.Get().status();
  EXPECT_TRUE(absl::StartsWith(stopped.Get().status().message(), "ExecutionNotRunning: ")) << stopped.Get().status();
  EXPECT_TRUE(late.Get().ok()) << "a repeated result changes nothing: " << late.Get().status();
  absl::StatusOr<StoredExecution> stored = Record(arn);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->record.status, sm::ExecutionStatus::kSucceeded);
  ExpectWholeHistory(arn);
}

}  // namespace
}  // namespace stepflow::engine
