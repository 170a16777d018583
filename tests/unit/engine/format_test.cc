// Golden compatibility of the on-disk format (storage/FORMAT.md, style.md habit 10): key bytes of every key
// builder, the bytes of version-2 values, every record kind round-tripping through its codec, and version-1
// (JSON) records as older releases wrote them decoding the same way in every later release.
// (upgrade_test.cc opens a whole store written by the last version-1 release.)

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/dead_letters.h"
#include "engine/definitions.h"
#include "engine/execution_record.h"
#include "engine/history_rows.h"
#include "engine/input_log.h"
#include "engine/pending_work.h"
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
  EXPECT_EQ(QualifiedIndexKey("arn:sm:3", 5, "e"), "by_qualified_arn" + Bytes({0}) + "arn:sm:3" + Bytes({0}) + t + "e" +
                                                       Bytes({0}));
  EXPECT_EQ(IndexKeyExecutionId(QualifiedIndexPrefix("arn:sm:3"), QualifiedIndexKey("arn:sm:3", 5, "e")), "e");
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
  // Version 1 predates the per-decision limits: its executions replay unbounded, as they ran.
  EXPECT_EQ(start->limits.max_transitions_per_decision, 0u);
  EXPECT_EQ(start->limits.max_decision_history_bytes, 0u);
  EXPECT_EQ(start->payload, boost::json::parse("[1,2]"));
  ASSERT_EQ(start->drawn.size(), 2u);
  EXPECT_EQ(std::get<std::string>(start->drawn[0]), "u-u-i-d");
  EXPECT_EQ(std::get<double>(start->drawn[1]), 0.25);
  EXPECT_EQ(start->semantics_version, 1) << "version-1 stores predate the semantics version: 1";

  absl::StatusOr<InputRecord> failed =
      DecodeInputRecord(R"({"v":1,"kind":"taskFailed","now":5,"id":7,"error":"E","cause":"C"})");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->kind, InputRecord::Kind::kTaskFailed);
  EXPECT_EQ(failed->id, 7u);
  EXPECT_EQ(failed->error, "E");
  EXPECT_TRUE(absl::IsDataLoss(DecodeInputRecord(R"({"v":1,"kind":"bogus","now":5})").status()));

}

TEST(FormatTest, TheFirstByteTellsTheVersion) {
  EXPECT_EQ(kValueFormatV2, '\x02');
  EXPECT_EQ(ValueFormatOf(R"({"v":1})"), ValueFormat::kJsonV1);
  EXPECT_EQ(ValueFormatOf(Bytes({2, 8, 1})), ValueFormat::kProtobufV2);
  EXPECT_EQ(ValueFormatOf(""), ValueFormat::kUnknown);
  EXPECT_EQ(ValueFormatOf(" {}"), ValueFormat::kUnknown);
  EXPECT_EQ(ValueFormatOf(Bytes({3})), ValueFormat::kUnknown);
  EXPECT_TRUE(absl::IsDataLoss(DecodeExecutionRecord(Bytes({3, 8, 1})).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeInputRecord("").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeDeadLetter(Bytes({2, 0xFF})).status()));
  std::vector<HistoryEventRecord> events;
  EXPECT_TRUE(absl::IsDataLoss(DecodeHistoryRow(Bytes({2}), events)));  // a row without events
}

