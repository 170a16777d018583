// The definition limits every path shares (ValidateDefinitionText and ParseDefinitionText): size,
// nesting, duplicate keys, numbers outside the double range.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "statemachine/validator.h"

namespace stepflow::sm {
namespace {

using ::testing::HasSubstr;

// A valid machine whose Pass state's Result nests `levels` arrays deep.
std::string DeepResult(int levels) {
  return R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":)" + std::string(levels, '[') +
         std::string(levels, ']') + R"(,"End":true}}})";
}

TEST(ValidatorLimitsTest, ValidateAndParseAgreeOnNesting) {
  for (int levels : {33, 390}) {
    const std::string text = DeepResult(levels);
    EXPECT_TRUE(ValidateDefinitionText(text).empty()) << levels;
    EXPECT_TRUE(ParseDefinitionText(text).ok()) << levels;  // Create used Boost's 32-level default
  }
  const std::string too_deep = DeepResult(500);
  std::vector<Diagnostic> d = ValidateDefinitionText(too_deep);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].code, "INVALID_JSON_DESCRIPTION");
  EXPECT_THAT(d[0].message, HasSubstr("nesting deeper than 400 levels"));
  EXPECT_FALSE(ParseDefinitionText(too_deep).ok());
}

TEST(ValidatorLimitsTest, ValidateAndParseAgreeOnSize) {
  const std::string big = R"({"StartAt":"P","Comment":")" + std::string(kMaxDefinitionBytes, 'x') +
                          R"(","States":{"P":{"Type":"Pass","End":true}}})";
  std::vector<Diagnostic> d = ValidateDefinitionText(big);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].code, "SCHEMA_VALIDATION_FAILED");
  EXPECT_THAT(d[0].message, HasSubstr("at most 1048576 are allowed"));
  absl::StatusOr<boost::json::value> parsed = ParseDefinitionText(big);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("at most 1048576 are allowed"));
  ValidateOptions larger;
  larger.max_definition_bytes = 2 * kMaxDefinitionBytes;
  EXPECT_TRUE(ValidateDefinitionText(big, larger).empty());
}

TEST(ValidatorLimitsTest, DuplicateKeyIsRefusedWithItsPointer) {
  const std::string text =
      "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\n\"Next\":\"Q\",\"Type\":\"Fail\"},"
      "\"Q\":{\"Type\":\"Succeed\"}}}";
  std::vector<Diagnostic> d = ValidateDefinitionText(text);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].location, "/States/P/Type");
  EXPECT_EQ(d[0].code, "INVALID_JSON_DESCRIPTION");
  EXPECT_THAT(d[0].message, HasSubstr("Duplicate key at line 2"));
  absl::StatusOr<boost::json::value> parsed = ParseDefinitionText(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("/States/P/Type: INVALID_JSON_DESCRIPTION: Duplicate key"));
}

TEST(ValidatorLimitsTest, NumberOutsideDoubleRangeIsLocated) {
  std::vector<Diagnostic> d =
      ValidateDefinitionText(R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":1e400,"End":true}}})");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_THAT(d[0].message, HasSubstr("offset 53"));
  EXPECT_THAT(d[0].message, HasSubstr("the number 1e400 is outside the range of a double"));
}

}  // namespace
}  // namespace stepflow::sm
