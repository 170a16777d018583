// JSONPath evaluation under EvaluationLimits: hostile paths fail with a named ASL error instead of
// exhausting memory (std::bad_alloc) or time.

#include <string>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "statemachine/json_path.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

// {"a":{"a":{... 30 levels ...:1}}} — about 200 bytes.
json::value DeepDocument(int levels) {
  json::value doc = 1;
  for (int i = 0; i < levels; ++i) {
    doc = json::object{{"a", std::move(doc)}};
  }
  return doc;
}

PathValue EvalBounded(std::string_view path, const json::value& doc, const EvaluationLimits& limits = {}) {
  absl::StatusOr<JsonPath> parsed = JsonPath::Parse(path);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  PathScope scope;
  scope.input = &doc;
  return parsed->EvaluateBounded(scope, limits);
}

TEST(JsonPathBoundsTest, RepeatedDeepScanOverDeepDocumentFailsInsteadOfExhaustingMemory) {
  const json::value doc = DeepDocument(30);
  PathValue v = EvalBounded("$..*..*..*..*..*..*..*..*..*..*", doc);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.failure().error, ::testing::AnyOf("States.Runtime", "States.DataLimitExceeded"));
  EXPECT_THAT(v.failure().cause, HasSubstr("The JSONPath '$..*..*..*..*..*..*..*..*..*..*'"));
}

// Found by jsonpath_fuzzer: a filter's array literal nested 5,000 deep overflowed the stack while
// parsing (a definition of up to 1 MiB could hold 500,000 levels and crash the validator).
TEST(JsonPathBoundsTest, DeepNestingIsAParseErrorNotAStackOverflow) {
  const int kDeep = 100'000;
  for (const std::string& path :
       {"$.a[?(@ in " + std::string(kDeep, '[') + std::string(kDeep, ']') + ")]",
        "$.a[?(" + std::string(kDeep, '!') + "@.x)]", "$.a[?(" + std::string(kDeep, '(') + "@.x" +
                                                           std::string(kDeep, ')') + ")]"}) {
    absl::StatusOr<JsonPath> parsed = JsonPath::Parse(path);
    ASSERT_FALSE(parsed.ok());
    EXPECT_THAT(parsed.status().message(), HasSubstr("nesting deeper than 64 levels"));
  }
  std::string nested_filters = "$.a";
  for (int i = 0; i < 100; ++i) {
    nested_filters += "[?(@.b";
  }
  nested_filters += std::string(100, ')');
  EXPECT_FALSE(JsonPath::Parse(nested_filters).ok());
  EXPECT_TRUE(JsonPath::Parse("$.a[?(@ in [[[1]]] && !(!(@.x)))]").ok());
}

TEST(JsonPathBoundsTest, TooManySegmentsIsAParseError) {
  std::string path = "$";
  for (int i = 0; i < 100'000; ++i) {
    path += ".a";
  }
  path += "[*]";
  absl::StatusOr<JsonPath> parsed = JsonPath::Parse(path);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("more than 512 segments"));
}

TEST(JsonPathBoundsTest, TooManyVisitsIsStatesRuntime) {
  json::array items;
  for (int i = 0; i < 100; ++i) {
    items.push_back(json::object{{"x", i}});
  }
  EvaluationLimits limits;
  limits.max_path_visits = 50;
  PathValue v = EvalBounded("$[*].x", json::value(items), limits);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.failure().error, "States.Runtime");
  EXPECT_THAT(v.failure().cause, HasSubstr("visited more than 50 JSON nodes"));
  limits.max_path_visits = 1000;
  EXPECT_TRUE(EvalBounded("$[*].x", json::value(items), limits).ok());
}

TEST(JsonPathBoundsTest, FilterSubPathsShareTheBudget) {
  json::array items;
  for (int i = 0; i < 100; ++i) {
    items.push_back(json::object{{"x", json::array{1, 2, 3, 4, 5}}});
  }
  EvaluationLimits limits;
  limits.max_path_visits = 300;
  PathValue v = EvalBounded("$[?(@.x[*] anyof [9])]", json::value(items), limits);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.failure().error, "States.Runtime");
}

TEST(JsonPathBoundsTest, ArrayOperandsOfInCountAsVisitsPerTestedElement) {
  auto doc_of = [](int n) {
    json::array items;
    json::array big;
    for (int i = 0; i < n; ++i) {
      items.push_back(i);
      big.push_back(-i - 1);
    }
    return json::value(json::object{{"items", items}, {"big", big}});
  };
  EvaluationLimits limits;
  limits.max_path_visits = 10'000;
  PathValue bounded = EvalBounded("$.items[?(@ in $.big)]", doc_of(200), limits);  // 200 x 200 comparisons
  ASSERT_FALSE(bounded.ok());
  EXPECT_EQ(bounded.failure().error, "States.Runtime");
  PathValue small = EvalBounded("$.items[?(@ in $.big)]", doc_of(20), limits);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(json::serialize(*small.value()), "[]");
}

TEST(JsonPathBoundsTest, TooManyResultBytesIsDataLimitExceeded) {
  json::array items;
  for (int i = 0; i < 100; ++i) {
    items.push_back(json::string(std::string(1000, 'x')));
  }
  EvaluationLimits limits;
  limits.max_result_bytes = 10'000;
  PathValue v = EvalBounded("$[*]", json::value(items), limits);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.failure().error, "States.DataLimitExceeded");
  EXPECT_THAT(v.failure().cause, HasSubstr("produced more than 10000 bytes"));
  EXPECT_FALSE(EvalBounded("$..*", json::value(items), limits).ok());
  limits.max_result_bytes = 200'000;
  ASSERT_TRUE(EvalBounded("$[*]", json::value(items), limits).ok());
}

TEST(JsonPathBoundsTest, UnboundedEvaluateReadsABrokenBoundAsNotFound) {
  const json::value doc = DeepDocument(30);
  PathScope scope;
  scope.input = &doc;
  EXPECT_FALSE(JsonPath::Parse("$..*..*..*..*..*..*..*..*..*..*")->Evaluate(scope).has_value());
  EXPECT_TRUE(JsonPath::Parse("$..*")->Evaluate(scope).has_value());
}

TEST(JsonPathBoundsTest, ApproxJsonBytesStopsAtTheCap) {
  json::array big(100000, json::value("some text"));
  EXPECT_LE(ApproxJsonBytes(json::value(big), 1000), 1100u);
  EXPECT_EQ(ApproxJsonBytes(json::value(json::array{1, "ab"}), 1000), 2u + 1 + 8 + 1 + 4);
}

}  // namespace
}  // namespace stepflow::sm