// The exact bytes of version-2 values: protobuf's encoding of the records.proto field numbers.
TEST(FormatTest, Version2Bytes) {
  InputRecord fired;
  fired.kind = InputRecord::Kind::kTimerFired;
  fired.now = 42;
  fired.id = 9;
  fired.drawn = {0.5, std::string("x")};
  EXPECT_EQ(EncodeInputRecord(fired),
            Bytes({2, 0x08, 5, 0x10, 42, 0x18, 9,                              // kind TIMER_FIRED, now, id
                   0x52, 9, 0x11, 0, 0, 0, 0, 0, 0, 0xE0, 0x3F,                // drawn: random 0.5
                   0x52, 3, 0x0A, 1, 'x'}));                                   // drawn: uuid "x"
  InputRecord next;
  next.kind = InputRecord::Kind::kContinue;
  next.now = 42;
  EXPECT_EQ(EncodeInputRecord(next), Bytes({2, 0x08, 10, 0x10, 42}));  // kind CONTINUE, now
  sm::HistoryEvent e{7, 6, 1000, "PassStateEntered", "stateEnteredEventDetails",
                     boost::json::object{{"name", "A"}, {"n", 1.5}}, {}};
  EXPECT_EQ(EncodeHistoryRow(&e, 1),
            Bytes({2, 0x0A, 73, 0x08, 7, 0x10, 6, 0x18, 0xE8, 0x07, 0x22, 16}) + "PassStateEntered" +
                Bytes({0x2A, 24}) + "stateEnteredEventDetails" + Bytes({0x32, 20}) + R"({"name":"A","n":1.5})");
  EXPECT_EQ(EncodeDefinitionHead(DefinitionHead{true, false, 3, 10, 20}),
            Bytes({2, 0x08, 1, 0x18, 3, 0x20, 10, 0x28, 20}));
}

// StartInfo.semantics_version (field 14) holds kSemanticsVersion; a start record without it is version 1.
TEST(FormatTest, TheStartRecordCarriesTheSemanticsVersion) {
  InputRecord start;
  start.kind = InputRecord::Kind::kStart;
  start.input_text = "{}";
  start.limits.max_payload_bytes = 0;  // left out of the bytes below
  start.limits.max_history_events = 0;
  start.limits.max_transitions_per_decision = 0;
  start.limits.max_decision_history_bytes = 0;
  EXPECT_EQ(start.semantics_version, kSemanticsVersion);
  start.semantics_version = 7;
  EXPECT_EQ(EncodeInputRecord(start),
            Bytes({2, 0x08, 1, 0x5A, 6, 0x5A, 2, '{', '}', 0x70, 7}));  // kind START; start: input, version 7
  absl::StatusOr<InputRecord> seven = DecodeInputRecord(EncodeInputRecord(start));
  ASSERT_TRUE(seven.ok()) << seven.status();
  EXPECT_EQ(seven->semantics_version, 7);
  absl::StatusOr<InputRecord> unversioned = DecodeInputRecord(Bytes({2, 0x08, 1, 0x5A, 4, 0x5A, 2, '{', '}'}));
  ASSERT_TRUE(unversioned.ok()) << unversioned.status();
  EXPECT_EQ(unversioned->semantics_version, kUnversionedSemantics);
  EXPECT_EQ(kUnversionedSemantics, 1);
}

