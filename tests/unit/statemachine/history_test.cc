#include "statemachine/core/history.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "statemachine/core/task_resource.h"
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

// A Resource's family and AWS's (resourceType, resource) split, as the history events of its work name them.
TEST(TaskResourceTest, FamilyAndSplitOfEachKindOfResource) {
  using Family = TaskResource::Family;
  struct Case {
    std::string resource;
    Family family;
    std::string type;
    std::string name;
  };
  const std::vector<Case> cases = {
      {"arn:aws:states:::lambda:invoke", Family::kTask, "lambda", "invoke"},
      {"arn:aws:states:::sqs:sendMessage.waitForTaskToken", Family::kTask, "sqs", "sendMessage.waitForTaskToken"},
      {"arn:aws:states:::aws-sdk:s3:getObject", Family::kTask, "aws-sdk:s3", "getObject"},
      {"arn:aws:states:::batch", Family::kTask, "batch", ""},
      {"arn:aws:states:::activity:x", Family::kTask, "activity", "x"},
      {"arn:aws:states:us-east-1:123456789012:activity:x", Family::kActivity, "activity",
       "arn:aws:states:us-east-1:123456789012:activity:x"},
      {"arn:aws:lambda:us-east-1:123456789012:function:f", Family::kLambda, "lambda",
       "arn:aws:lambda:us-east-1:123456789012:function:f"},
      {"arn:aws:lambda:us-east-1:123456789012:function:f:prod", Family::kLambda, "lambda",
       "arn:aws:lambda:us-east-1:123456789012:function:f:prod"},
      {"arn:aws:lambda:us-east-1::function:f", Family::kTask, "lambda", "arn:aws:lambda:us-east-1::function:f"},
      {"arn:aws:lambda:us-east-1:123456789012:function:", Family::kTask, "lambda",
       "arn:aws:lambda:us-east-1:123456789012:function:"},
      {"activity:charge-card", Family::kTask, "activity", "activity:charge-card"},
      {"my-queue", Family::kTask, "task", "my-queue"},
      {"", Family::kTask, "task", ""},
  };
  for (const Case& c : cases) {
    const TaskResource r = DescribeTaskResource(c.resource);
    EXPECT_EQ(r.family, c.family) << c.resource;
    EXPECT_EQ(r.type, c.type) << c.resource;
    EXPECT_EQ(r.name, c.name) << c.resource;
  }
}

// A typed event writes, sizes, serializes and materializes as the plain event it stands for (written with and
// without `memo`); `context` names the case in failures.
void ExpectTypedIsPlain(const HistoryEvent& typed, const HistoryEvent& plain, EscapedTextMemo& memo,
                        const std::string& context) {
  std::string expected;
  AppendAwsJson(expected, plain.details);
  std::string written;
  AppendEventDetails(written, typed);
  std::string memoized;
  AppendEventDetails(memoized, typed, &memo);
  EXPECT_EQ(written, expected) << context;
  EXPECT_EQ(memoized, expected) << context;
  EXPECT_EQ(EventDetailsStringBytes(typed), EventDetailsStringBytes(plain)) << context;
  EXPECT_EQ(SerializeHistoryEvent(typed), SerializeHistoryEvent(plain)) << context;
  HistoryEvent materialized = typed;
  MaterializeEvent(materialized);
  EXPECT_EQ(materialized.type, plain.type) << context;
  EXPECT_EQ(materialized.details_key, plain.details_key) << context;
  EXPECT_EQ(materialized.details, plain.details) << context;
}

