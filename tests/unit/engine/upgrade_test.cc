// A store written by the last release with version-1 (JSON) values opens, recovers and reads the same under
// this release (storage/FORMAT.md, "Values"), and its executions go on with version-2 rows after them.
//
// testdata/v1_store.tsv holds every row of a store that the engine at f25e437 (the last version-1 release)
// wrote for the executions listed in testdata/v1_reads.json (one line: `column TAB key-in-hex TAB value`),
// and v1_reads.json what that engine's API returned for them just before it closed: describe, the whole
// history, the dead-letter list, the state machines. The virtual clock stood at kT0 + 2010 then.
// Executions: p1 (Pass, SUCCEEDED), w1 (a Wait), d1 (a Wait after States.UUID and States.MathRandom), t1
// (a Task started by worker-1, with a logged heartbeat), dl (failed twice, dead-lettered, redriven with a
// patched input: its task is queued), f1 (dead letter discarded), f2 (dead letter kept), s1 (stopped), c1
// (a completed Task). w1, d1, t1 and dl are RUNNING.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "engine/definitions.h"
#include "engine/execution_record.h"
#include "engine/pending_work.h"
#include "engine/records.h"
#include "engine/replay.h"
#include "engine/tasks.h"
#include "statemachine/runtime_values.h"
#include "tests/unit/engine/engine_test_util.h"

#ifndef STEPFLOW_ENGINE_TESTDATA
#error "STEPFLOW_ENGINE_TESTDATA must name tests/unit/engine/testdata"
#endif

namespace stepflow::engine::testing {
namespace {
namespace json = boost::json;

constexpr common::EpochMillis kFixtureNow = kT0 + 2010;

std::string ReadFile(const std::string& name) {
  std::ifstream in(std::string(STEPFLOW_ENGINE_TESTDATA) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<storage::Column> ColumnNamed(std::string_view name) {
  for (int i = 0; i < storage::kColumnCount; ++i) {
    if (storage::ColumnName(static_cast<storage::Column>(i)) == name) {
      return static_cast<storage::Column>(i);
    }
  }
  return std::nullopt;
}

json::array Events(const std::vector<HistoryEventRecord>& events) {
  json::array out;
  for (const HistoryEventRecord& e : events) {
    out.push_back(json::array{e.id, e.previous_event_id, e.timestamp, e.type, e.details_key, e.details});
  }
  return out;
}

class UpgradeTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    engine_.reset();
    std::filesystem::remove_all(dir_ / "data");
    expected_ = json::parse(ReadFile("v1_reads.json")).as_object();
    WriteFixtureRows();
    clock_.AdvanceTo(kFixtureNow);
    Open();
  }

  // Writes every fixture row, as the old release left them, in one batch.
  void WriteFixtureRows() {
    storage::StoreOptions o;
    o.path = (dir_ / "data").string();
    auto store = storage::OpenRocksDbStore(o);
    ASSERT_TRUE(store.ok()) << store.status();
    storage::WriteBatch batch;
    const std::string text = ReadFile("v1_store.tsv");
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 2));
      ASSERT_EQ(fields.size(), 3u) << std::string(line);
      std::optional<storage::Column> column = ColumnNamed(fields[0]);
      ASSERT_TRUE(column.has_value()) << std::string(line);
      std::string key = absl::HexStringToBytes(fields[1]);
      if (*column == storage::Column::kTasks) {
        // Str(queue) Str(execution) U64(task id): remember the task of each execution.
        std::vector<std::string> parts = absl::StrSplit(key, absl::ByChar('\0'));
        ASSERT_GE(parts.size(), 3u);
        task_of_[std::string(parts[1])] = storage::ReadUint64BigEndian(key.substr(key.size() - 8));
        absl::StatusOr<sm::TaskCommand> task = DecodeTaskRecord(fields[2]);
        EXPECT_TRUE(task.ok()) << task.status();
      }
      EXPECT_EQ(ValueFormatOf(fields[2]) == ValueFormat::kJsonV1, !fields[2].empty()) << std::string(line);
      batch.Put(*column, std::move(key), fields[2]);
      ++rows_;
    }
    ASSERT_TRUE((*store)->Commit(batch).ok());
  }

  std::string Arn(const std::string& name) {
    for (const json::value& e : expected_.at("executions").as_array()) {
      if (e.at("name") == json::value(name)) {
        return std::string(e.at("arn").as_string());
      }
    }
    ADD_FAILURE() << "no execution " << name << " in the fixture";
    return "";
  }
  const json::object& Expected(const std::string& arn) {
    for (const json::value& e : expected_.at("executions").as_array()) {
      if (e.at("arn") == json::value(arn)) {
        return e.as_object();
      }
    }
    static const json::object kNone;
    ADD_FAILURE() << arn;
    return kNone;
  }
  std::vector<HistoryEventRecord> History(const std::string& arn, int page_size = 1000, bool reverse = false) {
    std::vector<HistoryEventRecord> all;
    std::string token;
    do {
      absl::StatusOr<Page<HistoryEventRecord>> page = engine_->GetExecutionHistory(arn, page_size, token, reverse);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) {
        break;
      }
      all.insert(all.end(), page->items.begin(), page->items.end());
      token = page->next_page_token;
    } while (!token.empty());
    return all;
  }
  json::object Describe(const std::string& arn) {
    absl::StatusOr<ExecutionInfoRecord> r = engine_->DescribeExecution(arn);
    EXPECT_TRUE(r.ok()) << r.status();
    ExecutionInfoRecord e = r.value_or(ExecutionInfoRecord{});
    return json::object{{"arn", e.arn}, {"name", e.name}, {"stateMachineArn", e.state_machine_arn},
                        {"stateMachineName", e.state_machine_name}, {"version", e.state_machine_version},
                        {"status", sm::ExecutionStatusName(e.status)}, {"input", e.input}, {"output", e.output},
                        {"error", e.error}, {"cause", e.cause}, {"start", e.start}, {"stop", e.stop},
                        {"redriveCount", e.redrive_count}};
  }

  json::object expected_;
  std::map<std::string, std::uint64_t> task_of_;  // execution ARN -> its task in the `tasks` rows
  int rows_ = 0;
};

