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

std::string SerializeHistoryEvent(const HistoryEvent& e) {
  namespace json = boost::json;
  std::string out;
  absl::StrAppend(&out, "{\"id\":", e.id, ",\"previousEventId\":", e.previous_event_id, ",\"timestamp\":",
                  json::serialize(json::string_view(common::FormatIso8601(e.timestamp))),
                  ",\"type\":", json::serialize(json::string_view(e.type)));
  if (!e.details_key.empty()) {
    absl::StrAppend(&out, ",", json::serialize(json::string_view(e.details_key)), ":", json::serialize(e.details));
  }
  out.push_back('}');
  return out;
}

}  // namespace stepflow::sm
