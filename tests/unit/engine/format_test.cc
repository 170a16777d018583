// Golden compatibility of the on-disk format (storage/FORMAT.md, style.md habit 10): key bytes of every key
// builder, and version-1 records as written today must keep decoding the same way in every later release.

#include <gtest/gtest.h>

#include <string>

#include "engine/execution_record.h"
#include "engine/input_log.h"
#include "engine/records.h"
#include "storage/store.h"

namespace stepflow::engine {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) {
    s.push_back(static_cast<char>(b));
  }
  return s;
}

TEST(FormatTest, ColumnNumbersAndNames) {
  EXPECT_EQ(static_cast<int>(storage::Column::kInputs), 7);
  EXPECT_EQ(storage::ColumnName(storage::Column::kInputs), "inputs");
}

TEST(FormatTest, KeyBytes) {
  EXPECT_EQ(HistoryKey("e", 258), "e" + Bytes({0, 0, 0, 0, 0, 0, 0, 1, 2}));
  EXPECT_EQ(InputKey("e", 1), "e" + Bytes({0, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(DefinitionKey("sm", 0), "sm" + Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(TimerKey(1, "e", 2), Bytes({0, 0, 0, 0, 0, 0, 0, 1}) + "e" + Bytes({0, 0, 0, 0, 0, 0, 0, 0, 2}));
  EXPECT_EQ(TaskKey("q", "e", 3), "q" + Bytes({0}) + "e" + Bytes({0, 0, 0, 0, 0, 0, 0, 0, 3}));
  const std::string t = Bytes({0, 0, 0, 0, 0, 0, 0, 5});
  EXPECT_EQ(IndexKey("", "", 5, "e"), "by_start" + Bytes({0}) + t + "e" + Bytes({0}));
  EXPECT_EQ(IndexKey("", "RUNNING", 5, "e"), "by_status" + Bytes({0}) + "RUNNING" + Bytes({0}) + t + "e" + Bytes({0}));
  EXPECT_EQ(IndexKey("sm", "", 5, "e"), "by_machine" + Bytes({0}) + "sm" + Bytes({0}) + t + "e" + Bytes({0}));
  EXPECT_EQ(IndexKey("sm", "FAILED", 5, "e"),
            "by_machine_status" + Bytes({0}) + "sm" + Bytes({0}) + "FAILED" + Bytes({0}) + t + "e" + Bytes({0}));
  const std::string prefix = IndexPrefix("sm", "FAILED");
  EXPECT_EQ(IndexKeyExecutionId(prefix, IndexKey("sm", "FAILED", 5, "e")), "e");
  EXPECT_EQ(IndexKeyStart(prefix, IndexKey("sm", "FAILED", 5, "e")), 5);
}

TEST(FormatTest, ExecutionRecordVersion1) {
  absl::StatusOr<StoredExecution> r = DecodeExecutionRecord(
      R"({"v":1,"id":"arn:x","name":"n","stateMachine":"arn:sm","stateMachineName":"sm","stateMachineVersion":2,)"
      R"("express":false,"status":"SUCCEEDED","input":"{\"a\":1}","startTime":10,"stopTime":20,)"
      R"("output":{"b":1.5},"lastEventId":8})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->record.arn, "arn:x");
  EXPECT_EQ(r->record.state_machine_version, 2);
  EXPECT_EQ(r->record.status, sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(r->record.input, R"({"a":1})");
  EXPECT_EQ(r->record.output, R"({"b":1.5})");
  EXPECT_EQ(r->record.start, 10);
  EXPECT_EQ(r->record.stop, 20);
  EXPECT_EQ(r->last_event_id, 8);
  EXPECT_TRUE(absl::IsDataLoss(DecodeExecutionRecord(R"({"v":2})").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeExecutionRecord("not json").status()));
}

TEST(FormatTest, InputRecordsVersion1) {
  absl::StatusOr<InputRecord> start = DecodeInputRecord(
      R"({"v":1,"kind":"start","now":100,"info":{"arn":"arn:x","name":"n","stateMachineArn":"arn:sm",)"
      R"("stateMachineName":"sm","stateMachineVersion":3,"roleArn":"r","express":true,"startTime":99,)"
      R"("maxPayloadBytes":1000,"maxHistoryEvents":50},"input":"[1,2]","drawn":["u-u-i-d",0.25]})");
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(start->kind, InputRecord::Kind::kStart);
  EXPECT_EQ(start->now, 100);
  EXPECT_EQ(start->info.execution_arn, "arn:x");
  EXPECT_TRUE(start->info.express);
  EXPECT_EQ(start->info.start_time, 99);
  EXPECT_EQ(start->state_machine_version, 3);
  EXPECT_EQ(start->limits.max_payload_bytes, 1000u);
  EXPECT_EQ(start->limits.max_history_events, 50);
  EXPECT_EQ(start->payload, boost::json::parse("[1,2]"));
  ASSERT_EQ(start->drawn.size(), 2u);
  EXPECT_EQ(std::get<std::string>(start->drawn[0]), "u-u-i-d");
  EXPECT_EQ(std::get<double>(start->drawn[1]), 0.25);

  absl::StatusOr<InputRecord> failed =
      DecodeInputRecord(R"({"v":1,"kind":"taskFailed","now":5,"id":7,"error":"E","cause":"C"})");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->kind, InputRecord::Kind::kTaskFailed);
  EXPECT_EQ(failed->id, 7u);
  EXPECT_EQ(failed->error, "E");
  EXPECT_TRUE(absl::IsDataLoss(DecodeInputRecord(R"({"v":1,"kind":"bogus","now":5})").status()));

  // What is written today decodes to what was written.
  InputRecord fired;
  fired.kind = InputRecord::Kind::kTimerFired;
  fired.now = 42;
  fired.id = 9;
  fired.drawn = {0.5, std::string("x")};
  EXPECT_EQ(EncodeInputRecord(fired), R"({"v":1,"kind":"timerFired","now":42,"id":9,"drawn":[5E-1,"x"]})");
  absl::StatusOr<InputRecord> back = DecodeInputRecord(EncodeInputRecord(fired));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->id, 9u);
  EXPECT_EQ(back->drawn, fired.drawn);
}

}  // namespace
}  // namespace stepflow::engine
