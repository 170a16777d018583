// Nothing in the store can keep the engine from opening (issue 9, section 1): golden corruptions written into
// a real store (a garbled input-log row, a truncated one, a forked history, a start record from a newer
// semantics version) quarantine their one execution. The rest is served; the quarantined one is shown as such
// in describe and list, counted in the metrics, its history stays readable page by page, calls that would
// drive it are refused with a named error, and Stop ends it ABORTED without replaying it, across restarts.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/history_rows.h"
#include "engine/input_log.h"
#include "engine/records.h"
#include "absl/strings/str_cat.h"
#include "engine/semantics_version.h"
#include "engine/task_tokens.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Run twice: Open returning after recovery, and serving during it (the server's mode), where each call below
// comes before recovery has necessarily reached the execution it names.
class QuarantineTest : public EngineTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    serve_during_recovery_ = GetParam();
    EngineTest::SetUp();
    ASSERT_TRUE(engine_->CreateStateMachine("Forever", kTaskForever, false).ok());
  }

  std::string StartOne(const std::string& name) {
    absl::StatusOr<ExecutionInfoRecord> e = engine_->StartExecution("Forever", name, R"({"n":1})");
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? e->arn : "";
  }

  static void Put(storage::Store& store, storage::Column column, const std::string& key, const std::string& value) {
    storage::WriteBatch b;
    b.Put(column, key, value);
    ASSERT_TRUE(store.Commit(b).ok());
  }

  std::vector<HistoryEventRecord> WholeHistory(const std::string& arn, int page_size) {
    std::vector<HistoryEventRecord> events;
    std::string token;
    do {
      absl::StatusOr<Page<HistoryEventRecord>> page = engine_->GetExecutionHistory(arn, page_size, token, false);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) {
        break;
      }
      events.insert(events.end(), page->items.begin(), page->items.end());
      token = page->next_page_token;
    } while (!token.empty());
    return events;
  }

  std::vector<std::string> Listed(std::function<void(ExecutionFilter&)> set) {
    ExecutionFilter filter;
    set(filter);
    absl::StatusOr<Page<ExecutionInfoRecord>> page = engine_->ListExecutions(filter, 100, "");
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> names;
    for (const ExecutionInfoRecord& e : page.value_or(Page<ExecutionInfoRecord>{}).items) {
      names.push_back(e.name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_P(QuarantineTest, CorruptRowsQuarantineTheirExecutionAndTheRestIsServed) {
  const std::string healthy = StartOne("healthy");
  const std::string garbled = StartOne("garbled");
  const std::string truncated = StartOne("truncated");
  const std::string forked = StartOne("forked");
  std::string garbled_token;  // a real token of garbled's task: signed with the store's key
  WithStoreClosed([&](storage::Store& store) {
    absl::StatusOr<TaskTokens> tokens = TaskTokens::LoadOrCreate(store);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    garbled_token = tokens->Mint(garbled, 2);
    Put(store, storage::Column::kInputs, InputKey(garbled, 0), std::string("\x02garbage\xff\xff", 10));
    absl::StatusOr<std::optional<std::string>> start = store.Get(storage::Column::kInputs, InputKey(truncated, 0));
    ASSERT_TRUE(start.ok() && start->has_value());
    Put(store, storage::Column::kInputs, InputKey(truncated, 0), (*start)->substr(0, (*start)->size() / 2));
    // A second branch of history: the events of the start written again under a later key.
    std::string first_row;
    ASSERT_TRUE(store
                    .Scan(storage::Column::kHistory, HistoryPrefix(forked), "", false,
                          [&](std::string_view, std::string_view value) {
                            first_row = std::string(value);
                            return false;
                          })
                    .ok());
    Put(store, storage::Column::kHistory, HistoryKey(forked, 40), first_row);
  });

  // The healthy execution is served as before.
  absl::StatusOr<std::optional<PolledTask>> task =
      engine_->PollTask("work", "w", common::SystemClock().NowMillis() + 10'000);
  ASSERT_TRUE(task.ok() && task->has_value()) << task.status();
  EXPECT_EQ((*task)->execution_arn, healthy);
  ASSERT_TRUE(engine_->CompleteTask((*task)->token, "{}").ok());
  EXPECT_EQ(Finish(healthy).status, sm::ExecutionStatus::kSucceeded);

  for (const std::string& arn : {garbled, truncated, forked}) {
    SCOPED_TRACE(arn);
    absl::StatusOr<ExecutionInfoRecord> d = engine_->DescribeExecution(arn);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(d->quarantined);
    EXPECT_FALSE(d->quarantine_reason.empty());
  }
  EXPECT_THAT(engine_->DescribeExecution(forked)->quarantine_reason, HasSubstr("not contiguous"));
  EXPECT_EQ(engine_->Metrics().executions_quarantined, 3u);
  EXPECT_EQ(Listed([](ExecutionFilter& f) { f.quarantined = true; }),
            (std::vector<std::string>{"forked", "garbled", "truncated"}));
  EXPECT_TRUE(Listed([](ExecutionFilter& f) { f.status = sm::ExecutionStatus::kRunning; }).empty());
  // Its history is its export: readable page by page.
  std::vector<HistoryEventRecord> history = WholeHistory(garbled, 1);
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.front().type, "ExecutionStarted");
  // Nothing drives it.
  EXPECT_THAT(std::string(engine_->RedriveExecution(garbled).status().message()),
              StartsWith("ExecutionQuarantined: "));
  EXPECT_THAT(std::string(engine_->CompleteTask(garbled_token, "{}").message()), StartsWith("ExecutionQuarantined: "));
  // Nor does a start naming it: it exists, and is quarantined.
  EXPECT_THAT(std::string(engine_->StartExecution("Forever", "garbled", R"({"n":1})").status().message()),
              StartsWith("ExecutionQuarantined: "));

  // An operator ends it: ABORTED, without replaying, and it stays so after a restart.
  absl::StatusOr<ExecutionInfoRecord> stopped = engine_->StopExecution(garbled, "Operator", "corrupt input log");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status, sm::ExecutionStatus::kAborted);
  EXPECT_FALSE(stopped->quarantined);
  history = WholeHistory(garbled, 100);
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back().type, "ExecutionAborted");
  EXPECT_EQ(history.back().id, static_cast<std::int64_t>(history.size()));
  EXPECT_EQ(engine_->Metrics().executions_quarantined, 2u);
  Reopen();
  absl::StatusOr<ExecutionInfoRecord> after = engine_->DescribeExecution(garbled);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->status, sm::ExecutionStatus::kAborted);
  EXPECT_FALSE(after->quarantined);
  EXPECT_EQ(Listed([](ExecutionFilter& f) { f.status = sm::ExecutionStatus::kAborted; }),
            (std::vector<std::string>{"garbled"}));
  // Listing the quarantined executions waits for the end of recovery; the metric then counts them all.
  EXPECT_EQ(Listed([](ExecutionFilter& f) { f.quarantined = true; }),
            (std::vector<std::string>{"forked", "truncated"}));
  EXPECT_EQ(engine_->Metrics().executions_quarantined, 2u) << "the others are still quarantined";
  EXPECT_EQ(engine_->DescribeExecution(healthy)->status, sm::ExecutionStatus::kSucceeded);
}

