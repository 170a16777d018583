// The module's one JSON equality and its hash; linear-time helpers on user data.

#include "statemachine/json_equality.h"

#include <chrono>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "statemachine/json_path.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;

TEST(JsonEqualityTest, NumbersCompareByExactValue) {
  EXPECT_TRUE(JsonEquals(json::value(1), json::value(1.0)));
  EXPECT_TRUE(JsonEquals(json::value(1), json::value(std::uint64_t{1})));
  EXPECT_TRUE(JsonEquals(json::value(-0.0), json::value(0)));
  EXPECT_FALSE(JsonEquals(json::value(1), json::value(1.5)));
  const std::int64_t big = (std::int64_t{1} << 60) + 1;
  EXPECT_FALSE(JsonEquals(json::value(big), json::value(static_cast<double>(big))));  // rounds to 2^60
  EXPECT_TRUE(JsonEquals(json::value(std::int64_t{1} << 60), json::value(static_cast<double>(big))));
  EXPECT_FALSE(JsonEquals(json::value(-1), json::value(std::uint64_t{18446744073709551615ULL})));
}

TEST(JsonEqualityTest, StructureAndMemberOrder) {
  EXPECT_TRUE(JsonEquals(json::parse(R"({"a":1,"b":[1,{"c":2}]})"), json::parse(R"({"b":[1.0,{"c":2}],"a":1})")));
  EXPECT_FALSE(JsonEquals(json::parse("[1,2]"), json::parse("[2,1]")));
  EXPECT_FALSE(JsonEquals(json::parse(R"({"a":1})"), json::parse(R"({"a":1,"b":2})")));
  EXPECT_FALSE(JsonEquals(json::parse("\"1\""), json::parse("1")));
}

TEST(JsonEqualityTest, EqualValuesHashEqually) {
  const char* pairs[][2] = {{"1", "1.0"}, {"0", "-0.0"}, {R"({"a":1,"b":2})", R"({"b":2.0,"a":1})"},
                            {"[1,[2]]", "[1.0,[2.0]]"}, {"18446744073709551615", "18446744073709551615"}};
  for (const auto& p : pairs) {
    const json::value a = json::parse(p[0]);
    const json::value b = json::parse(p[1]);
    ASSERT_TRUE(JsonEquals(a, b)) << p[0];
    EXPECT_EQ(JsonHash(a), JsonHash(b)) << p[0];
  }
}

TEST(JsonEqualityTest, FirstOccurrencesKeepsOrderAndIsFastOnManyItems) {
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

TEST(JsonEqualityTest, ContainsSubstringIsLinearOnHostileInput) {
  const std::string haystack(300000, 'a');
  const std::string needle = std::string(100000, 'a') + "b";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ContainsSubstring(haystack, needle));
  EXPECT_TRUE(ContainsSubstring("xxabcxx", "abc"));
  EXPECT_TRUE(ContainsSubstring("x", ""));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST(JsonEqualityTest, FilterSetOperatorsAreNotQuadratic) {
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

}  // namespace
}  // namespace stepflow::sm
