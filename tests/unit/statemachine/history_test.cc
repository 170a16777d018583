#include "statemachine/core/history.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "statemachine/json_text.h"

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

HistoryEvent Typed(TypedEventDetails::Shape shape, std::string_view type, std::string_view key,
                   std::string_view name, std::string text, std::int64_t index = 0) {
  HistoryEvent e;
  e.id = 12;
  e.previous_event_id = 11;
  e.timestamp = 1700000000123;
  e.typed = TypedEventDetails{shape, type, key, name, std::make_shared<const std::string>(std::move(text)), index};
  return e;
}

std::vector<HistoryEvent> TypedEvents() {
  using Shape = TypedEventDetails::Shape;
  const std::string long_text = "{\"a\":\"q\\\"uote\\\\ \\u00e9\\n\",\"b\":\"" + std::string(100, 'x') + "\"}";
  std::vector<HistoryEvent> events = {
      Typed(Shape::kStateEntered, "PassStateEntered", "stateEnteredEventDetails", "P\t\x01 \xc3\xa9 \xff", long_text),
      Typed(Shape::kStateExited, "PassStateExited", "stateExitedEventDetails", "P", long_text),
      Typed(Shape::kStateExited, "TaskStateExited", "stateExitedEventDetails", "T", "[1.5,-2,1.0E20,null,true]"),
      Typed(Shape::kExecutionSucceeded, "ExecutionSucceeded", "executionSucceededEventDetails", "", long_text),
      Typed(Shape::kMapIteration, "MapIterationStarted", "mapIterationStartedEventDetails", "M\"ap", "", 999),
      Typed(Shape::kMapIteration, "MapIterationSucceeded", "mapIterationSucceededEventDetails", "M", "", 0),
  };
  events[1].typed.text = events[0].typed.text;  // a Pass state's output is its input: one text
  SharedText input;
  HistoryEvent& started = events.emplace_back();
  started.typed = ExecutionStartedDetails(long_text, "arn:aws:iam::123456789012:role/r\"", "", "", &input);
  HistoryEvent& entered = events.emplace_back(events[0]);
  entered.typed.text = input;  // the first state's input: the execution's, one text
  return events;
}

// A typed event is written as the plain event it materializes to would be: the same details text (with or
// without the escape memo, the memo shared across events as a row writer shares it), the same JSON form.
TEST(TypedHistoryEventTest, WritesWhatItsPlainFormWrites) {
  EscapedTextMemo memo;
  for (const HistoryEvent& typed : TypedEvents()) {
    ASSERT_TRUE(typed.is_typed());
    HistoryEvent plain = typed;
    MaterializeEvent(plain);
    ASSERT_FALSE(plain.is_typed());
    EXPECT_EQ(plain.type, typed.type_name());
    EXPECT_EQ(plain.details_key, typed.details_key_name());
    std::string expected;
    AppendAwsJson(expected, plain.details);
    std::string direct;
    AppendEventDetails(direct, typed);
    std::string memoized;
    AppendEventDetails(memoized, typed, &memo);
    std::string plain_memoized;
    AppendEventDetails(plain_memoized, plain, &memo);
    EXPECT_EQ(direct, expected) << typed.type_name();
    EXPECT_EQ(memoized, expected) << typed.type_name();
    EXPECT_EQ(plain_memoized, expected) << typed.type_name();
    EXPECT_EQ(EventDetailsStringBytes(typed), EventDetailsStringBytes(plain)) << typed.type_name();
    EXPECT_EQ(json::serialize(HistoryEventToJson(typed)), json::serialize(HistoryEventToJson(plain)));
    EXPECT_EQ(SerializeHistoryEvent(typed), SerializeHistoryEvent(plain));
  }
}

TEST(TypedHistoryEventTest, MaterializedDetailsAreAwsShapes) {
  std::vector<HistoryEvent> events = TypedEvents();
  for (HistoryEvent& e : events) {
    MaterializeEvent(e);
  }
  EXPECT_EQ(events[2].details, json::parse(R"({"name":"T","output":"[1.5,-2,1.0E20,null,true]",
                                               "outputDetails":{"truncated":false}})"));
  EXPECT_EQ(events[4].details, json::parse(R"({"name":"M\"ap","index":999})"));
  EXPECT_EQ(events[3].details.at("outputDetails"), json::parse(R"({"truncated":false})"));
}

// ExecutionStarted's typed details are what the interpreter built as a JSON object before it kept them typed:
// the same text, the same object, the same string bytes (which count towards a decision's limits), for every
// combination of the optional ARNs.
TEST(TypedHistoryEventTest, ExecutionStartedIsThePlainObjectItReplaced) {
  const std::string input_text = R"({"orderId":"o-1","note":"q\"uote \u00e9","n":12.5})";
  const std::string role = "arn:aws:iam::123456789012:role/stepflow";
  for (const std::string alias : {"", "arn:aws:states:us-east-1:123456789012:stateMachine:M:prod"}) {
    for (const std::string version : {"", "arn:aws:states:us-east-1:123456789012:stateMachine:M:7"}) {
      json::object plain_details(5);
      plain_details.emplace("input", input_text);
      plain_details.emplace("inputDetails", json::object{{"truncated", false}});
      plain_details.emplace("roleArn", role);
      if (!alias.empty()) {
        plain_details.emplace("stateMachineAliasArn", alias);
      }
      if (!version.empty()) {
        plain_details.emplace("stateMachineVersionArn", version);
      }
      HistoryEvent plain = Event("ExecutionStarted", "executionStartedEventDetails", plain_details);
      SharedText shared_input;
      HistoryEvent typed = plain;
      typed.type.clear();
      typed.details_key.clear();
      typed.details = json::object();
      typed.typed = ExecutionStartedDetails(input_text, role, alias, version, &shared_input);
      ASSERT_NE(shared_input, nullptr);
      EXPECT_EQ(*shared_input, input_text);
      EXPECT_EQ(typed.typed.text, shared_input);
      std::string expected;
      AppendAwsJson(expected, plain_details);
      std::string written;
      AppendEventDetails(written, typed);
      EXPECT_EQ(written, expected) << alias << " " << version;
      EXPECT_EQ(EventDetailsStringBytes(typed), EventDetailsStringBytes(plain));
      EXPECT_EQ(SerializeHistoryEvent(typed), SerializeHistoryEvent(plain));
      HistoryEvent materialized = typed;
      MaterializeEvent(materialized);
      EXPECT_EQ(materialized.type, "ExecutionStarted");
      EXPECT_EQ(materialized.details_key, "executionStartedEventDetails");
      EXPECT_EQ(materialized.details, plain_details);
    }
  }
}

}  // namespace
}  // namespace stepflow::sm
