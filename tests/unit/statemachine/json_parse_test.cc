// The parser for JSON from outside (sm::ParseJson) and the serializer's guarantee of valid JSON text.

#include "statemachine/json_parse.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

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

// Boost.JSON 1.81 alone reads 8.888888888888889E55 (the text its serializer writes for 56 eights) one unit in the
// last place away from the nearest double (found by records_fuzzer).
TEST(JsonParseTest, NumbersAreReadAsTheNearestDouble) {
  for (const std::string& text : {std::string(56, '8'), std::string("8.888888888888889E55"), std::string("1e23"),
                                 std::string("2.2250738585072011e-308"), std::string("-9007199254740993.0"),
                                 std::string("0.30000000000000004")}) {
    absl::StatusOr<json::value> v = ParseJson("[" + text + "]", "");
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(v->as_array()[0].is_double()) << text;
    EXPECT_EQ(v->as_array()[0].as_double(), std::strtod(text.c_str(), nullptr)) << text;
  }
}

// Any finite double, written by Boost.JSON's serializer (what the records store) or as the shortest text, reads
// back as itself.
TEST(JsonParseTest, EveryWrittenDoubleReadsBackAsItself) {
  std::uint64_t state = 0x2545F4914F6CDD1Dull;
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    double d = 0;
    std::memcpy(&d, &state, sizeof(d));
    if (!std::isfinite(d)) {
      continue;
    }
    char shortest[64];
    const std::to_chars_result r = std::to_chars(shortest, shortest + sizeof(shortest), d);
    for (const std::string& text : {json::serialize(json::value(d)), std::string(shortest, r.ptr)}) {
      absl::StatusOr<json::value> back = ParseJson(text, "");
      ASSERT_TRUE(back.ok()) << text << ": " << back.status();
      const double got = back->is_double() ? back->as_double() : back->to_number<double>();
      ASSERT_EQ(got, d) << text;
    }
    ++checked;
  }
  EXPECT_GT(checked, 190000);
}

TEST(JsonParseTest, TextAfterTheValueIsRefusedWhereItBegins) {
  absl::StatusOr<json::value> v = ParseJson("{} x", "input");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("input: invalid JSON at line 1, column 4 (offset 3)"));
  EXPECT_TRUE(ParseJson("{}  \n", "").ok());
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

// Java's Double.toString by the general route (the shortest scientific digits std::to_chars gives, laid out
// as Java does): what JavaDoubleText wrote for every number before it had its fast path for short decimals.
std::string ReferenceJavaDouble(double d) {
  if (d == 0) {
    return std::signbit(d) ? "-0.0" : "0.0";
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, end);
  std::string sign;
  if (sci.front() == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') {
      digits.push_back(c);
    }
  }
  const int exponent = std::atoi(sci.c_str() + e_pos + 1);
  const double magnitude = std::fabs(d);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    if (exponent >= 0) {
      const std::size_t int_len = static_cast<std::size_t>(exponent) + 1;
      while (digits.size() < int_len) {
        digits.push_back('0');
      }
      return sign + digits.substr(0, int_len) + "." + (digits.size() > int_len ? digits.substr(int_len) : "0");
    }
    return sign + "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  }
  return sign + digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0") + "E" +
         std::to_string(exponent);
}