// An `inputs` row holds the inputs one commit applied to an execution: the first as the row's InputRecord, the
// ones after it in `then` (field 12), each a whole InputRecord. A row of one input is the record alone, as every
// row written before rows held several.
TEST(FormatTest, AnInputRowHoldsACommitsInputsInOrder) {
  InputRecord succeeded;
  succeeded.kind = InputRecord::Kind::kTaskSucceeded;
  succeeded.now = 5;
  succeeded.id = 7;
  succeeded.payload = boost::json::object();
  InputRecord started;
  started.kind = InputRecord::Kind::kTaskStarted;
  started.now = 6;
  started.id = 8;
  started.worker = "w";
  std::string row;
  AppendToInputRow(row, succeeded);
  EXPECT_EQ(row, EncodeInputRecord(succeeded));
  EXPECT_EQ(row, Bytes({2, 0x08, 3, 0x10, 5, 0x18, 7, 0x22, 2, '{', '}'}));
  AppendToInputRow(row, started);
  EXPECT_EQ(row, Bytes({2, 0x08, 3, 0x10, 5, 0x18, 7, 0x22, 2, '{', '}',
                        0x62, 9, 0x08, 2, 0x10, 6, 0x18, 8, 0x3A, 1, 'w'}));  // then: TASK_STARTED, now 6, id 8
  absl::StatusOr<std::vector<InputRecord>> inputs = DecodeInputRow(row);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  ASSERT_EQ(inputs->size(), 2u);
  EXPECT_EQ((*inputs)[0].kind, InputRecord::Kind::kTaskSucceeded);
  EXPECT_EQ((*inputs)[0].payload, boost::json::object());
  EXPECT_EQ((*inputs)[1].kind, InputRecord::Kind::kTaskStarted);
  EXPECT_EQ((*inputs)[1].now, 6);
  EXPECT_EQ((*inputs)[1].id, 8u);
  EXPECT_EQ((*inputs)[1].worker, "w");
  // One input where several are: DecodeInputRecord reads rows of one only.
  EXPECT_TRUE(absl::IsDataLoss(DecodeInputRecord(row).status()));
  // Refused: an input after the first with inputs of its own, a start after the first, more than the maximum.
  EXPECT_TRUE(absl::IsDataLoss(
      DecodeInputRow(Bytes({2, 0x08, 3, 0x22, 2, '{', '}', 0x62, 6, 0x08, 2, 0x62, 2, 0x08, 2})).status()));
  InputRecord start;
  start.kind = InputRecord::Kind::kStart;
  start.input_text = "{}";
  std::string start_after = EncodeInputRecord(succeeded);
  AppendToInputRow(start_after, start);
  EXPECT_TRUE(absl::IsDataLoss(DecodeInputRow(start_after).status()));
  std::string full;
  for (std::size_t i = 0; i < kMaxInputsPerRow; ++i) {
    AppendToInputRow(full, started);
  }
  ASSERT_TRUE(DecodeInputRow(full).ok());
  AppendToInputRow(full, started);
  EXPECT_TRUE(absl::IsDataLoss(DecodeInputRow(full).status()));
}

