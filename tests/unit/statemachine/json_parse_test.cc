// The parser for JSON from outside (sm::ParseJson) and the serializer's guarantee of valid JSON text.

#include "statemachine/json_parse.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "statemachine/json_text.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

TEST(JsonParseTest, ParsesOrdinaryJson) {
  absl::StatusOr<json::value> v = ParseJson(R"({"a":[1,2.5,-3,"x",null,true]})", "input");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(ToAwsJson(*v), R"({"a":[1,2.5,-3,"x",null,true]})");
}

TEST(JsonParseTest, RefusesNumberAboveDoubleRangeNamingWhere) {
  absl::StatusOr<json::value> v = ParseJson("{\n  \"big\": 1e400}", "task output");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(), HasSubstr("task output: number 1e400 at line 2, column 10 (offset 11)"));
  EXPECT_THAT(v.status().message(), HasSubstr("outside the range of a double"));
}

TEST(JsonParseTest, RefusesNegativeOverflowAndHugeIntegers) {
  EXPECT_FALSE(ParseJson("[-1e400]", "").ok());
  EXPECT_FALSE(ParseJson("[1" + std::string(400, '0') + "]", "").ok());
  EXPECT_FALSE(ParseJson("1.7976931348623159e308", "").ok());
}

TEST(JsonParseTest, AcceptsUnderflowAndLargeFiniteNumbers) {
  absl::StatusOr<json::value> v = ParseJson("[1e-400, 1.7976931348623157e308, 123456789012345678901234567890]", "");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_array()[0].as_double(), 0.0);
  EXPECT_TRUE(AllNumbersFinite(*v));
}

TEST(JsonParseTest, NumberLikeTextInsideStringsIsNotANumber) {
  absl::StatusOr<json::value> v = ParseJson(R"({"s":"1e400","t":"\"1e999"})", "");
  ASSERT_TRUE(v.ok()) << v.status();
}

TEST(JsonParseTest, SyntaxErrorNamesLineColumnAndOffset) {
  absl::StatusOr<json::value> v = ParseJson("{\"a\":\n  tru}", "def.json");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("def.json: invalid JSON at line 2"));
  EXPECT_THAT(v.status().message(), HasSubstr("offset"));
}

TEST(JsonParseTest, DepthLimitIsNamed) {
  JsonParseOptions options;
  options.max_depth = 3;
  EXPECT_TRUE(ParseJson("[[[1]]]", "", options).ok());
  absl::StatusOr<json::value> v = ParseJson("[[[[1]]]]", "", options);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("nesting deeper than 3 levels"));
}

TEST(JsonParseTest, DuplicateKeysRefusedWithJsonPointerWhenAsked) {
  const std::string text = R"({"States":{"A":{"Type":"Pass"},"B":[{"x":1},{"y":1,"y":2}]}})";
  EXPECT_TRUE(ParseJson(text, "").ok());  // kept-last by default, as Jackson does for payloads
  JsonParseOptions options;
  options.refuse_duplicate_keys = true;
  absl::StatusOr<json::value> v = ParseJson(text, "definition", options);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("duplicate key at /States/B/1/y"));
  EXPECT_TRUE(ParseJson(R"({"a":{"k":1},"b":{"k":2},"c":["k","k"]})", "", options).ok());
}

TEST(JsonParseTest, DuplicateKeysCompareDecodedNames) {
  JsonParseOptions options;
  options.refuse_duplicate_keys = true;
  absl::StatusOr<json::value> v = ParseJson(R"({"a/b":1,"a\u002fb":2})", "", options);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("duplicate key at /a~1b"));
}

TEST(JsonTextTest, NonFiniteDoubleIsNeverWrittenAsInvalidJson) {
  json::array a{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                std::nan("")};
  const std::string text = ToAwsJson(a);
  EXPECT_EQ(text, "[null,null,null]");
  EXPECT_TRUE(ParseJson(text, "").ok());
}

// Found by input_json_fuzzer: a 22-digit integer parsed to a double did not compare equal after being
// written and parsed again. The text we write is exact (it round-trips through strtod); Boost.JSON 1.81
// parses doubles only to within an ulp (precise parsing arrives in 1.83).
TEST(JsonTextTest, LargeIntegerAsDoubleIsWrittenExactly) {
  absl::StatusOr<json::value> v = ParseJson("1111111111111111141113", "");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->is_double());
  const std::string text = ToAwsJson(*v);
  EXPECT_EQ(std::strtod(text.c_str(), nullptr), v->get_double()) << text;
}

// Found by intrinsics_fuzzer: States.Format over a template holding a byte that is not UTF-8 produced a
// string that ToAwsJson wrote as text no JSON parser accepts.
TEST(JsonTextTest, BytesThatAreNotUtf8AreReplacedNotCopied) {
  const std::string bad = std::string("Hello") + '\xEE' + "{} \xC0\xAF \xED\xA0\x80 ok \xE2\x82\xAC";
  const std::string text = ToAwsJson(json::value(bad));
  EXPECT_EQ(text, "\"Hello\xEF\xBF\xBD{} \xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ok \xE2\x82\xAC\"");
  EXPECT_TRUE(ParseJson(text, "").ok());
}

TEST(JsonParseTest, LocateOffsetCountsLinesAndColumns) {
  const TextLocation at = LocateOffset("ab\ncd", 4);
  EXPECT_EQ(at.line, 2u);
  EXPECT_EQ(at.column, 2u);
}

}  // namespace
}  // namespace stepflow::sm
