// libFuzzer target: every decoder of a stored record (engine/records*.cc and the value decoders beside them),
// fed arbitrary bytes as a corrupt or hostile store would hold them. The first byte picks the decoder, the
// rest is the value. A decoder must return a value or DataLoss, never crash, hang or allocate without bound;
// a value it accepts must survive a round trip through the encoder (what is written is what is read).
//
// Build (clang): -fsanitize=fuzzer,address,undefined, linked with stepflow_engine. Seed corpus:
// tests/fuzz/corpus/records_fuzzer (one file per decoder and version, selector byte first).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dead_letters.h"
#include "engine/definitions.h"
#include "engine/execution_record.h"
#include "engine/history_rows.h"
#include "engine/input_log.h"
#include "engine/pending_work.h"

namespace {

using namespace stepflow::engine;  // NOLINT: a fuzz target's one job

enum Decoder : std::uint8_t {
  kExecutionRecord = 0,
  kInputRecord = 1,
  kDeadLetter = 2,
  kHistoryRow = 3,
  kTaskRecord = 4,
  kDefinitionHead = 5,
  kDefinitionVersion = 6,
  kDecoderCount = 7,
};

// A failed check is a finding: say which, and abort so that libFuzzer keeps the input.
void CheckAt(bool ok, const char* what, int line) {
  if (!ok) {
    std::fprintf(stderr, "records_fuzzer.cc:%d: check failed: %s\n", line, what);
    std::abort();
  }
}
#define Check(condition) CheckAt((condition), #condition, __LINE__)

void FuzzInputRow(std::string_view value) {
  absl::StatusOr<std::vector<InputRecord>> row = DecodeInputRow(value);
  if (!row.ok()) {
    Check(absl::IsDataLoss(row.status()));
    return;
  }
  Check(!row->empty() && row->size() <= kMaxInputsPerRow);
  std::string encoded;
  for (const InputRecord& r : *row) {
    AppendToInputRow(encoded, r);
  }
  absl::StatusOr<std::vector<InputRecord>> again = DecodeInputRow(encoded);
  Check(again.ok() && again->size() == row->size());
  for (std::size_t i = 0; i < row->size(); ++i) {
    const InputRecord& r = (*row)[i];
    const InputRecord& a = (*again)[i];
    Check(a.kind == r.kind && a.now == r.now && a.id == r.id && a.error == r.error);
    Check(a.payload == r.payload);
    // Only a start carries the semantics version; on other kinds the field means nothing.
    Check(r.kind != InputRecord::Kind::kStart || a.semantics_version == r.semantics_version);
  }
}

void FuzzExecutionRecord(std::string_view value) {
  absl::StatusOr<StoredExecution> r = DecodeExecutionRecord(value);
  if (!r.ok()) {
    Check(absl::IsDataLoss(r.status()));
    return;
  }
  absl::StatusOr<StoredExecution> again = DecodeExecutionRecord(EncodeStoredExecution(*r));
  Check(again.ok());
  Check(again->record.arn == r->record.arn && again->record.status == r->record.status &&
        again->last_event_id == r->last_event_id && again->record.output == r->record.output);
}

void FuzzDeadLetter(std::string_view value) {
  absl::StatusOr<DeadLetterRecord> r = DecodeDeadLetter(value);
  if (!r.ok()) {
    Check(absl::IsDataLoss(r.status()));
    return;
  }
  absl::StatusOr<DeadLetterRecord> again = DecodeDeadLetter(EncodeDeadLetter(*r));
  if (!again.ok()) {
    std::fprintf(stderr, "re-encoded dead letter: %s\n", std::string(again.status().message()).c_str());
  }
  Check(again.ok());
  Check(again->id == r->id && again->input == r->input && again->attempts.size() == r->attempts.size());
}

void FuzzHistoryRow(std::string_view value) {
  std::vector<HistoryEventRecord> events;
  absl::Status s = DecodeHistoryRow(value, events);
  Check(s.ok() || absl::IsDataLoss(s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view value(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % kDecoderCount) {
    case kExecutionRecord:
      FuzzExecutionRecord(value);
      break;
    case kInputRecord:
      FuzzInputRow(value);
      break;
    case kDeadLetter:
      FuzzDeadLetter(value);
      break;
    case kHistoryRow:
      FuzzHistoryRow(value);
      break;
    case kTaskRecord: {
      absl::StatusOr<stepflow::sm::TaskCommand> t = DecodeTaskRecord(value);
      Check(t.ok() || absl::IsDataLoss(t.status()));
      break;
    }
    case kDefinitionHead: {
      absl::StatusOr<DefinitionHead> h = DecodeDefinitionHead(value);
      Check(h.ok() || absl::IsDataLoss(h.status()));
      break;
    }
    case kDefinitionVersion: {
      absl::StatusOr<DefinitionVersionRow> v = DecodeDefinitionVersion(value);
      Check(v.ok() || absl::IsDataLoss(v.status()));
      break;
    }
    default:
      break;
  }
  return 0;
}
