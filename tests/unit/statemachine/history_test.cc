#include "statemachine/core/history.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace stepflow::sm {
namespace {

namespace json = boost::json;

HistoryEvent Event(std::string type, std::string details_key, json::object details) {
  HistoryEvent e;
  e.id = 7;
  e.previous_event_id = 6;
  e.timestamp = 1700000000123;
  e.type = std::move(type);
  e.details_key = std::move(details_key);
  e.details = std::move(details);
  return e;
}

// The engine stores SerializeHistoryEvent's text; it must be exactly what serializing the JSON form gives.
TEST(SerializeHistoryEventTest, EqualsSerializedJsonForm) {
  std::vector<HistoryEvent> events = {
      Event("ExecutionStarted", "executionStartedEventDetails",
            json::object{{"input", "{\"a\":\"q\\\"uote\\\\ \\u00e9\\n\"}"},
                         {"inputDetails", json::object{{"truncated", false}}},
                         {"roleArn", "arn:aws:iam::123456789012:role/x"}}),
      Event("MapStateSucceeded", "", json::object()),
      Event("MapStateStarted", "mapStateStartedEventDetails", json::object{{"length", 1000}}),
      Event("TaskStateEntered", "stateEnteredEventDetails",
            json::object{{"name", "T\t\x01 \xc3\xa9"}, {"input", "[1.5,-2,1.0E20,null,true]"}, {"n", -1.5}}),
      Event("ParallelStateStarted", "emptyDetails", json::object()),
      Event("Odd\"Type\n", "key\\with\x02escapes", json::object{{"big", std::string(5000, 'x') + "\"\x1f"}}),
  };
  events[1].id = 1;
  events[1].previous_event_id = 0;
  events[2].timestamp = 0;
  events[3].timestamp = -1;
  for (const HistoryEvent& e : events) {
    EXPECT_EQ(SerializeHistoryEvent(e), json::serialize(HistoryEventToJson(e))) << e.type;
  }
}

}  // namespace
}  // namespace stepflow::sm
