#include "engine/history_rows.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/proto_value.h"
#include "engine/records.h"
#include "engine/records_v1.h"
#include "statemachine/json_text.h"
#include "stepflow/storage/v1/records.pb.h"

namespace stepflow::engine {

namespace {

// Version-2 rows are the hot write of every commit, so they are encoded here directly in protobuf's wire
// format (proto3: fields at their default value are left out), byte for byte what
// storage::v1::HistoryRow::SerializeToString gives (format_test checks that), without building messages.
constexpr std::uint32_t kLengthDelimited = 2;

// Each event is written into room made once (its size is known first): appending field by field, byte by
// byte, took ~12k instructions per ten-state execution in capacity checks.
char* WriteVarint(char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

std::size_t VarintSize(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

std::size_t IntFieldSize(std::int64_t v) { return v == 0 ? 0 : 1 + VarintSize(static_cast<std::uint64_t>(v)); }
char* WriteIntField(char* p, std::uint32_t field, std::int64_t v) {
  if (v != 0) {
    p = WriteVarint(p, field << 3);
    p = WriteVarint(p, static_cast<std::uint64_t>(v));
  }
  return p;
}
std::size_t StringFieldSize(std::string_view s) { return s.empty() ? 0 : 1 + VarintSize(s.size()) + s.size(); }
char* WriteStringField(char* p, std::uint32_t field, std::string_view s) {
  if (!s.empty()) {
    p = WriteVarint(p, (field << 3) | kLengthDelimited);
    p = WriteVarint(p, s.size());
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  return p;
}

// Appends `e` as a HistoryRow.events element (field 1). `scratch` holds its details meanwhile.
// Typed events (sm::HistoryEvent::typed) are written from what they are made of, the same bytes.
void AppendEvent(std::string& out, const sm::HistoryEvent& e, std::string& scratch, sm::EscapedTextMemo& memo) {
  const std::string_view type = e.type_name();
  const std::string_view details_key = e.details_key_name();
  scratch.clear();
  if (!details_key.empty()) {
    sm::AppendEventDetails(scratch, e, &memo);
  }
  const std::size_t size = IntFieldSize(e.id) + IntFieldSize(e.previous_event_id) + IntFieldSize(e.timestamp) +
                           StringFieldSize(type) + StringFieldSize(details_key) + StringFieldSize(scratch);
  const std::size_t at = out.size();
  out.resize(at + 1 + VarintSize(size) + size);
  char* p = out.data() + at;
  p = WriteVarint(p, (1 << 3) | kLengthDelimited);
  p = WriteVarint(p, size);
  p = WriteIntField(p, 1, e.id);
  p = WriteIntField(p, 2, e.previous_event_id);
  p = WriteIntField(p, 3, e.timestamp);
  p = WriteStringField(p, 4, type);
  p = WriteStringField(p, 5, details_key);
  WriteStringField(p, 6, scratch);
}

}  // namespace

void PutHistoryRows(std::string_view id, const std::vector<sm::HistoryEvent>& events, storage::WriteBatch& batch,
                    std::vector<std::int64_t>* row_ids) {
  std::string scratch;
  sm::EscapedTextMemo memo;
  std::string row;
  std::size_t count = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (count == 0) {
      row.reserve(512 * (events.size() - i));
      row.push_back(kValueFormatV2);
    }
    AppendEvent(row, events[i], scratch, memo);
    ++count;
    if (i + 1 == events.size() || count >= kMaxEventsPerHistoryRow || row.size() >= kMaxHistoryRowBytes) {
      batch.Put(storage::Column::kHistory, HistoryKey(id, events[i].id), std::move(row));
      if (row_ids != nullptr) {
        row_ids->push_back(events[i].id);
      }
      row = std::string();
      count = 0;
    }
  }
}

namespace {

// Events [begin, end) of one commit, encoded as a version-2 row when a store asks for the bytes.
class DeferredHistoryRow final : public storage::DeferredValue {
 public:
  DeferredHistoryRow(std::shared_ptr<const std::vector<sm::HistoryEvent>> events,
                     std::shared_ptr<const void> keep_alive, std::size_t begin, std::size_t end)
      : events_(std::move(events)), keep_alive_(std::move(keep_alive)), begin_(begin), end_(end) {}

  void Render(std::string& out) const override {
    std::string scratch;
    sm::EscapedTextMemo memo;
    out.push_back(kValueFormatV2);
    for (std::size_t i = begin_; i < end_; ++i) {
      AppendEvent(out, (*events_)[i], scratch, memo);
    }
  }

 private:
  std::shared_ptr<const std::vector<sm::HistoryEvent>> events_;
  std::shared_ptr<const void> keep_alive_;  // what the typed events' names point into
  std::size_t begin_;
  std::size_t end_;
};

// What an event adds to a row, before escaping: its strings and a fixed allowance for numbers and framing.
std::size_t EstimatedEventBytes(const sm::HistoryEvent& e) {
  constexpr std::size_t kFixedBytes = 64;
  return kFixedBytes + e.type_name().size() + e.details_key_name().size() + sm::EventDetailsStringBytes(e);
}

}  // namespace

void PutHistoryRowsDeferred(std::string_view id, std::shared_ptr<const std::vector<sm::HistoryEvent>> events,
                            storage::WriteBatch& batch, std::shared_ptr<const void> keep_alive,
                            std::vector<std::int64_t>* row_ids) {
  std::size_t begin = 0;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < events->size(); ++i) {
    bytes += EstimatedEventBytes((*events)[i]);
    const std::size_t count = i + 1 - begin;
    if (i + 1 == events->size() || count >= kMaxEventsPerHistoryRow || bytes >= kMaxHistoryRowBytes) {
      batch.PutDeferred(storage::Column::kHistory, HistoryKey(id, (*events)[i].id),
                        std::make_shared<DeferredHistoryRow>(events, keep_alive, begin, i + 1));
      if (row_ids != nullptr) {
        row_ids->push_back((*events)[i].id);
      }
      begin = i + 1;
      bytes = 0;
    }
  }
}

std::string EncodeHistoryRow(const sm::HistoryEvent* events, std::size_t count) {
  storage::v1::HistoryRow row;
  for (std::size_t i = 0; i < count; ++i) {
    storage::v1::HistoryEvent* p = row.add_events();
    p->set_id(events[i].id);
    p->set_previous_event_id(events[i].previous_event_id);
    p->set_timestamp(events[i].timestamp);
    p->set_type(std::string(events[i].type_name()));
    if (!events[i].details_key_name().empty()) {
      p->set_details_key(std::string(events[i].details_key_name()));
      sm::AppendEventDetails(*p->mutable_details(), events[i]);
    }
  }
  return EncodeProtoValue(row);
}

absl::Status DecodeHistoryRow(std::string_view value, std::vector<HistoryEventRecord>& out) {
  switch (ValueFormatOf(value)) {
    case ValueFormat::kJsonV1: {
      absl::StatusOr<HistoryEventRecord> e = DecodeHistoryEventV1(value);
      if (!e.ok()) {
        return e.status();
      }
      out.push_back(*std::move(e));
      return absl::OkStatus();
    }
    case ValueFormat::kProtobufV2:
      break;
    case ValueFormat::kUnknown:
      return absl::DataLossError(absl::StrCat("history row of unknown format: ", std::string(value.substr(0, 80))));
  }
  storage::v1::HistoryRow row;
  if (!DecodeProtoValue(value, row) || row.events().empty()) {
    return absl::DataLossError("malformed history row (version 2)");
  }
  for (storage::v1::HistoryEvent& p : *row.mutable_events()) {
    HistoryEventRecord& e = out.emplace_back();
    e.id = p.id();
    e.previous_event_id = p.previous_event_id();
    e.timestamp = p.timestamp();
    e.type = std::move(*p.mutable_type());
    e.details_key = std::move(*p.mutable_details_key());
    e.details = e.details_key.empty() ? std::string("{}") : std::move(*p.mutable_details());
  }
  return absl::OkStatus();
}

std::size_t HistoryEventBytes(const HistoryEventRecord& event) {
  constexpr std::size_t kFixedBytes = 64;  // ids, timestamp, field tags and lengths
  return kFixedBytes + event.type.size() + event.details_key.size() + event.details.size();
}

absl::StatusOr<std::vector<HistoryEventRecord>> ReadHistoryAfter(storage::Store& store, std::string_view id,
                                                                 std::int64_t after, int limit, bool* more,
                                                                 std::size_t max_bytes) {
  std::vector<HistoryEventRecord> events;
  std::size_t bytes = 0;
  std::vector<HistoryEventRecord> row;
  absl::Status error;
  *more = false;
  // The first row with a key past HistoryKey(id, after) is the one holding event after + 1.
  const std::string start_after = after > 0 ? HistoryKey(id, after) : std::string();
  RETURN_IF_ERROR(store.Scan(storage::Column::kHistory, HistoryPrefix(id), start_after, false,
                             [&](std::string_view, std::string_view value) {
                               row.clear();
                               error = DecodeHistoryRow(value, row);
                               if (!error.ok()) {
                                 return false;
                               }
                               for (HistoryEventRecord& e : row) {
                                 if (e.id <= after) {
                                   continue;
                                 }
                                 const std::size_t size = HistoryEventBytes(e);
                                 if (static_cast<int>(events.size()) == limit ||
                                     (!events.empty() && size > max_bytes - std::min(bytes, max_bytes))) {
                                   *more = true;
                                   return false;
                                 }
                                 bytes += size;
                                 events.push_back(std::move(e));
                               }
                               return true;
                             }));
  RETURN_IF_ERROR(error);
  return events;
}

absl::StatusOr<std::vector<HistoryEventRecord>> ReadHistoryBefore(storage::Store& store, std::string_view id,
                                                                  std::int64_t before, int limit, bool* more,
                                                                  std::size_t max_bytes) {
  std::vector<HistoryEventRecord> events;
  std::size_t bytes = 0;
  std::vector<HistoryEventRecord> row;
  absl::Status error;
  *more = false;
  // Takes the events of one row below `before`, newest first; false once the page is full.
  const auto take = [&](std::string_view value) {
    row.clear();
    error = DecodeHistoryRow(value, row);
    if (!error.ok()) {
      return false;
    }
    for (auto it = row.rbegin(); it != row.rend(); ++it) {
      if (before > 0 && it->id >= before) {
        continue;
      }
      const std::size_t size = HistoryEventBytes(*it);
      if (static_cast<int>(events.size()) == limit ||
          (!events.empty() && size > max_bytes - std::min(bytes, max_bytes))) {
        *more = true;
        return false;
      }
      bytes += size;
      events.push_back(std::move(*it));
    }
    return true;
  };
  const std::string prefix = HistoryPrefix(id);
  bool go_on = true;
  if (before > 0) {
    // The row holding event before - 1 may end at or past `before`: it is the first one keyed past before - 1.
    RETURN_IF_ERROR(store.Scan(storage::Column::kHistory, prefix, HistoryKey(id, before - 1), false,
                               [&](std::string_view, std::string_view value) {
                                 go_on = take(value);
                                 return false;
                               }));
    RETURN_IF_ERROR(error);
  }
  if (go_on) {
    // Then every row ending before `before`, newest first.
    RETURN_IF_ERROR(store.Scan(storage::Column::kHistory, prefix, before > 0 ? HistoryKey(id, before) : "", true,
                               [&](std::string_view, std::string_view value) { return take(value); }));
    RETURN_IF_ERROR(error);
  }
  return events;
}

}  // namespace stepflow::engine
