// The module's one JSON value comparison (equality, hash, number and string ordering, Java's long cast)
// at the edges of int64 / uint64 / double, and the linear-time helpers on user data.

#include "statemachine/json_value.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "statemachine/json_path.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;

TEST(JsonValueTest, NumbersCompareByExactValue) {
  EXPECT_TRUE(JsonEquals(json::value(1), json::value(1.0)));
  EXPECT_TRUE(JsonEquals(json::value(1), json::value(std::uint64_t{1})));
  EXPECT_TRUE(JsonEquals(json::value(-0.0), json::value(0)));
  EXPECT_FALSE(JsonEquals(json::value(1), json::value(1.5)));
  const std::int64_t big = (std::int64_t{1} << 60) + 1;
  EXPECT_FALSE(JsonEquals(json::value(big), json::value(static_cast<double>(big))));  // rounds to 2^60
  EXPECT_TRUE(JsonEquals(json::value(std::int64_t{1} << 60), json::value(static_cast<double>(big))));
  EXPECT_FALSE(JsonEquals(json::value(-1), json::value(std::uint64_t{18446744073709551615ULL})));
}

TEST(JsonValueTest, StructureAndMemberOrder) {
  EXPECT_TRUE(JsonEquals(json::parse(R"({"a":1,"b":[1,{"c":2}]})"), json::parse(R"({"b":[1.0,{"c":2}],"a":1})")));
  EXPECT_FALSE(JsonEquals(json::parse("[1,2]"), json::parse("[2,1]")));
  EXPECT_FALSE(JsonEquals(json::parse(R"({"a":1})"), json::parse(R"({"a":1,"b":2})")));
  EXPECT_FALSE(JsonEquals(json::parse("\"1\""), json::parse("1")));
}

TEST(JsonValueTest, EqualValuesHashEqually) {
  const char* pairs[][2] = {{"1", "1.0"}, {"0", "-0.0"}, {R"({"a":1,"b":2})", R"({"b":2.0,"a":1})"},
                            {"[1,[2]]", "[1.0,[2.0]]"}, {"18446744073709551615", "18446744073709551615"}};
  for (const auto& p : pairs) {
    const json::value a = json::parse(p[0]);
    const json::value b = json::parse(p[1]);
    ASSERT_TRUE(JsonEquals(a, b)) << p[0];
    EXPECT_EQ(JsonHash(a), JsonHash(b)) << p[0];
  }
}