TEST_F(UpgradeTest, AVersion1StoreReadsAsItDidBefore) {
  EXPECT_GT(rows_, 100);
  for (const json::value& v : expected_.at("executions").as_array()) {
    const std::string arn(v.at("arn").as_string());
    json::object want = v.as_object();
    const json::value history = want.at("history");
    want.erase("history");
    EXPECT_EQ(json::value(Describe(arn)), json::value(want)) << arn;
    EXPECT_EQ(json::value(Events(History(arn))), history) << arn;
    EXPECT_EQ(json::value(Events(History(arn, 3))), history) << arn << " in pages of 3";
  }
  for (const json::value& m : expected_.at("stateMachines").as_array()) {
    absl::StatusOr<StateMachineInfo> info = engine_->DescribeStateMachine(std::string(m.at("name").as_string()));
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->version, m.at("version").as_int64());
    EXPECT_EQ(info->express, m.at("express").as_bool());
    EXPECT_EQ(info->created, m.at("created").as_int64());
    EXPECT_EQ(info->updated, m.at("updated").as_int64());
    EXPECT_EQ(info->definition, m.at("definition").as_string());
  }
  EXPECT_TRUE(absl::IsNotFound(engine_->DescribeStateMachine("Gone").status())) << "deleted before the upgrade";
  absl::StatusOr<Page<DeadLetterRecord>> dlq = engine_->ListDeadLetters({}, 100, "");
  ASSERT_TRUE(dlq.ok());
  const json::array& want_dlq = expected_.at("deadLetters").as_array();
  ASSERT_EQ(dlq->items.size(), want_dlq.size());
  for (std::size_t i = 0; i < want_dlq.size(); ++i) {
    const DeadLetterRecord& d = dlq->items[i];
    const json::object& w = want_dlq[i].as_object();
    EXPECT_EQ(d.id, w.at("id").as_string());
    EXPECT_EQ(d.queue, w.at("queue").as_string());
    EXPECT_EQ(d.execution_id, w.at("execution").as_string());
    EXPECT_EQ(json::serialize(d.input), w.at("input").as_string());
    EXPECT_EQ(d.attempts.size(), w.at("attempts").as_array().size());
    EXPECT_EQ(d.error(), w.at("attempts").as_array().back().as_array()[6].as_string());
    EXPECT_EQ(d.created, w.at("created").as_int64());
  }
  ExecutionFilter running;
  running.status = sm::ExecutionStatus::kRunning;
  EXPECT_EQ(engine_->ListExecutions(running, 100, "")->items.size(), 4u);
  EXPECT_EQ(engine_->ListExecutions({}, 100, "")->items.size(), expected_.at("executions").as_array().size());
}

