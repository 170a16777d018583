// The record decoders refuse (DataLoss) exactly what the encoders would not write, so that every value a
// decoder accepts survives a round trip (the invariant tests/fuzz/records_fuzzer.cc checks): a message that
// does not parse whole, stored JSON that is not JSON or holds a number outside the double range, a task
// timeout that is not a finite number of seconds. And they accept everything the encoders do write, such as
// effective task inputs nested deeper than the 32 levels allowed at the door.

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "absl/strings/escaping.h"
#include "engine/dead_letters.h"
#include "engine/input_log.h"
#include "engine/pending_work.h"
#include "engine/proto_value.h"
#include "engine/records.h"
#include "stepflow/storage/v1/records.pb.h"

namespace stepflow::engine {
namespace {

// A field (number 1, length 5) whose bytes stop after two: protobuf's parser fails on it after it has
// filled in every field before it.
const std::string kCutShortField = std::string("\x0a\x05" "ab", 4);

// JSON nested `depth` levels deep: [[[...1...]]].
std::string NestedArrays(int depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

DeadLetterRecord ADeadLetter() {
  DeadLetterRecord dl;
  dl.queue = "q";
  dl.execution_id = "arn:x";
  dl.state_machine_arn = "arn:sm";
  dl.state_name = "T";
  dl.resource = "arn:aws:states:::activity:q";
  dl.task_id = 12;
  dl.input = boost::json::parse(R"({"in":[true,null]})");
  dl.attempts = {{12, 0, "w", 10, 11, 12, "E", "C"}};
  dl.created = 1'000'000;
  return dl;
}

sm::TaskCommand ATask() {
  sm::TaskCommand t;
  t.state_name = "T";
  t.input = boost::json::parse(R"({"a":1})");
  t.attempt = 1;
  t.scheduled = 5;
  t.timeout_seconds = 30;
  return t;
}

// The reproducer of the records_fuzzer finding (also in tests/fuzz/corpus/records_fuzzer, selector byte
// dropped): a version-2 dead letter whose message breaks off inside a field. It was accepted half-read (its
// input field had already been filled in) and re-encoded into a value that no longer decoded.
TEST(RecordDecodersTest, TheFuzzerFindingIsRefused) {
  const std::string finding = absl::HexStringToBytes(
      "020a04776f72121212121212121212121212067b2276646924223a3a121212122c226e6f7e77223a342c226964017b22"
      "76223a312c226b696e64223a2274614661696c6564222c226e6f77223a322c2269642200000000000000b56572726f72"
      "223a22452222652c2212121272");
  absl::StatusOr<DeadLetterRecord> dl = DecodeDeadLetter(finding);
  EXPECT_TRUE(absl::IsDataLoss(dl.status())) << dl.status();
}

TEST(RecordDecodersTest, AMessageThatBreaksOffIsRefusedNotHalfRead) {
  const std::string dead_letter = EncodeDeadLetter(ADeadLetter());
  ASSERT_TRUE(DecodeDeadLetter(dead_letter).ok());
  EXPECT_TRUE(absl::IsDataLoss(DecodeDeadLetter(dead_letter + kCutShortField).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeDeadLetter(dead_letter.substr(0, dead_letter.size() - 1)).status()));

  const std::string task = EncodeTaskRecord(ATask());
  ASSERT_TRUE(DecodeTaskRecord(task).ok());
  EXPECT_TRUE(absl::IsDataLoss(DecodeTaskRecord(task + kCutShortField).status()));
}

TEST(RecordDecodersTest, StoredJsonWithANumberOutsideTheDoubleRangeIsRefused) {
  storage::v1::DeadLetterRecord dl;
  dl.set_input(R"({"n":1e400})");
  EXPECT_TRUE(absl::IsDataLoss(DecodeDeadLetter(EncodeProtoValue(dl)).status()));

  storage::v1::TaskRecord task;
  task.set_input("[-1e999]");
  EXPECT_TRUE(absl::IsDataLoss(DecodeTaskRecord(EncodeProtoValue(task)).status()));

  storage::v1::InputRecord succeeded;
  succeeded.set_kind(storage::v1::InputRecord::TASK_SUCCEEDED);
  succeeded.set_output("1e400");
  EXPECT_TRUE(absl::IsDataLoss(DecodeInputRecord(EncodeProtoValue(succeeded)).status()));
  succeeded.set_output("1e300");
  EXPECT_TRUE(DecodeInputRecord(EncodeProtoValue(succeeded)).ok());

  // Version 1: the record itself is the JSON.
  EXPECT_TRUE(absl::IsDataLoss(
      DecodeTaskRecord(R"({"v":1,"state":"T","input":{"a":1e400},"attempt":1,"scheduled":5})").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeDeadLetter(R"({"v":1,"queue":"q","execution":"arn:x","stateMachine":"s",)"
                                                R"("state":"T","resource":"r","taskId":5,"input":[1e400],)"
                                                R"("attempts":[],"created":4})")
                                   .status()));
}

// Found by records_fuzzer once the first finding was fixed (tests/fuzz/corpus/records_fuzzer/refused_input_*):
// a TimerFired input carrying an error, which the encoder does not write for that kind, so that the record
// read back differed from the one accepted.
TEST(RecordDecodersTest, AnInputRecordWithAFieldItsKindDoesNotUseIsRefused) {
  storage::v1::InputRecord timer;
  timer.set_kind(storage::v1::InputRecord::TIMER_FIRED);
  timer.set_id(24);
  ASSERT_TRUE(DecodeInputRecord(EncodeProtoValue(timer)).ok());
  for (auto stray : {+[](storage::v1::InputRecord& r) { r.set_error("E"); },
                     +[](storage::v1::InputRecord& r) { r.set_cause("C"); },
                     +[](storage::v1::InputRecord& r) { r.set_worker("w"); },
                     +[](storage::v1::InputRecord& r) { r.set_state("S"); },
                     +[](storage::v1::InputRecord& r) { r.set_output("{}"); },
                     +[](storage::v1::InputRecord& r) { r.add_dead_letters()->set_task_id(1); },
                     +[](storage::v1::InputRecord& r) { r.mutable_start(); }}) {
    storage::v1::InputRecord r = timer;
    stray(r);
    EXPECT_TRUE(absl::IsDataLoss(DecodeInputRecord(EncodeProtoValue(r)).status())) << r.ShortDebugString();
  }
  storage::v1::InputRecord redrive;
  redrive.set_kind(storage::v1::InputRecord::REDRIVE);
  redrive.add_dead_letters()->set_task_id(3);
  ASSERT_TRUE(DecodeInputRecord(EncodeProtoValue(redrive)).ok());
  redrive.add_dead_letters()->set_task_id(3);
  EXPECT_TRUE(absl::IsDataLoss(DecodeInputRecord(EncodeProtoValue(redrive)).status())) << "one task twice";

  EXPECT_TRUE(DecodeInputRecord(R"({"v":1,"kind":"stop","now":2,"error":"E","cause":"C"})").ok());
  for (const char* v1 : {R"({"v":1,"kind":"timerFired","now":2,"id":1,"error":"E"})",
                         R"({"v":1,"kind":"taskFailed","now":2,"id":1,"output":1})"}) {
    EXPECT_TRUE(absl::IsDataLoss(DecodeInputRecord(v1).status())) << v1;
  }
}

TEST(RecordDecodersTest, ATaskTimeoutThatIsNotAFiniteNumberOfSecondsIsRefused) {
  for (double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(), -1.0}) {
    storage::v1::TaskRecord task;
    task.set_input("{}");
    task.set_heartbeat_seconds(bad);
    EXPECT_TRUE(absl::IsDataLoss(DecodeTaskRecord(EncodeProtoValue(task)).status())) << bad;
    task.clear_heartbeat_seconds();
    task.set_timeout_seconds(bad);
    EXPECT_TRUE(absl::IsDataLoss(DecodeTaskRecord(EncodeProtoValue(task)).status())) << bad;
  }
  EXPECT_TRUE(absl::IsDataLoss(
      DecodeTaskRecord(R"({"v":1,"state":"T","input":{},"attempt":1,"scheduled":5,"timeoutSeconds":-3})").status()));
}

// A Parameters template (definitions may nest 400 levels) wraps a task's input deeper than the 32 levels
// allowed in execution input; what the engine writes, it must read back.
TEST(RecordDecodersTest, DeeplyNestedStoredJsonRoundTrips) {
  sm::TaskCommand task = ATask();
  boost::json::parse_options deep;
  deep.max_depth = 400;
  task.input = boost::json::parse(NestedArrays(300), {}, deep);
  absl::StatusOr<sm::TaskCommand> back = DecodeTaskRecord(EncodeTaskRecord(task));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->input, task.input);

  DeadLetterRecord dl = ADeadLetter();
  dl.input = task.input;
  absl::StatusOr<DeadLetterRecord> dl_back = DecodeDeadLetter(EncodeDeadLetter(dl));
  ASSERT_TRUE(dl_back.ok()) << dl_back.status();
  EXPECT_EQ(dl_back->input, dl.input);

  storage::v1::TaskRecord too_deep;
  too_deep.set_input(NestedArrays(static_cast<int>(kMaxStoredJsonDepth) + 1));
  EXPECT_TRUE(absl::IsDataLoss(DecodeTaskRecord(EncodeProtoValue(too_deep)).status()));
}

}  // namespace
}  // namespace stepflow::engine
