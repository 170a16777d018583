// Intrinsic functions under hostile arguments: numbers outside the double range, result-size bounds,
// large inputs (no quadratic work).

#include <chrono>
#include <map>
#include <string>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "statemachine/json_path.h"
#include "statemachine/intrinsics.h"
#include "statemachine/json_text.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

class ZeroRuntime : public RuntimeValues {
 public:
  std::string NewUuid() override { return "00000000-0000-4000-8000-000000000000"; }
  double NextRandomUnit() override { return 0; }
};

Result<json::value> Eval(std::string_view text, std::map<std::string, json::value> paths = {}) {
  absl::StatusOr<IntrinsicCall> call = IntrinsicCall::Parse(text);
  if (!call.ok()) {
    return Failure{"parse", std::string(call.status().message())};
  }
  ZeroRuntime runtime;
  auto resolve = [&paths](const JsonPath& path) -> std::optional<json::value> {
    auto it = paths.find(path.text());
    return it == paths.end() ? std::nullopt : std::optional<json::value>(it->second);
  };
  return call->Evaluate(resolve, runtime);
}

TEST(IntrinsicsBoundsTest, NumberLiteralOutsideDoubleRangeIsAParseError) {
  absl::StatusOr<IntrinsicCall> call = IntrinsicCall::Parse("States.MathAdd(1e400, 1)");
  ASSERT_FALSE(call.ok());
  EXPECT_THAT(call.status().message(), HasSubstr("outside the range of a double"));
}

TEST(IntrinsicsBoundsTest, MathRandomOverTheWholeLongRangeStaysInRange) {
  // end - start overflowed int64 and the double offset was cast back out of range (undefined behaviour).
  for (const char* call : {"States.MathRandom(-9223372036854775808, 9223372036854775807)",
                           "States.MathRandom(-9223372036854775808, 9223372036854775807, 42)",
                           "States.MathRandom(9223372036854775806, 9223372036854775807)"}) {
    Result<json::value> r = Eval(call);
    ASSERT_TRUE(r.ok()) << call;
    ASSERT_TRUE(r.value().is_int64()) << call;
  }
  EXPECT_EQ(Eval("States.MathRandom(9223372036854775806, 9223372036854775807)").value().as_int64(),
            9223372036854775806);
}

TEST(IntrinsicsBoundsTest, StringToJsonRefusesNumberOutsideDoubleRange) {
  Result<json::value> r = Eval("States.StringToJson($.s)", {{"$.s", json::value("{\"x\":1e400}")}});
  ASSERT_FALSE(r.ok()) << ToAwsJson(r.value());
  EXPECT_EQ(r.failure().cause, "Invalid arguments in States.StringToJson");
}

TEST(IntrinsicsBoundsTest, NestedCallsThatMultiplyThePayloadFailWithDataLimitExceeded) {
  // Each level copies its argument ten times: 10^4 copies of a 10 KB string without the bound.
  std::string ten = "$.s, $.s, $.s, $.s, $.s, $.s, $.s, $.s, $.s, $.s";
  std::string call = "States.Array(" + ten + ")";
  for (int level = 0; level < 3; ++level) {
    std::string args = call;
    for (int i = 1; i < 10; ++i) {
      args += ", " + call;
    }
    call = "States.Array(" + args + ")";
  }
  absl::StatusOr<IntrinsicCall> parsed = IntrinsicCall::Parse(call);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ZeroRuntime runtime;
  json::value s(std::string(10'000, 'x'));
  auto resolve = [&s](const JsonPath&) -> std::optional<json::value> { return s; };
  EvaluationLimits limits;
  limits.max_result_bytes = 1'000'000;
  Result<json::value> r = parsed->Evaluate(resolve, runtime, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().error, "States.DataLimitExceeded");
  EXPECT_THAT(r.failure().cause, HasSubstr("produced more than 1000000 bytes"));
}

TEST(IntrinsicsBoundsTest, PathArgumentFailureIsPassedThrough) {
  absl::StatusOr<IntrinsicCall> parsed = IntrinsicCall::Parse("States.ArrayLength($..*)");
  ASSERT_TRUE(parsed.ok());
  ZeroRuntime runtime;
  auto resolve = [](const JsonPath&) -> PathValue { return Failure{"States.Runtime", "too many nodes"}; };
  Result<json::value> r = parsed->Evaluate(resolve, runtime);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().cause, "too many nodes");
}

TEST(IntrinsicsBoundsTest, ArrayUniqueOfFortyThousandItemsIsFast) {
  json::array items;
  for (int i = 0; i < 40000; ++i) {
    items.push_back(json::object{{"n", i % 30000}});
  }
  const auto start = std::chrono::steady_clock::now();
  Result<json::value> r = Eval("States.ArrayUnique($.a)", {{"$.a", json::value(items)}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().as_array().size(), 30000u);
  EXPECT_EQ(r.value().as_array()[1], json::parse(R"({"n":1})"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));  // was 2.5 s
}

TEST(IntrinsicsBoundsTest, StringSplitWithManyDelimitersIsFast) {
  std::string delimiters;
  for (int c = 0x4E00; c < 0x4E00 + 5000; ++c) {  // 5,000 distinct CJK characters, 3 bytes each
    delimiters += static_cast<char>(0xE0 | (c >> 12));
    delimiters += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    delimiters += static_cast<char>(0x80 | (c & 0x3F));
  }
  const std::string text(200000, 'x');
  const auto start = std::chrono::steady_clock::now();
  Result<json::value> r =
      Eval("States.StringSplit($.t, $.d)", {{"$.t", json::value(text)}, {"$.d", json::value(delimiters)}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().as_array().size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace stepflow::sm