TEST(FormatTest, Version2RecordsRoundTrip) {
  InputRecord start;
  start.kind = InputRecord::Kind::kStart;
  start.now = 100;
  start.info = {"arn:x", "n", "arn:sm", "sm", "role", true, 99};
  start.state_machine_version = 3;
  start.input_text = R"({"a":[1,2.5]})";
  start.limits.max_payload_bytes = 1000;
  start.limits.max_history_events = 50;
  start.drawn = {std::string("u-u-i-d"), 0.25};
  absl::StatusOr<InputRecord> s = DecodeInputRecord(EncodeInputRecord(start));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->kind, InputRecord::Kind::kStart);
  EXPECT_EQ(s->info.execution_arn, "arn:x");
  EXPECT_EQ(s->info.role_arn, "role");
  EXPECT_TRUE(s->info.express);
  EXPECT_EQ(s->info.start_time, 99);
  EXPECT_EQ(s->state_machine_version, 3);
  EXPECT_EQ(s->input_text, start.input_text);
  EXPECT_EQ(s->payload, boost::json::parse(start.input_text));
  EXPECT_EQ(s->limits.max_payload_bytes, 1000u);
  EXPECT_EQ(s->limits.max_history_events, 50);
  EXPECT_EQ(s->limits.max_transitions_per_decision, start.limits.max_transitions_per_decision);
  EXPECT_EQ(s->limits.max_decision_history_bytes, start.limits.max_decision_history_bytes);
  EXPECT_EQ(s->drawn, start.drawn);

  // A start written before the per-decision limits existed (fields 12 and 13 absent) runs unbounded.
  InputRecord old_start = start;
  old_start.limits.max_transitions_per_decision = 0;
  old_start.limits.max_decision_history_bytes = 0;
  absl::StatusOr<InputRecord> old = DecodeInputRecord(EncodeInputRecord(old_start));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->limits.max_transitions_per_decision, 0u);
  EXPECT_EQ(old->limits.max_decision_history_bytes, 0u);

  InputRecord redrive;
  redrive.kind = InputRecord::Kind::kRedrive;
  redrive.dead_letters[4] = boost::json::parse(R"({"fixed":true})");
  redrive.dead_letters[6] = std::nullopt;
  absl::StatusOr<InputRecord> r = DecodeInputRecord(EncodeInputRecord(redrive));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dead_letters, redrive.dead_letters);

  for (InputRecord::Kind kind : {InputRecord::Kind::kTaskStarted, InputRecord::Kind::kTaskSucceeded,
                                 InputRecord::Kind::kTaskFailed, InputRecord::Kind::kStop,
                                 InputRecord::Kind::kTaskHeartbeat, InputRecord::Kind::kDeadLetterDiscarded,
                                 InputRecord::Kind::kContinue}) {
    InputRecord in;
    in.kind = kind;
    in.now = 5;
    in.id = 11;
    in.worker = kind == InputRecord::Kind::kTaskStarted ? "w-1" : "";
    in.payload = kind == InputRecord::Kind::kTaskSucceeded ? boost::json::parse(R"({"big":1e300,"i":-3})")
                                                           : boost::json::value();
    in.error = kind == InputRecord::Kind::kTaskFailed || kind == InputRecord::Kind::kStop ? "E" : "";
    in.cause = in.error.empty() ? "" : "C";
    in.state_name = kind == InputRecord::Kind::kDeadLetterDiscarded ? "T" : "";
    absl::StatusOr<InputRecord> back = DecodeInputRecord(EncodeInputRecord(in));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->kind, kind);
    EXPECT_EQ(back->now, 5);
    EXPECT_EQ(back->id, 11u);
    EXPECT_EQ(back->worker, in.worker);
    EXPECT_EQ(back->payload, in.payload);
    EXPECT_EQ(back->error, in.error);
    EXPECT_EQ(back->cause, in.cause);
    EXPECT_EQ(back->state_name, in.state_name);
  }

  DeadLetterRecord dl;
  dl.queue = "q";
  dl.execution_id = "arn:x";
  dl.state_machine_arn = "arn:sm";
  dl.state_name = "T";
  dl.resource = "arn:aws:states:::activity:q";
  dl.task_id = 12;
  dl.input = boost::json::parse(R"({"in":[true,null]})");
  dl.attempts = {{3, 0, "w", 10, 11, 12, "E1", "C1"}, {12, 1, "", 20, 0, 30, "E2", "C2"}};
  dl.created = 31;
  absl::StatusOr<DeadLetterRecord> d = DecodeDeadLetter(EncodeDeadLetter(dl));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->id, "arn:x#12");
  EXPECT_EQ(d->queue, "q");
  EXPECT_EQ(d->resource, dl.resource);
  EXPECT_EQ(d->input, dl.input);
  ASSERT_EQ(d->attempts.size(), 2u);
  EXPECT_EQ(d->attempts[0].worker, "w");
  EXPECT_EQ(d->attempts[0].started, 11);
  EXPECT_EQ(d->attempts[1].cause, "C2");
  EXPECT_EQ(d->created, 31);

  sm::TaskCommand task;
  task.state_name = "T";
  task.input = boost::json::parse(R"({"x":1})");
  task.attempt = 2;
  task.scheduled = 40;
  task.heartbeat_seconds = 1.5;
  absl::StatusOr<sm::TaskCommand> t = DecodeTaskRecord(EncodeTaskRecord(task));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->state_name, "T");
  EXPECT_EQ(t->input, task.input);
  EXPECT_EQ(t->attempt, 2);
  EXPECT_EQ(t->scheduled, 40);
  EXPECT_FALSE(t->timeout_seconds.has_value());
  EXPECT_EQ(t->heartbeat_seconds, 1.5);

  absl::StatusOr<DefinitionVersionRow> v = DecodeDefinitionVersion(EncodeDefinitionVersion({"{\"StartAt\":1}", 7}));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->definition, "{\"StartAt\":1}");
  EXPECT_EQ(v->created, 7);
}