TEST(JsonValueTest, FirstOccurrencesKeepsOrderAndIsFastOnManyItems) {
  EXPECT_EQ(FirstOccurrences(json::parse(R"([1,"a",1.0,{"x":1},"a",{"x":1.0},2])").as_array()),
            (std::vector<std::size_t>{0, 1, 3, 6}));
  json::array many;
  for (int i = 0; i < 40000; ++i) {
    many.push_back(json::object{{"id", i % 20000}, {"tag", "t"}});
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(FirstOccurrences(many).size(), 20000u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST(JsonValueTest, ContainsSubstringIsLinearOnHostileInput) {
  const std::string haystack(300000, 'a');
  const std::string needle = std::string(100000, 'a') + "b";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ContainsSubstring(haystack, needle));
  EXPECT_TRUE(ContainsSubstring("xxabcxx", "abc"));
  EXPECT_TRUE(ContainsSubstring("x", ""));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST(JsonValueTest, FilterSetOperatorsAreNotQuadratic) {
  json::array left;
  json::array right;
  for (int i = 0; i < 40000; ++i) {
    left.push_back(i);
    right.push_back(i + 1);
  }
  json::value doc = json::object{{"items", json::array{json::object{{"l", left}}}}, {"r", right}};
  PathScope scope;
  scope.input = &doc;
  const auto start = std::chrono::steady_clock::now();
  PathValue v = JsonPath::Parse("$.items[?(@.l subsetof $.r)]")->EvaluateBounded(scope);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(json::serialize(*v.value()), "[]");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000));
}


// ---------------------------------------------------------------------------------------------------
// Numbers at the edges of the three representations. Before json_value.h, JSONPath filters compared
// through double (2^53 + 1 > 2^53 was false there, true in Choice) and strings by bytes (Choice: UTF-16).

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::uint64_t kUint64Max = std::numeric_limits<std::uint64_t>::max();

TEST(JsonValueTest, CompareNumbersIsExactAcrossRepresentations) {
  const json::value two53_plus1(std::int64_t{9007199254740993});
  const json::value two53_double(9007199254740992.0);
  EXPECT_GT(CompareNumbers(two53_plus1, two53_double), 0);
  EXPECT_LT(CompareNumbers(two53_double, two53_plus1), 0);
  EXPECT_FALSE(JsonEquals(two53_plus1, two53_double));
  EXPECT_EQ(CompareNumbers(json::value(std::int64_t{9007199254740992}), two53_double), 0);

  EXPECT_LT(CompareNumbers(json::value(kInt64Max), json::value(std::uint64_t{9223372036854775808ULL})), 0);
  EXPECT_GT(CompareNumbers(json::value(std::uint64_t{9223372036854775808ULL}), json::value(kInt64Max)), 0);
  EXPECT_LT(CompareNumbers(json::value(kInt64Min), json::value(std::uint64_t{0})), 0);
  EXPECT_LT(CompareNumbers(json::value(-1), json::value(kUint64Max)), 0);
  // INT64_MAX as a double is 2^63, one above INT64_MAX; INT64_MIN is exactly -2^63.
  EXPECT_LT(CompareNumbers(json::value(kInt64Max), json::value(9223372036854775808.0)), 0);
  EXPECT_EQ(CompareNumbers(json::value(kInt64Min), json::value(-9223372036854775808.0)), 0);
  EXPECT_EQ(CompareNumbers(json::value(std::uint64_t{9223372036854775808ULL}), json::value(9223372036854775808.0)), 0);
  EXPECT_LT(CompareNumbers(json::value(kUint64Max), json::value(18446744073709551616.0)), 0);  // 2^64
  EXPECT_GT(CompareNumbers(json::value(kUint64Max), json::value(18446744073709549568.0)), 0);  // 2^64 - 2048

  EXPECT_EQ(CompareNumbers(json::value(-0.0), json::value(0)), 0);
  EXPECT_EQ(CompareNumbers(json::value(-0.0), json::value(0.0)), 0);
  EXPECT_EQ(CompareNumbers(json::value(-0.0), json::value(std::uint64_t{0})), 0);
  EXPECT_GT(CompareNumbers(json::value(0.5), json::value(0)), 0);
  EXPECT_LT(CompareNumbers(json::value(-0.5), json::value(0)), 0);
  EXPECT_LT(CompareNumbers(json::value(kInt64Max), json::value(kInt64Max + 0.5)), 0);  // 2^63 as a double

  EXPECT_GT(CompareNumbers(json::value(1e308), json::value(kInt64Max)), 0);
  EXPECT_GT(CompareNumbers(json::value(1e308), json::value(kUint64Max)), 0);
  EXPECT_LT(CompareNumbers(json::value(-1e308), json::value(kInt64Min)), 0);
  EXPECT_EQ(CompareNumbers(json::value(1e308), json::value(1e308)), 0);
  EXPECT_FALSE(JsonEquals(json::value(1e308), json::value(kUint64Max)));
}

// The same values in every representation: equality, the three-way comparison and the hash agree,
// and the ordering is antisymmetric and transitive.
TEST(JsonValueTest, EqualityOrderingAndHashAgreeOnEveryPair) {
  const std::vector<json::value> values = {
      json::value(0), json::value(-0.0), json::value(0.0), json::value(std::uint64_t{0}), json::value(1),
      json::value(1.0), json::value(std::uint64_t{1}), json::value(0.5), json::value(-0.5),
      json::value(std::int64_t{9007199254740993}), json::value(9007199254740992.0),
      json::value(std::int64_t{9007199254740992}), json::value(kInt64Max), json::value(kInt64Min),
      json::value(-9223372036854775808.0), json::value(9223372036854775808.0),
      json::value(std::uint64_t{9223372036854775808ULL}), json::value(kUint64Max),
      json::value(18446744073709551616.0), json::value(1e308), json::value(-1e308)};
  for (const json::value& a : values) {
    for (const json::value& b : values) {
      const int ab = CompareNumbers(a, b);
      EXPECT_EQ(ab == 0, JsonEquals(a, b)) << a << " vs " << b;
      EXPECT_EQ(ab, -CompareNumbers(b, a)) << a << " vs " << b;
      if (ab == 0) {
        EXPECT_EQ(JsonHash(a), JsonHash(b)) << a << " vs " << b;
      }
      for (const json::value& c : values) {
        if (ab < 0 && CompareNumbers(b, c) < 0) {
          EXPECT_LT(CompareNumbers(a, c), 0) << a << " < " << b << " < " << c;
        }
      }
    }
  }
}

TEST(JsonValueTest, StringsOrderByUtf16CodeUnitsAsJavaDoes) {
  // U+FFFF sorts after U+1F600 in UTF-16 (0xFFFF > 0xD83D), before it in UTF-8 bytes.
  EXPECT_GT(CompareStrings("\xEF\xBF\xBF", "\xF0\x9F\x98\x80"), 0);
  EXPECT_LT(CompareStrings("a", "b"), 0);
  EXPECT_LT(CompareStrings("a", "ab"), 0);
  EXPECT_EQ(CompareStrings("", ""), 0);
  EXPECT_EQ(CompareOrdered(json::value("a"), json::value(1)), std::nullopt);
  EXPECT_EQ(CompareOrdered(json::value(true), json::value(false)), std::nullopt);
  EXPECT_EQ(CompareOrdered(json::value(2), json::value(1.5)), 1);
}

TEST(JsonValueTest, TruncateToInt64IsJavasLongCast) {
  EXPECT_EQ(TruncateToInt64(json::value(2.9)), 2);
  EXPECT_EQ(TruncateToInt64(json::value(-2.9)), -2);
  EXPECT_EQ(TruncateToInt64(json::value(-0.0)), 0);
  EXPECT_EQ(TruncateToInt64(json::value(9.2e18)), std::int64_t{9200000000000000000});  // was clamped
  EXPECT_EQ(TruncateToInt64(json::value(9223372036854774784.0)), std::int64_t{9223372036854774784});
  EXPECT_EQ(TruncateToInt64(json::value(9223372036854775808.0)), kInt64Max);
  EXPECT_EQ(TruncateToInt64(json::value(-9223372036854775808.0)), kInt64Min);
  EXPECT_EQ(TruncateToInt64(json::value(1e308)), kInt64Max);
  EXPECT_EQ(TruncateToInt64(json::value(-1e308)), kInt64Min);
  EXPECT_EQ(TruncateToInt64(json::value(kUint64Max)), kInt64Max);
  EXPECT_EQ(TruncateToInt64(json::value("1")), std::nullopt);
}

// JSONPath filters order as Choice does: exactly, and strings by UTF-16.
TEST(JsonValueTest, JsonPathFiltersUseTheSameOrdering) {
  json::value doc = json::parse(
      R"({"items":[{"n":9007199254740993,"s":"\uffff"},{"n":9007199254740992,"s":"\ud83d\ude00"}]})");
  PathScope scope;
  scope.input = &doc;
  PathValue above = JsonPath::Parse("$.items[?(@.n > 9007199254740992.0)].n")->EvaluateBounded(scope);
  ASSERT_TRUE(above.ok());
  EXPECT_EQ(json::serialize(*above.value()), "[9007199254740993]");
  PathValue equal = JsonPath::Parse("$.items[?(@.n == 9007199254740992.0)].n")->EvaluateBounded(scope);
  ASSERT_TRUE(equal.ok());
  EXPECT_EQ(json::serialize(*equal.value()), "[9007199254740992]");
  PathValue later = JsonPath::Parse("$.items[?(@.s > '\xF0\x9F\x98\x80')].n")->EvaluateBounded(scope);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(json::serialize(*later.value()), "[9007199254740993]");
}

}  // namespace
}  // namespace stepflow::sm
