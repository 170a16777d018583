// $formatNumber beyond the 2.0.6 reference cases: the later jsonata-js fixes this implementation takes
// where 2.0.6 hangs or throws a JavaScript TypeError, rounding, options and bounds.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "statemachine/jsonata/number_format.h"

namespace stepflow::sm::jsonata {
namespace {

std::string Code(const absl::Status& status) {
  std::string message(status.message());
  return message.substr(0, message.find(':'));
}

std::string Format(double value, std::string_view picture) {
  absl::StatusOr<std::string> out = FormatNumber(value, picture, DecimalFormat{});
  return out.ok() ? *out : std::string(out.status().message());
}

TEST(FormatNumber, ExponentPicturesForZeroAndNegatives) {
  // jsonata-js 2.0.6 loops forever on these; later releases (issue 785) give these results.
  EXPECT_EQ(Format(0, "0e0"), "0e0");
  EXPECT_EQ(Format(-42, "0e0"), "-4e1");
  EXPECT_EQ(Format(42, "0e0"), "4e1");
  EXPECT_EQ(Format(0, "0.00e0"), "0.00e0");
  EXPECT_EQ(Format(-0.00042, "0.0e0"), "-4.2e-4");
}

TEST(FormatNumber, PicturesWithoutActiveCharacters) {
  // 2.0.6 throws a TypeError; later releases (issue 786) report D3086 (D3085 for an empty picture).
  EXPECT_EQ(Code(FormatNumber(42, "%%", {}).status()), "D3086");
  EXPECT_EQ(Code(FormatNumber(42, "---", {}).status()), "D3086");
  EXPECT_EQ(Code(FormatNumber(42, "", {}).status()), "D3085");
}

TEST(FormatNumber, RoundsHalfToEvenOnDecimalText) {
  EXPECT_EQ(Format(0.125, "0.00"), "0.12");
  EXPECT_EQ(Format(0.375, "0.00"), "0.38");
  EXPECT_EQ(Format(2.5, "0"), "2");
  EXPECT_EQ(Format(3.5, "0"), "4");
  EXPECT_EQ(Format(1.005, "0.00"), "1.00");  // "1.005" shifted is 100.5: even
  EXPECT_EQ(Format(-1234.5678, "#,##0.00"), "-1,234.57");
  EXPECT_EQ(Format(-1234.5678, "#,##0.00;(#,##0.00)"), "(1,234.57)");
}

TEST(FormatNumber, Options) {
  boost::json::object options{{"decimal-separator", ","}, {"grouping-separator", "."}};
  absl::StatusOr<DecimalFormat> format = DecimalFormatFromOptions(options);
  ASSERT_TRUE(format.ok());
  EXPECT_EQ(*FormatNumber(1234567.891, "#.##0,00", *format), "1.234.567,89");
  EXPECT_EQ(Code(DecimalFormatFromOptions(boost::json::object{{"percent", 5}}).status()), "T0410");
  EXPECT_EQ(Code(DecimalFormatFromOptions(boost::json::object{{"zero-digit", ""}}).status()), "T0410");
  EXPECT_TRUE(DecimalFormatFromOptions(boost::json::object{{"unknown", 5}}).ok());
}

TEST(FormatNumber, NonFiniteValuesUseTheFormatsStrings) {
  EXPECT_EQ(Format(std::numeric_limits<double>::infinity(), "#,##0.00 EUR"), "Infinity EUR");
  EXPECT_EQ(Format(-std::numeric_limits<double>::infinity(), "0"), "-Infinity");
  EXPECT_EQ(Format(std::nan(""), "0"), "NaN");
}

TEST(FormatNumber, ExtremeValues) {
  EXPECT_EQ(Format(1e300, "0.0e0"), "1.0e300");
  EXPECT_EQ(Format(5e-324, "0.0e0"), "4.9e-324");
  EXPECT_EQ(Format(1e21, "#"), "1e+21");  // toFixed's own exponent form, as in jsonata-js
  EXPECT_EQ(Format(123.456, "0.000000000000000000000000000000"), "123.456000000000003069544618483633");
}

TEST(FormatNumber, HugePicturesAreBoundedAndLinear) {
  absl::StatusOr<std::string> out = FormatNumber(1.5, "0." + std::string(100, '0'), {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->size(), 102u);
  EXPECT_EQ(Code(FormatNumber(1.5, "0." + std::string(101, '#'), {}).status()), "U1001");
  std::string wide_integer(100000, '0');
  out = FormatNumber(1.5, wide_integer, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->size(), 100000u);
  std::string grouped;
  for (int i = 0; i < 200000; ++i) {
    grouped += "#,";
  }
  grouped += "0";
  EXPECT_TRUE(FormatNumber(123456789, grouped, {}).ok());
  std::string too_wide(2 << 20, '0');
  EXPECT_EQ(Code(FormatNumber(1, too_wide, {}).status()), "U1001");
  EXPECT_EQ(Code(FormatNumber(1, std::string(1 << 20, ';'), {}).status()), "D3080");
}

}  // namespace
}  // namespace stepflow::sm::jsonata