// PutHistoryRows encodes rows itself (the hot path); the result must be what the generated code gives.
TEST(FormatTest, HistoryRowsAreWhatTheGeneratedCodeWrites) {
  const std::string doc = R"({"orderId":"order-0001","customer":{"id":42,"name":"Ada \"the\" first\n"},"amount":12.5})";
  std::vector<sm::HistoryEvent> events;
  events.push_back({1, 0, 1'700'000'000'000, "ExecutionStarted", "executionStartedEventDetails",
                    boost::json::object{{"input", doc}, {"inputDetails", boost::json::object{{"truncated", false}}},
                                        {"roleArn", "arn:aws:iam::1:role/r"}}, {}});
  events.push_back({2, 0, 1'700'000'000'000, "PassStateEntered", "stateEnteredEventDetails",
                    boost::json::object{{"name", "A\u00e9\u0001"}, {"input", doc}}, {}});
  events.push_back({3, 2, 1'700'000'000'000, "PassStateExited", "stateExitedEventDetails",
                    boost::json::object{{"name", "A"}, {"output", doc + " "}, {"n", -1.0e-7}, {"i", -5},
                                        {"u", std::uint64_t{18'000'000'000'000'000'000u}}}, {}});
  events.push_back({4, 3, 0, "PassStateEntered", "", {}, {}});
  events.push_back({5, -1, 1, "X", "xDetails", boost::json::object{{"input", doc + " "}, {"again", doc}}, {}});
  storage::WriteBatch batch;
  PutHistoryRows("e", events, batch);
  ASSERT_EQ(batch.ops().size(), 1u);
  EXPECT_EQ(batch.ops()[0].key, HistoryKey("e", 5));
  EXPECT_EQ(*batch.ops()[0].value, EncodeHistoryRow(events.data(), events.size()));
}

TEST(FormatTest, HistoryRowsSplitAtTheirLimits) {
  std::vector<sm::HistoryEvent> events;
  for (std::int64_t id = 1; id <= static_cast<std::int64_t>(kMaxEventsPerHistoryRow) + 10; ++id) {
    events.push_back(sm::HistoryEvent{id, id - 1, 5, "PassStateEntered", "", {}, {}});
  }
  events.push_back(sm::HistoryEvent{events.back().id + 1, events.back().id, 5, "TaskSucceeded",
                                    "taskSucceededEventDetails",
                                    boost::json::object{{"output", std::string(kMaxHistoryRowBytes, 'x')}}, {}});
  storage::WriteBatch batch;
  PutHistoryRows("e", events, batch);
  ASSERT_EQ(batch.ops().size(), 2u);
  EXPECT_EQ(batch.ops()[0].key, HistoryKey("e", kMaxEventsPerHistoryRow));
  EXPECT_EQ(batch.ops()[1].key, HistoryKey("e", events.back().id));
  std::vector<HistoryEventRecord> decoded;
  for (const storage::WriteBatch::Op& op : batch.ops()) {
    ASSERT_TRUE(DecodeHistoryRow(*op.value, decoded).ok());
  }
  ASSERT_EQ(decoded.size(), events.size());
  EXPECT_EQ(decoded.back().id, events.back().id);
  EXPECT_EQ(decoded.front().details, "{}");
  EXPECT_EQ(decoded.back().details_key, "taskSucceededEventDetails");
}

