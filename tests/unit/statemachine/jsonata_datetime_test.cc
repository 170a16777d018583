// $fromMillis / $toMillis beyond the reference cases: the current time as an argument, the ISO 8601
// reader's edges, jsonata-js quirks kept on purpose, and bounds on pictures, widths and matching.

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "statemachine/jsonata/datetime.h"

namespace stepflow::sm::jsonata {
namespace {

std::string Code(const absl::Status& status) {
  std::string message(status.message());
  return message.substr(0, message.find(':'));
}

std::string Iso(double millis) { return *FormatDateTime(millis, std::nullopt, std::nullopt); }

constexpr double kOct21_2018_1305 = 1540127100000;  // 2018-10-21T13:05:00Z

TEST(FormatDateTime, DefaultPictureAndTimezones) {
  EXPECT_EQ(Iso(1509380732935), "2017-10-30T16:25:32.935Z");
  EXPECT_EQ(Iso(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Iso(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(Iso(1.9), "1970-01-01T00:00:00.001Z");  // truncated, as new Date() does
  EXPECT_EQ(*FormatDateTime(kOct21_2018_1305, std::nullopt, "-0500"), "2018-10-21T08:05:00.000-05:00");
  EXPECT_EQ(*FormatDateTime(kOct21_2018_1305, std::nullopt, "+0000"), "2018-10-21T13:05:00.000Z");
  // jsonata-js reads "-0530" as -6 hours and -30 minutes.
  EXPECT_EQ(*FormatDateTime(kOct21_2018_1305, std::nullopt, "-0530"), "2018-10-21T06:35:00.000-06:30");
  EXPECT_EQ(Code(FormatDateTime(0, std::nullopt, "EST").status()), "T0410");
}

TEST(FormatDateTime, ComponentsAndQuirks) {
  EXPECT_EQ(*FormatDateTime(kOct21_2018_1305, "[Y0001] [C] [E] [q1]", std::nullopt), "2018 ISO ISO undefined");
  EXPECT_EQ(*FormatDateTime(kOct21_2018_1305, "[h]:[m01] [PN]", std::nullopt), "1:05 PM");
  EXPECT_EQ(*FormatDateTime(kOct21_2018_1305, "[MNn,*-3] [FN,2-2]", std::nullopt), "Oct SU");
  EXPECT_EQ(*FormatDateTime(kOct21_2018_1305, "[Y,2] [Y0001,2-2] [H01,3]", std::nullopt), "18 18 013");
  EXPECT_EQ(Code(FormatDateTime(0, "[YN]", std::nullopt).status()), "D3133");
  EXPECT_EQ(Code(FormatDateTime(0, "[Y", std::nullopt).status()), "D3135");
  EXPECT_EQ(Code(FormatDateTime(0, "[]", std::nullopt).status()), "D3132");
  EXPECT_EQ(Code(FormatDateTime(0, "[Z010101]", std::nullopt).status()), "D3134");
}

TEST(FormatDateTime, RangeAndBounds) {
  EXPECT_EQ(Code(FormatDateTime(1e20, std::nullopt, std::nullopt).status()), "D1001");
  EXPECT_EQ(Code(FormatDateTime(std::nan(""), std::nullopt, std::nullopt).status()), "D1001");
  // [Y0001] keeps four digits (year modulo 10^4), as in jsonata-js.
  EXPECT_EQ(Iso(8.64e15), "5760-09-13T00:00:00.000Z");
  EXPECT_EQ(Iso(-8.64e15), "-1821-04-20T00:00:00.000Z");
  EXPECT_EQ(Code(FormatDateTime(0, "[Y,2000000]", std::nullopt).status()), "U1001");
  EXPECT_EQ(FormatDateTime(0, "[Y,100000]", std::nullopt)->size(), 100000u);
  std::string many_markers;
  for (int i = 0; i < 100000; ++i) {
    many_markers += "[Y,100]";
  }
  EXPECT_EQ(Code(FormatDateTime(0, many_markers, std::nullopt).status()), "U1001");
  for (const char* odd : {"[Y,1--5]", "[Y,-3]", "[MNn,2--1]", "[Y,x-y]", "[Y,99999999999999999999]"}) {
    absl::StatusOr<std::string> out = FormatDateTime(0, odd, std::nullopt);
    EXPECT_TRUE(out.ok() || Code(out.status()) == "U1001") << odd << ": " << out.status();
  }
  std::string literal(1 << 20, 'x');
  EXPECT_EQ(FormatDateTime(0, literal, std::nullopt)->size(), literal.size());
}

TEST(ParseDateTime, MissingLeadingComponentsComeFromNow) {
  absl::StatusOr<std::optional<double>> t = ParseDateTime("13:45", "[H]:[m]", kOct21_2018_1305);
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ(Iso(**t), "2018-10-21T13:45:00.000Z");
  t = ParseDateTime("3-1", "[M]-[D]", kOct21_2018_1305);
  EXPECT_EQ(Iso(**t), "2018-03-01T00:00:00.000Z");
  t = ParseDateTime("13:45", "[H]:[m]");  // no clock: the epoch's date
  EXPECT_EQ(Iso(**t), "1970-01-01T13:45:00.000Z");
}

TEST(ParseDateTime, Quirks) {
  // Date.UTC reads years 0..99 as 1900..1999.
  EXPECT_EQ(Iso(**ParseDateTime("18", "[Y,2]")), "1918-01-01T00:00:00.000Z");
  EXPECT_EQ(**ParseDateTime("2018-13-01", "[Y]-[M]-[D]"), **ParseDateTime("2019-01-01", "[Y]-[M]-[D]"));
  EXPECT_EQ(*ParseDateTime("Hello", "Hello"), std::nullopt);
  EXPECT_EQ(*ParseDateTime("2018 Foo", "[Y] [MNn]"), **ParseDateTime("2018", "[Y]"));  // unknown name: undefined
  EXPECT_EQ(*ParseDateTime("MCQ", "[YI]"), std::nullopt);  // NaN year
  EXPECT_EQ(Code(ParseDateTime("2018 ISO", "[Y] [C]").status()), "D3133");
}

TEST(ParseDateTime, IsoWithoutPicture) {
  auto iso = [](std::string_view text) { return ParseDateTime(text, std::nullopt); };
  EXPECT_EQ(**iso("2018"), 1514764800000);
  EXPECT_EQ(**iso("2018-02"), 1517443200000);
  EXPECT_EQ(Iso(**iso("2018-02-30")), "2018-03-02T00:00:00.000Z");  // V8 lets days overflow
  EXPECT_EQ(Iso(**iso("2018-01-01T24:00:00Z")), "2018-01-02T00:00:00.000Z");
  EXPECT_EQ(Iso(**iso("2018-01-01T10:00:00.1239+01:30")), "2018-01-01T08:30:00.123Z");
  EXPECT_EQ(Iso(**iso("2018-01-01T10:00:00-0100")), "2018-01-01T11:00:00.000Z");
  EXPECT_EQ(**iso("0001-01-01"), -62135596800000);
  for (std::string_view bad : {"2018-13-01", "2018-00-01", "2018-01-32", "2018-01-01T25:00:00", "2018-01-01T24:00:01",
                               "18-01-01", "2018-01-01T10:00", "2018/01/01", "", "2018-01-01T10:00:00+2400"}) {
    EXPECT_EQ(Code(iso(bad).status()), "D3110") << bad;
  }
}

TEST(ParseDateTime, MatchingIsBounded) {
  std::string digits(100000, '1');
  absl::StatusOr<std::optional<double>> t = ParseDateTime(digits + "x", "[Y][M][D][H][m][s][f]");
  ASSERT_TRUE(t.ok() || Code(t.status()) == "U1001");
  if (t.ok()) {
    EXPECT_EQ(*t, std::nullopt);
  }
  std::string words;
  for (int i = 0; i < 20000; ++i) {
    words += "one ";
  }
  t = ParseDateTime(words + "x", "[Yw]");
  ASSERT_TRUE(t.ok() || Code(t.status()) == "U1001");
  std::string many_parts;
  for (int i = 0; i < 2000; ++i) {
    many_parts += "[Y]-";
  }
  EXPECT_EQ(Code(ParseDateTime("2018", many_parts).status()), "U1001");
}

}  // namespace
}  // namespace stepflow::sm::jsonata
