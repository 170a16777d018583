// BoundedRegex (PCRE2 with limits) and JSONPath `=~` filters on hostile patterns and subjects.

#include "statemachine/bounded_regex.h"

#include <string>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "statemachine/json_path.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

TEST(BoundedRegexTest, FullMatchByDefaultSearchOnRequest) {
  absl::StatusOr<BoundedRegex> re = BoundedRegex::Compile("a.c");
  ASSERT_TRUE(re.ok()) << re.status();
  EXPECT_TRUE(*re->Matches("abc"));
  EXPECT_FALSE(*re->Matches("xabc"));
  EXPECT_FALSE(*re->Matches("abcx"));
  RegexOptions search;
  search.full_match = false;
  absl::StatusOr<BoundedRegex> anywhere = BoundedRegex::Compile("a.c", search);
  ASSERT_TRUE(anywhere.ok());
  EXPECT_TRUE(*anywhere->Matches("xxabcxx"));
}

TEST(BoundedRegexTest, IgnoreCaseAndUtf8) {
  RegexOptions options;
  options.ignore_case = true;
  absl::StatusOr<BoundedRegex> re = BoundedRegex::Compile("é.+", options);
  ASSERT_TRUE(re.ok());
  EXPECT_TRUE(*re->Matches("Éa"));
  EXPECT_FALSE(*re->Matches(std::string("\xff\xfe", 2)));  // invalid UTF-8 does not match, no error
}

TEST(BoundedRegexTest, InvalidPatternNamesOffset) {
  absl::StatusOr<BoundedRegex> re = BoundedRegex::Compile("a[");
  ASSERT_FALSE(re.ok());
  EXPECT_EQ(re.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(re.status().message(), HasSubstr("invalid regular expression at offset"));
  EXPECT_FALSE(BoundedRegex::Compile(std::string(kMaxRegexPatternBytes + 1, 'a')).ok());
}

TEST(BoundedRegexTest, CatastrophicBacktrackingReachesTheLimitInsteadOfHanging) {
  absl::StatusOr<BoundedRegex> re = BoundedRegex::Compile("(a|aa)+");
  ASSERT_TRUE(re.ok());
  EXPECT_TRUE(*re->Matches(std::string(40, 'a')));
  absl::StatusOr<bool> m = re->Matches(std::string(40, 'a') + "!");  // 2^40 ways to fail
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(m.status().message(), HasSubstr("match limit"));
}

TEST(BoundedRegexTest, LongSubjectDoesNotOverflowTheStack) {
  // std::regex recursed once per character here and crashed with SIGSEGV.
  absl::StatusOr<BoundedRegex> re = BoundedRegex::Compile("(a|b)*c");
  ASSERT_TRUE(re.ok());
  std::string subject;
  for (int i = 0; i < 100'000; ++i) {
    subject += "ab";
  }
  absl::StatusOr<bool> no_c = re->Matches(subject);
  EXPECT_TRUE(!no_c.ok() || !*no_c);
  absl::StatusOr<bool> with_c = re->Matches(subject + "c");
  EXPECT_TRUE(!with_c.ok() || *with_c);
}

TEST(BoundedRegexTest, JsonPathFilterOnHostileRegexFailsWithStatesRuntime) {
  json::value doc = json::array{json::object{{"s", std::string(40, 'a') + "!"}}};
  absl::StatusOr<JsonPath> path = JsonPath::Parse("$[?(@.s =~ /(a|aa)+/)]");
  ASSERT_TRUE(path.ok()) << path.status();
  PathScope scope;
  scope.input = &doc;
  PathValue v = path->EvaluateBounded(scope);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.failure().error, "States.Runtime");
  EXPECT_THAT(v.failure().cause, HasSubstr("The JSONPath '$[?(@.s =~ /(a|aa)+/)]': regular expression"));
}

TEST(BoundedRegexTest, JsonPathFilterOnLongSubjectDoesNotCrash) {
  std::string subject;
  for (int i = 0; i < 100'000; ++i) {
    subject += "ab";
  }
  json::value doc = json::array{json::object{{"s", subject + "c"}}, json::object{{"s", subject}}};
  absl::StatusOr<JsonPath> path = JsonPath::Parse("$[?(@.s =~ /(a|b)*c/)]");
  ASSERT_TRUE(path.ok());
  PathScope scope;
  scope.input = &doc;
  PathValue v = path->EvaluateBounded(scope);
  if (v.ok()) {
    ASSERT_TRUE(v.value().has_value());
    EXPECT_EQ(v.value()->as_array().size(), 1u);
  } else {
    EXPECT_EQ(v.failure().error, "States.Runtime");
  }
}

}  // namespace
}  // namespace stepflow::sm
