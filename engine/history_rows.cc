#include "engine/history_rows.h"

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

// Adds `e` to `row`; returns the bytes it added, roughly (its details and type).
std::size_t AddEvent(const sm::HistoryEvent& e, storage::v1::HistoryRow& row) {
  storage::v1::HistoryEvent* p = row.add_events();
  p->set_id(e.id);
  p->set_previous_event_id(e.previous_event_id);
  p->set_timestamp(e.timestamp);
  p->set_type(e.type);
  if (!e.details_key.empty()) {
    p->set_details_key(e.details_key);
    sm::AppendAwsJson(*p->mutable_details(), e.details);
  }
  return p->details().size() + p->type().size() + p->details_key().size();
}

}  // namespace

void PutHistoryRows(std::string_view id, const std::vector<sm::HistoryEvent>& events, storage::WriteBatch& batch) {
  storage::v1::HistoryRow row;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    bytes += AddEvent(events[i], row);
    if (i + 1 == events.size() || static_cast<std::size_t>(row.events_size()) >= kMaxEventsPerHistoryRow ||
        bytes >= kMaxHistoryRowBytes) {
      batch.Put(storage::Column::kHistory, HistoryKey(id, events[i].id), EncodeProtoValue(row));
      row.Clear();
      bytes = 0;
    }
  }
}

std::string EncodeHistoryRow(const sm::HistoryEvent* events, std::size_t count) {
  storage::v1::HistoryRow row;
  for (std::size_t i = 0; i < count; ++i) {
    AddEvent(events[i], row);
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

absl::StatusOr<std::vector<HistoryEventRecord>> ReadHistoryAfter(storage::Store& store, std::string_view id,
                                                                 std::int64_t after, int limit, bool* more) {
  std::vector<HistoryEventRecord> events;
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
                                 if (static_cast<int>(events.size()) == limit) {
                                   *more = true;
                                   return false;
                                 }
                                 events.push_back(std::move(e));
                               }
                               return true;
                             }));
  RETURN_IF_ERROR(error);
  return events;
}

absl::StatusOr<std::vector<HistoryEventRecord>> ReadHistoryBefore(storage::Store& store, std::string_view id,
                                                                  std::int64_t before, int limit, bool* more) {
  std::vector<HistoryEventRecord> events;
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
      if (static_cast<int>(events.size()) == limit) {
        *more = true;
        return false;
      }
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