TEST_P(QuarantineTest, AnExecutionFromANewerSemanticsVersionIsQuarantinedAndAnUnversionedOneReplays) {
  const std::string newer = StartOne("newer");
  const std::string unversioned = StartOne("unversioned");
  WithStoreClosed([&](storage::Store& store) {
    for (const auto& [arn, version] : {std::pair{newer, kSemanticsVersion + 1}, std::pair{unversioned, 0}}) {
      absl::StatusOr<std::optional<std::string>> value = store.Get(storage::Column::kInputs, InputKey(arn, 0));
      ASSERT_TRUE(value.ok() && value->has_value());
      absl::StatusOr<InputRecord> start = DecodeInputRecord(**value);
      ASSERT_TRUE(start.ok()) << start.status();
      EXPECT_EQ(start->semantics_version, kSemanticsVersion) << "written at the start";
      start->semantics_version = version;  // 0: the field left out, as stores before it hold it
      Put(store, storage::Column::kInputs, InputKey(arn, 0), EncodeInputRecord(*start));
    }
  });
  absl::StatusOr<ExecutionInfoRecord> d = engine_->DescribeExecution(newer);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->quarantined);
  EXPECT_THAT(d->quarantine_reason, StartsWith("SemanticsVersionUnsupported: "));
  EXPECT_THAT(d->quarantine_reason, HasSubstr(absl::StrCat("semantics version ", kSemanticsVersion + 1)));
  absl::StatusOr<ExecutionInfoRecord> old = engine_->DescribeExecution(unversioned);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_FALSE(old->quarantined) << "no version means version 1: " << old->quarantine_reason;
  absl::StatusOr<std::optional<PolledTask>> task =
      engine_->PollTask("work", "w", common::SystemClock().NowMillis() + 10'000);
  ASSERT_TRUE(task.ok() && task->has_value());
  EXPECT_EQ((*task)->execution_arn, unversioned);
}

INSTANTIATE_TEST_SUITE_P(Recovery, QuarantineTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "ServingDuringRecovery" : "OpenAfterRecovery";
                         });

}  // namespace
}  // namespace stepflow::engine::testing
