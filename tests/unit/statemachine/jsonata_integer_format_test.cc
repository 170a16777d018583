// $formatInteger, $parseInteger and $formatBase beyond the reference cases: bounds, quirks of jsonata-js
// that the cases do not show, and round trips.

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

TEST(FormatInteger, DecimalPatterns) {
  EXPECT_EQ(*FormatInteger(1234567, "#,##0"), "1,234,567");
  EXPECT_EQ(*FormatInteger(-1234567, "#,##0"), "-1,234,567");
  EXPECT_EQ(*FormatInteger(7, "000"), "007");
  EXPECT_EQ(*FormatInteger(-0.5, "0"), "-1");  // floor, then sign
  EXPECT_EQ(*FormatInteger(11, "0;o"), "11th");
  EXPECT_EQ(*FormatInteger(112, "0;o"), "112th");
  EXPECT_EQ(*FormatInteger(22, "0;o"), "22nd");
  // Irregular separators shorter than the number: jsonata-js's substr arithmetic.
  EXPECT_EQ(*FormatInteger(12, "#:###,##0"), ",:12");
}

TEST(FormatInteger, WordsRomanLetters) {
  EXPECT_EQ(*FormatInteger(0, "w"), "zero");
  EXPECT_EQ(*FormatInteger(0, "w;o"), "zeroth");
  EXPECT_EQ(*FormatInteger(-21, "Ww"), "-Twenty-One");
  EXPECT_EQ(*FormatInteger(3999, "I"), "MMMCMXCIX");
  EXPECT_EQ(*FormatInteger(702, "A"), "ZZ");
  EXPECT_EQ(*FormatInteger(703, "a"), "aaa");
  EXPECT_EQ(*FormatInteger(0, "a"), "");
}

TEST(FormatInteger, HugeValuesAreBounded) {
  // Decimal: JavaScript's '' + value, exponent and all.
  EXPECT_EQ(*FormatInteger(1e308, "0"), "1e+308");
  absl::StatusOr<std::string> words = FormatInteger(1e308, "w");
  ASSERT_TRUE(words.ok());
  EXPECT_LT(words->size(), 2000u);
  EXPECT_EQ(Code(FormatInteger(1e308, "I").status()), "U1001");
  EXPECT_TRUE(FormatInteger(1e308, "A").ok());
  EXPECT_EQ(Code(FormatInteger(std::numeric_limits<double>::infinity(), "0").status()), "D3001");
  EXPECT_EQ(Code(FormatInteger(std::nan(""), "w").status()), "D3001");
}

TEST(FormatInteger, HugePicturesAreLinear) {
  std::string picture(1 << 20, '#');
  picture += "0";
  EXPECT_EQ(*FormatInteger(5, picture), "5");
  std::string separators;
  for (int i = 0; i < 100000; ++i) {
    separators += "0,";
  }
  separators += "0";
  EXPECT_TRUE(FormatInteger(5, separators).ok());
  std::string too_many(2 << 20, '0');
  EXPECT_EQ(Code(FormatInteger(5, too_many).status()), "U1001");
}

TEST(FormatInteger, Errors) {
  EXPECT_EQ(Code(FormatInteger(1, "#").status()), "D3130");
  EXPECT_EQ(Code(FormatInteger(1, "0١").status()), "D3131");
}

TEST(ParseInteger, RoundTripsAndNaN) {
  for (double v : {0.0, 1.0, 19.0, 20.0, 99.0, 101.0, 1000.0, 1001.0, 123456789.0}) {
    for (const char* picture : {"w", "W", "Ww", "w;o", "0", "#,##0", "I", "i", "A", "a"}) {
      if (v == 0 && (std::string(picture) == "A" || std::string(picture) == "a")) {
        continue;
      }
      absl::StatusOr<std::string> text = FormatInteger(v, picture);
      ASSERT_TRUE(text.ok()) << picture;
      absl::StatusOr<std::optional<double>> back = ParseInteger(*text, picture);
      ASSERT_TRUE(back.ok() && back->has_value()) << *text << " " << picture;
      EXPECT_EQ(**back, v) << *text << " " << picture;
    }
  }
  EXPECT_EQ(*ParseInteger("eleventeen", "w"), std::nullopt);
  EXPECT_EQ(*ParseInteger("MCQ", "I"), std::nullopt);
  EXPECT_EQ(*ParseInteger("abc", "0"), std::nullopt);
  EXPECT_EQ(Code(ParseInteger(std::string(400, '9'), "0").status()), "D1001");
  EXPECT_EQ(Code(ParseInteger("5", "#").status()), "D3130");
}

TEST(FormatBase, RadixesAndRounding) {
  EXPECT_EQ(*FormatBase(255, 16), "ff");
  EXPECT_EQ(*FormatBase(-255, 16), "-ff");
  EXPECT_EQ(*FormatBase(0, 2), "0");
  EXPECT_EQ(*FormatBase(2.5, 10), "2");  // halves to even
  EXPECT_EQ(*FormatBase(3.5, 10), "4");
  EXPECT_EQ(*FormatBase(1e21, 10), "1e+21");
  EXPECT_EQ(*FormatBase(std::pow(2, 60), 2), "1" + std::string(60, '0'));
  EXPECT_EQ(FormatBase(1e308, 36)->size(), 198u);  // log36(1e308) = 197.9
  EXPECT_EQ(Code(FormatBase(1, 36.6).status()), "D3100");
  EXPECT_EQ(Code(FormatBase(1, 1.4).status()), "D3100");
  EXPECT_EQ(Code(FormatBase(1, std::nan("")).status()), "D3100");
}

}  // namespace
}  // namespace stepflow::sm::jsonata