TEST(JsonTextTest, JavaDoubleTextOfKnownValues) {
  EXPECT_EQ(JavaDoubleText(12.5), "12.5");
  EXPECT_EQ(JavaDoubleText(-0.5), "-0.5");
  EXPECT_EQ(JavaDoubleText(1.23), "1.23");
  EXPECT_EQ(JavaDoubleText(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(JavaDoubleText(100.0), "100.0");
  EXPECT_EQ(JavaDoubleText(0.001), "0.001");
  EXPECT_EQ(JavaDoubleText(0.000999), "9.99E-4");
  EXPECT_EQ(JavaDoubleText(9999999.999999), "9999999.999999");
  EXPECT_EQ(JavaDoubleText(1e7), "1.0E7");
  EXPECT_EQ(JavaDoubleText(123456.1234567), "123456.1234567");
  EXPECT_EQ(JavaDoubleText(-0.0), "-0.0");
  EXPECT_EQ(JavaDoubleText(1e20), "1.0E20");
}

// The fast path for short decimals writes exactly what the general route writes, for numbers with up to 9
// decimals around and inside the plain range, for random bit patterns, and at the range's edges.
TEST(JsonTextTest, JavaDoubleTextEqualsTheGeneralRoute) {
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  std::vector<double> values = {1e-3, std::nextafter(1e-3, 0.0), std::nextafter(1e-3, 1.0), 1e7,
                                std::nextafter(1e7, 0.0), 9999999.5, 0.5, 1.0, 2.5e-3, 4503599627370496.0};
  for (int i = 0; i < 200000; ++i) {
    const int decimals = static_cast<int>(next() % 10);
    const long long whole = static_cast<long long>(next() % 100000000);
    const std::string text = std::to_string(whole / 1000) + "." + std::to_string(whole % 1000) +
                             std::string(static_cast<std::size_t>(decimals), '0') + std::to_string(next() % 1000);
    values.push_back(std::strtod(text.c_str(), nullptr) * ((next() & 1) != 0 ? -1 : 1));
    values.push_back(static_cast<double>(next() % 100000000) / std::pow(10.0, static_cast<int>(next() % 12)));
    double random_bits = 0;
    const std::uint64_t bits = next();
    std::memcpy(&random_bits, &bits, sizeof(random_bits));
    if (std::isfinite(random_bits)) {
      values.push_back(random_bits);
    }
  }
  for (double d : values) {
    ASSERT_EQ(JavaDoubleText(d), ReferenceJavaDouble(d)) << std::hexfloat << d;
  }
}

// Each ASCII byte is copied or escaped as Jackson does; the bytes that need no escape are copied in runs.
TEST(JsonTextTest, AppendJsonStringEscapesExactlyTheBytesThatNeedIt) {
  for (int c = 0; c < 0x80; ++c) {
    const std::string s = std::string("a") + static_cast<char>(c) + "b";
    std::string expected = "\"a";
    switch (c) {
      case '"': expected += "\\\""; break;
      case '\\': expected += "\\\\"; break;
      case '\n': expected += "\\n"; break;
      case '\r': expected += "\\r"; break;
      case '\t': expected += "\\t"; break;
      case '\b': expected += "\\b"; break;
      case '\f': expected += "\\f"; break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789ABCDEF";
          expected += std::string("\\u00") + kHex[c >> 4] + kHex[c & 0xF];
        } else {
          expected.push_back(static_cast<char>(c));
        }
    }
    expected += "b\"";
    std::string out;
    AppendJsonString(out, s);
    EXPECT_EQ(out, expected) << c;
  }
}

// Byte by byte, as AppendJsonString wrote before it checked eight bytes at a time: the escapes above, a
// well-formed UTF-8 sequence copied, any other byte of 0x80 and above replaced by U+FFFD.
std::string ReferenceJsonString(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Only the sequences the test draws: é (C3 A9), € (E2 82 AC), U+1F600 (F0 9F 98 80).
      std::size_t length = 0;
      for (std::string_view seq : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
        if (s.substr(i, seq.size()) == seq) {
          length = seq.size();
        }
      }
      if (length > 0) {
        out.append(s.substr(i, length));
        i += length - 1;
      } else {
        out += "\xEF\xBF\xBD";
      }
      continue;
    }
    std::string one;
    AppendJsonString(one, std::string(1, static_cast<char>(c)));  // one ASCII byte: checked by the test above
    out += one.substr(1, one.size() - 2);
  }
  out += "\"";
  return out;
}

TEST(JsonTextTest, AppendJsonStringEqualsByteByByteForAnyPlacement) {
  const std::vector<std::string> pieces = {"a", "bcdefgh", "\"", "\\", "\n", std::string(1, '\x01'), "\x1f",
                                           "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xFF", "\xC3",
                                           "\xE2\x82", " ", "~", "0123456789abcdef"};
  std::uint64_t state = 12345;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const int count = static_cast<int>((state >> 33) % 12);
    for (int k = 0; k < count; ++k) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      s += pieces[(state >> 33) % pieces.size()];
    }
    std::string out = "prefix";
    AppendJsonString(out, s);
    ASSERT_EQ(out, "prefix" + ReferenceJsonString(s)) << testing::PrintToString(s);
  }
}

// ToAwsJson writes into a buffer the thread keeps: each result is its own, a large document does not stay in
// the buffer, and the next small one is written whole.
TEST(JsonTextTest, ToAwsJsonResultsAreIndependentOfItsBuffer) {
  json::array big;
  for (int i = 0; i < 20000; ++i) {
    big.emplace_back(json::object{{"i", i}, {"x", 0.25}});
  }
  const std::string first = ToAwsJson(json::value{{"a", 1}});
  const std::string large = ToAwsJson(big);
  const std::string second = ToAwsJson(json::value{{"b", json::array{1.5, "s"}}});
  EXPECT_EQ(first, R"({"a":1})");
  EXPECT_GT(large.size(), 64u * 1024);
  EXPECT_EQ(large.substr(0, 23), R"([{"i":0,"x":0.25},{"i":)");
  EXPECT_EQ(json::parse(large), json::value(big));
  EXPECT_EQ(second, R"({"b":[1.5,"s"]})");
}

TEST(JsonParseTest, LocateOffsetCountsLinesAndColumns) {
  const TextLocation at = LocateOffset("ab\ncd", 4);
  EXPECT_EQ(at.line, 2u);
  EXPECT_EQ(at.column, 2u);
}

}  // namespace
}  // namespace stepflow::sm