TEST_F(UpgradeTest, RecoveredExecutionsGoOnWithVersion2RowsAfterTheirVersion1Rows) {
  const std::string w1 = Arn("w1"), d1 = Arn("d1"), t1 = Arn("t1"), dl = Arn("dl");
  // dl's redriven task was queued, t1's is leased to worker-1: only dl's is handed out.
  absl::StatusOr<std::optional<PolledTask>> polled = engine_->PollTask("work", "w9", Soon());
  ASSERT_TRUE(polled.ok() && polled->has_value());
  EXPECT_EQ((*polled)->execution_arn, dl);
  EXPECT_EQ((*polled)->input, R"({"bad":false})");
  ASSERT_TRUE(engine_->CompleteTask((*polled)->token, R"({"fixed":1})").ok());
  ASSERT_EQ(task_of_.count(t1), 1u);
  // t1's worker holds the unsigned token the old release gave it: still accepted after the upgrade.
  absl::Status legacy = engine_->CompleteTask(sm::UnsignedTaskToken(t1, task_of_[t1]), R"({"t":"done"})");
  ASSERT_TRUE(legacy.ok()) << legacy;
  clock_.AdvanceTo(kT0 + 5500);  // past the Waits (due at kT0 + 5010), before t1's heartbeat timeout
  for (const std::string& arn : {w1, d1, t1, dl}) {
    ExecutionInfoRecord done = Finish(arn);
    EXPECT_EQ(done.status, sm::ExecutionStatus::kSucceeded) << arn << " " << done.error << " " << done.cause;
    // The history: the version-1 events as they were, then the new ones, ids dense, in every paging.
    const json::array& before = Expected(arn).at("history").as_array();
    std::vector<HistoryEventRecord> all = History(arn);
    ASSERT_GT(all.size(), before.size()) << arn;
    json::array events = Events(all);
    for (std::size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].id, static_cast<std::int64_t>(i + 1)) << arn;
      if (i < before.size()) {
        EXPECT_EQ(events[i], before[i]) << arn;
      }
    }
    EXPECT_EQ(all.back().type, "ExecutionSucceeded");
    for (int page : {1, 2, 5}) {
      EXPECT_EQ(Events(History(arn, page)), events) << arn << " pages of " << page;
      std::vector<HistoryEventRecord> reversed = History(arn, page, /*reverse=*/true);
      std::reverse(reversed.begin(), reversed.end());
      EXPECT_EQ(Events(reversed), events) << arn << " reverse pages of " << page;
    }
    absl::StatusOr<std::vector<HistoryEventRecord>> after =
        engine_->WaitForHistory(arn, static_cast<std::int64_t>(before.size()), Soon());
    ASSERT_TRUE(after.ok());
    ASSERT_EQ(after->size(), all.size() - before.size());
    EXPECT_EQ(after->front().id, static_cast<std::int64_t>(before.size()) + 1);
  }
  EXPECT_EQ(engine_->DescribeExecution(dl)->output, R"({"fixed":1})");
  EXPECT_EQ(engine_->DescribeExecution(t1)->output, R"({"t":"done"})");

  // Every execution, old or new, replays from its mixed input log to its stored record.
  engine_.reset();
  {
    storage::StoreOptions o;
    o.path = (dir_ / "data").string();
    auto store = storage::OpenRocksDbStore(o);
    ASSERT_TRUE(store.ok());
    DefinitionStore definitions(store->get(), &clock_, 1 << 20);
    MachineLookup machines = [&](const std::string& name, std::int64_t version) {
      return definitions.Machine(name, version);
    };
    for (const json::value& v : expected_.at("executions").as_array()) {
      const std::string arn(v.at("arn").as_string());
      absl::StatusOr<ReplayedExecution> replayed = LoadExecution(**store, arn, machines);
      ASSERT_TRUE(replayed.ok()) << arn << ": " << replayed.status();
    }
    // The old release's `tasks` rows were read for their unsigned tokens (t1's was accepted above) and deleted.
    int task_rows = 0;
    ASSERT_TRUE((*store)
                    ->Scan(storage::Column::kTasks, "", "", false,
                           [&](std::string_view, std::string_view) { return ++task_rows > 0; })
                    .ok());
    EXPECT_EQ(task_rows, 0);
  }
  Open();
  for (const std::string& arn : {w1, d1, t1, dl}) {
    EXPECT_EQ(engine_->DescribeExecution(arn)->status, sm::ExecutionStatus::kSucceeded);
  }
}

// A store from before the logical-partition count was kept (issue 14) keeps the partitioning it had: one
// logical partition per writer thread of the server that opens it, recorded at that open and kept from then
// on, whatever a later opener's threads or flags say.
TEST_F(UpgradeTest, AStoreFromBeforeTheCountGetsOnePartitionPerWriterThreadAndKeepsIt) {
  engine_.reset();
  auto stored_count = [&]() -> std::optional<std::uint64_t> {
    storage::StoreOptions o;
    o.path = (dir_ / "data").string();
    auto store = storage::OpenRocksDbStore(o);
    EXPECT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::optional<std::string>> row = (*store)->Get(storage::Column::kMeta, "logical_partitions");
    if (!row.ok() || !row->has_value() || (*row)->size() != 8) {
      return std::nullopt;
    }
    return storage::ReadUint64BigEndian(**row);
  };
  EXPECT_EQ(stored_count(), std::optional<std::uint64_t>(partitions_));
  partitions_ = 5;
  Open();
  engine_.reset();
  EXPECT_EQ(stored_count(), std::optional<std::uint64_t>(3));
  // The running executions recover and finish under the kept count.
  Open();
  ASSERT_TRUE(engine_->CompleteTask(sm::UnsignedTaskToken(Arn("t1"), task_of_[Arn("t1")]), R"({"t":"done"})").ok());
  clock_.AdvanceTo(kT0 + 5500);
  for (const char* name : {"w1", "d1", "t1"}) {
    EXPECT_NE(Finish(Arn(name)).status, sm::ExecutionStatus::kRunning) << name;
  }
}

}  // namespace
}  // namespace stepflow::engine::testing
