#pragma once
// History events with AWS Step Functions' event type names and detail fields, so that
// `stepflow run --history` and GetExecutionHistory read like AWS's.

#include <cstdint>
#include <string>

#include <boost/json.hpp>

#include "common/clock.h"

namespace stepflow::sm {

struct HistoryEvent {
  std::int64_t id = 0;                 // 1, 2, 3 ... within one execution
  std::int64_t previous_event_id = 0;  // the event this one follows from (0 for the first)
  common::EpochMillis timestamp = 0;
  std::string type;                    // "ExecutionStarted", "PassStateEntered", ...
  std::string details_key;             // "executionStartedEventDetails", ... (empty: no details)
  boost::json::object details;
};

// AWS's JSON form: {"id":..,"previousEventId":..,"timestamp":"..","type":"..", "<details_key>":{..}}.
boost::json::object HistoryEventToJson(const HistoryEvent& e);

// The text boost::json::serialize(HistoryEventToJson(e)) gives, byte for byte, without building the object
// (which deep-copies `details`): the engine stores this text for every event.
std::string SerializeHistoryEvent(const HistoryEvent& e);

}  // namespace stepflow::sm
