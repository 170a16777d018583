// The REST bodies (engine/api/rest_json.h): proto3 JSON with the JSON-text fields embedded as JSON values.
#include "engine/api/rest_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "stepflow/v1/stepflow.pb.h"

namespace stepflow::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(RestJsonTest, ADefinitionGoesInAsAJsonValueAndComesBackAsOne) {
  v1::CreateStateMachineRequest request;
  ASSERT_TRUE(JsonToMessage(R"({"name":"orders","type":"EXPRESS",
      "definition":{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}})",
                            &request)
                  .ok());
  EXPECT_EQ(request.name(), "orders");
  EXPECT_EQ(request.type(), v1::EXPRESS);
  EXPECT_EQ(request.definition(), R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");

  v1::Execution execution;
  execution.set_arn("arn:x");
  execution.set_input(R"({"n":[1,2,{"input":"not embedded: inside a value"}]})");
  boost::json::value out = boost::json::parse(MessageToJson(execution));
  EXPECT_EQ(out.at("input").at("n").at(0).as_int64(), 1);
  EXPECT_EQ(out.at("input").at("n").at(2).at("input").as_string(), "not embedded: inside a value");
  EXPECT_TRUE(out.at("output").is_null()) << "an empty JSON-text field is null";
  EXPECT_EQ(out.at("status").as_string(), "EXECUTION_STATUS_UNSPECIFIED") << "every field is printed";
}

TEST(RestJsonTest, AStringInputIsTheJsonStringItself) {
  v1::StartExecutionRequest request;
  ASSERT_TRUE(JsonToMessage(R"({"stateMachine":"sm","input":"{}"})", &request).ok());
  EXPECT_EQ(request.input(), R"("{}")") << "the input is the JSON string \"{}\", not an object";
}

TEST(RestJsonTest, HistoryEventDetailsAreEmbeddedInLists) {
  v1::GetExecutionHistoryResponse response;
  v1::HistoryEvent* e = response.add_events();
  e->set_id(1);
  e->set_type("ExecutionStarted");
  e->set_details(R"({"input":{"a":1}})");
  boost::json::value out = boost::json::parse(MessageToJson(response));
  EXPECT_EQ(out.at("events").at(0).at("details").at("input").at("a").as_int64(), 1);
  EXPECT_EQ(out.at("events").at(0).at("id").as_string(), "1") << "int64 is a string in proto3 JSON";
}

// A number goes in and comes out as the text it was, also where Boost.JSON 1.81's own parse would misread it
// (common/precise_json.h): 56 eights are 8.888888888888889E55, which Boost reads as a neighbouring double.
TEST(RestJsonTest, NumbersComeBackAsTheTextTheyWere) {
  v1::StartExecutionRequest request;
  ASSERT_TRUE(JsonToMessage(R"({"stateMachine":"sm","input":{"n":8.888888888888889E55}})", &request).ok());
  EXPECT_EQ(request.input(), R"({"n":8.888888888888889E55})");

  v1::Execution execution;
  execution.set_output(R"({"n":8.888888888888889E55})");
  EXPECT_THAT(MessageToJson(execution), HasSubstr(R"("output":{"n":8.888888888888889E55})"));
}

TEST(RestJsonTest, ANonFiniteNumberIsANamedValidationError) {
  v1::CreateStateMachineRequest request;
  absl::Status s = JsonToMessage(R"({"name":"x","definition":{"StartAt":"A","States":{"A":{"Type":"Pass",
      "Result":1e400,"End":true}}}})",
                                 &request);
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), StartsWith("ValidationException: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("/definition/States/A/Result"));
}

TEST(RestJsonTest, InvalidJsonIsANamedSerializationError) {
  v1::StartExecutionRequest request;
  absl::Status s = JsonToMessage(R"({"stateMachine":"sm","input":{"a":}})", &request);
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), StartsWith("SerializationException: the request body is not valid JSON"));
  s = JsonToMessage("[1,2]", &request);
  EXPECT_THAT(std::string(s.message()), HasSubstr("must be a JSON object"));
}

TEST(RestJsonTest, AnUnknownFieldIsRefused) {
  v1::StartExecutionRequest request;
  absl::Status s = JsonToMessage(R"({"stateMachine":"sm","bogus":1})", &request);
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), StartsWith("SerializationException: "));
}

TEST(RestJsonTest, DeepNestingIsBounded) {
  const int depth = 100000;
  std::string deep = R"({"stateMachine":"sm","input":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  v1::StartExecutionRequest request;
  absl::Status s = JsonToMessage(deep, &request);
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("levels deep"));
  // Within the bound it is accepted.
  std::string fine = R"({"stateMachine":"sm","input":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_TRUE(JsonToMessage(fine, &request).ok());
}

TEST(RestJsonTest, ErrorsCarryTheAwsNameAndTheMessageApart) {
  boost::json::value out =
      boost::json::parse(ErrorToJson(absl::NotFoundError("ExecutionDoesNotExist: arn:x does not exist")));
  EXPECT_EQ(out.at("error").as_string(), "ExecutionDoesNotExist");
  EXPECT_EQ(out.at("message").as_string(), "arn:x does not exist");
  out = boost::json::parse(ErrorToJson(absl::InternalError("no name here")));
  EXPECT_EQ(out.at("error").as_string(), "InternalFailure");
}

}  // namespace
}  // namespace stepflow::api