// TaskStarted and TaskSucceeded of the Task* family, written from the state's TaskResource, are the JSON objects
// the interpreter built for them before: the same text (with and without the escape memo), the same object,
// the same string bytes, for resources whose names need escapes.
TEST(TypedHistoryEventTest, TaskEventsAreThePlainObjectsTheyReplaced) {
  using Shape = TypedEventDetails::Shape;
  const std::string long_output = "{\"a\":\"q\\\"uote \\u00e9\",\"b\":\"" + std::string(100, 'y') + "\"}";
  EscapedTextMemo memo;
  for (const std::string& resource : {std::string("arn:aws:states:::lambda:invoke"), std::string("q\"ue\\ \xc3\xa9\x01"),
                                     std::string("arn:aws:states:::ecs:runTask.sync")}) {
    const TaskResource r = DescribeTaskResource(resource);
    for (const std::string& output : {std::string("{}"), std::string("[1.5,null,\"\\n\"]"), long_output}) {
      for (const Shape shape : {Shape::kTaskStarted, Shape::kTaskSucceeded}) {
        const bool succeeded = shape == Shape::kTaskSucceeded;
        json::object plain_details;
        plain_details["resourceType"] = r.type;
        plain_details["resource"] = r.name;
        if (succeeded) {
          plain_details["output"] = output;
          plain_details["outputDetails"] = json::object{{"truncated", false}};
        }
        const char* type = succeeded ? "TaskSucceeded" : "TaskStarted";
        const char* key = succeeded ? "taskSucceededEventDetails" : "taskStartedEventDetails";
        HistoryEvent plain = Event(type, key, plain_details);
        HistoryEvent typed = Typed(shape, type, key, r.details_prefix, output,
                                   static_cast<std::int64_t>(r.type.size() + r.name.size()));
        typed.id = plain.id;
        typed.previous_event_id = plain.previous_event_id;
        if (!succeeded) {
          typed.typed.text = nullptr;  // TaskStarted carries no text
        }
        ExpectTypedIsPlain(typed, plain, memo, resource + " " + output);
      }
    }
  }
}

// TaskScheduled of the Task* family, written from the state's TaskResource, the input's text and the attempt's
// whole seconds, is the JSON object the interpreter built for it before (the order AWS records: resourceType,
// resource, region, parameters, timeoutInSeconds, heartbeatInSeconds), with and without each of the two numbers.
TEST(TypedHistoryEventTest, TaskScheduledIsThePlainObjectItReplaced) {
  const std::string long_input = "{\"a\":\"q\\\"uote \\u00e9\",\"b\":\"" + std::string(100, 'y') + "\"}";
  EscapedTextMemo memo;
  for (const std::string& resource :
       {std::string("arn:aws:states:::lambda:invoke"), std::string("q\"ue\\ \xc3\xa9\x01")}) {
    const TaskResource r = DescribeTaskResource(resource);
    for (const std::string& input : {std::string("{}"), std::string("[1.5,null,\"\\n\"]"), long_input}) {
      for (const auto& [timeout, heartbeat] :
           {std::pair{0, 0}, std::pair{300, 0}, std::pair{0, 1}, std::pair{2147483647, 60}}) {
        json::object plain_details;
        plain_details["resourceType"] = r.type;
        plain_details["resource"] = r.name;
        plain_details["region"] = "us-east-1";
        plain_details["parameters"] = input;
        if (timeout != 0) {
          plain_details["timeoutInSeconds"] = std::int64_t{timeout};
        }
        if (heartbeat != 0) {
          plain_details["heartbeatInSeconds"] = std::int64_t{heartbeat};
        }
        HistoryEvent plain = Event("TaskScheduled", "taskScheduledEventDetails", plain_details);
        HistoryEvent typed =
            Typed(TypedEventDetails::Shape::kTaskScheduled, "TaskScheduled", "taskScheduledEventDetails",
                  r.details_prefix, input, static_cast<std::int64_t>(r.type.size() + r.name.size()));
        typed.typed.timeout_seconds = timeout;
        typed.typed.heartbeat_seconds = heartbeat;
        typed.id = plain.id;
        typed.previous_event_id = plain.previous_event_id;
        ExpectTypedIsPlain(typed, plain, memo, absl::StrCat(resource, " ", input, " ", timeout, " ", heartbeat));
      }
    }
  }
}

}  // namespace
}  // namespace stepflow::sm
