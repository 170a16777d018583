#include "statemachine/core/history.h"

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

}  // namespace stepflow::sm
