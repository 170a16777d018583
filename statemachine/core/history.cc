#include "statemachine/core/history.h"

#include "absl/strings/str_cat.h"

namespace stepflow::sm {

boost::json::object HistoryEventToJson(const HistoryEvent& e) {
  boost::json::object o;
  o["id"] = e.id;
  o["previousEventId"] = e.previous_event_id;
  o["timestamp"] = common::FormatIso8601(e.timestamp);
  o["type"] = e.type;
  if (!e.details_key.empty()) {
    o[e.details_key] = e.details;
  }
  return o;
}

namespace {

// Appends `s` as boost::json::serialize quotes it. Event types and detail keys never need an escape, so
// the serializer (which escapes only '"', '\\' and control characters) is used only when one does.
void AppendQuoted(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      out += boost::json::serialize(boost::json::string_view(s));
      return;
    }
  }
  out.push_back('"');
  out.append(s);
  out.push_back('"');
}

// Appends boost::json::serialize(o) without the intermediate string.
void AppendSerialized(std::string& out, const boost::json::object& o) {
  constexpr std::size_t kChunk = 512;
  boost::json::serializer sr;
  sr.reset(&o);
  while (!sr.done()) {
    const std::size_t used = out.size();
    out.resize(used + kChunk);
    out.resize(used + sr.read(out.data() + used, kChunk).size());
  }
}

}  // namespace

std::string SerializeHistoryEvent(const HistoryEvent& e) {
  std::string out;
  absl::StrAppend(&out, "{\"id\":", e.id, ",\"previousEventId\":", e.previous_event_id, ",\"timestamp\":");
  // The events of one decision share their timestamp: format it once per distinct value.
  thread_local common::EpochMillis last_timestamp = 0;
  thread_local std::string last_text;
  if (last_text.empty() || e.timestamp != last_timestamp) {
    last_text = common::FormatIso8601(e.timestamp);
    last_timestamp = e.timestamp;
  }
  AppendQuoted(out, last_text);
  out += ",\"type\":";
  AppendQuoted(out, e.type);
  if (!e.details_key.empty()) {
    out.push_back(',');
    AppendQuoted(out, e.details_key);
    out.push_back(':');
    AppendSerialized(out, e.details);
  }
  out.push_back('}');
  return out;
}

}  // namespace stepflow::sm