// Deferred rows render the same version-2 events when a store asks for their bytes, split by the same count
// limit and by estimated bytes, keyed by the last event of each row.
TEST(FormatTest, DeferredHistoryRowsRenderTheSameEvents) {
  auto events = std::make_shared<std::vector<sm::HistoryEvent>>();
  for (std::int64_t id = 1; id <= static_cast<std::int64_t>(kMaxEventsPerHistoryRow) + 10; ++id) {
    events->push_back(sm::HistoryEvent{id, id - 1, 5, "PassStateEntered", "stateEnteredEventDetails",
                                       boost::json::object{{"name", "A"}, {"input", "{\"a\":\"\\\"\"}"}}, {}});
  }
  events->push_back(sm::HistoryEvent{events->back().id + 1, events->back().id, 5, "TaskSucceeded",
                                     "taskSucceededEventDetails",
                                     boost::json::object{{"output", std::string(kMaxHistoryRowBytes, 'x')}}, {}});
  storage::WriteBatch eager;
  PutHistoryRows("e", *events, eager);
  storage::WriteBatch deferred;
  PutHistoryRowsDeferred("e", events, deferred);
  ASSERT_EQ(deferred.ops().size(), 2u);
  EXPECT_EQ(deferred.ops()[0].key, HistoryKey("e", kMaxEventsPerHistoryRow));
  EXPECT_EQ(deferred.ops()[1].key, HistoryKey("e", events->back().id));
  std::vector<HistoryEventRecord> from_eager;
  for (const storage::WriteBatch::Op& op : eager.ops()) {
    ASSERT_TRUE(DecodeHistoryRow(*op.value, from_eager).ok());
  }
  std::vector<HistoryEventRecord> from_deferred;
  for (const storage::WriteBatch::Op& op : deferred.ops()) {
    ASSERT_FALSE(op.value.has_value());
    ASSERT_TRUE(op.is_put());
    ASSERT_TRUE(DecodeHistoryRow(op.Bytes(), from_deferred).ok());
  }
  ASSERT_EQ(from_deferred.size(), from_eager.size());
  for (std::size_t i = 0; i < from_eager.size(); ++i) {
    EXPECT_EQ(from_deferred[i].id, from_eager[i].id);
    EXPECT_EQ(from_deferred[i].type, from_eager[i].type);
    EXPECT_EQ(from_deferred[i].details, from_eager[i].details);
  }
  // The first row is exactly what the generated code writes for its events.
  EXPECT_EQ(deferred.ops()[0].Bytes(), EncodeHistoryRow(events->data(), kMaxEventsPerHistoryRow));
}

TEST(FormatTest, OtherRecordsVersion1) {
  absl::StatusOr<DefinitionHead> head = DecodeDefinitionHead(
      R"({"v":1,"express":true,"deleted":false,"latestVersion":4,"created":1,"updated":2})");
  ASSERT_TRUE(head.ok());
  EXPECT_TRUE(head->express);
  EXPECT_EQ(head->latest, 4);
  EXPECT_EQ(head->updated, 2);
  absl::StatusOr<DefinitionVersionRow> version = DecodeDefinitionVersion(R"({"v":1,"definition":"{}","created":3})");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->definition, "{}");
  EXPECT_TRUE(absl::IsDataLoss(DecodeDefinitionVersion(R"({"v":1,"created":3})").status()));
  absl::StatusOr<sm::TaskCommand> task = DecodeTaskRecord(
      R"({"v":1,"state":"T","input":{"a":1},"attempt":1,"scheduled":5,"heartbeatSeconds":3})");
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(task->state_name, "T");
  EXPECT_EQ(task->input, boost::json::parse(R"({"a":1})"));
  EXPECT_EQ(task->heartbeat_seconds, 3.0);
  absl::StatusOr<DeadLetterRecord> dl = DecodeDeadLetter(
      R"({"v":1,"queue":"q","execution":"arn:x","stateMachine":"arn:sm","state":"T","resource":"r","taskId":5,)"
      R"("input":{"i":1},"attempts":[{"taskId":5,"attempt":0,"worker":"w","scheduled":1,"started":2,"ended":3,)"
      R"("error":"E","cause":"C"}],"created":4})");
  ASSERT_TRUE(dl.ok()) << dl.status();
  EXPECT_EQ(dl->id, "arn:x#5");
  EXPECT_EQ(dl->error(), "E");
  std::vector<HistoryEventRecord> events;
  ASSERT_TRUE(DecodeHistoryRow(R"({"id":3,"previousEventId":2,"timestamp":"2023-11-14T22:13:20.100Z",)"
                               R"("type":"PassStateExited","stateExitedEventDetails":{"name":"A","output":"1.5E0"}})",
                               events)
                  .ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, 3);
  EXPECT_EQ(events[0].timestamp, 1'700'000'000'100);
  EXPECT_EQ(events[0].details, R"({"name":"A","output":"1.5E0"})");
}

}  // namespace
}  // namespace stepflow::engine
