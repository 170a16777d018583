#include "statemachine/jsonata/js_number.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace stepflow::sm::jsonata {
namespace {

TEST(JsNumberToString, IntegersAndFractions) {
  EXPECT_EQ(JsNumberToString(5), "5");
  EXPECT_EQ(JsNumberToString(-42), "-42");
  EXPECT_EQ(JsNumberToString(22.0 / 7), "3.142857142857143");
  EXPECT_EQ(JsNumberToString(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(JsNumberToString(78.8 / 2), "39.4");
  EXPECT_EQ(JsNumberToString(5890840712243076.0), "5890840712243076");
  EXPECT_EQ(JsNumberToString(123.456), "123.456");
}

TEST(JsNumberToString, PlainRangeBoundaries) {
  EXPECT_EQ(JsNumberToString(1e-6), "0.000001");
  EXPECT_EQ(JsNumberToString(1.5e-6), "0.0000015");
  EXPECT_EQ(JsNumberToString(1e-7), "1e-7");
  EXPECT_EQ(JsNumberToString(1.5e-7), "1.5e-7");
  EXPECT_EQ(JsNumberToString(1e20), "100000000000000000000");
  EXPECT_EQ(JsNumberToString(1e21), "1e+21");
  EXPECT_EQ(JsNumberToString(1.25e21), "1.25e+21");
  EXPECT_EQ(JsNumberToString(-1e100), "-1e+100");
  EXPECT_EQ(JsNumberToString(1e-100), "1e-100");
}

TEST(JsNumberToString, ExtremesAndSpecials) {
  EXPECT_EQ(JsNumberToString(0.0), "0");
  EXPECT_EQ(JsNumberToString(-0.0), "0");
  EXPECT_EQ(JsNumberToString(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(JsNumberToString(std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(JsNumberToString(-std::numeric_limits<double>::infinity()), "-Infinity");
  EXPECT_EQ(JsNumberToString(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(JsNumberToString(std::numeric_limits<double>::denorm_min()), "5e-324");
}

TEST(JsonataNumberToString, FifteenSignificantDigits) {
  EXPECT_EQ(JsonataNumberToString(22.0 / 7), "3.14285714285714");
  EXPECT_EQ(JsonataNumberToString(0.1 + 0.2), "0.3");
  EXPECT_EQ(JsonataNumberToString(5890840712243076.0), "5890840712243080");
  EXPECT_EQ(JsonataNumberToString(1e21), "1e+21");
  EXPECT_EQ(JsonataNumberToString(1.0 / 3 * 1e-7), "3.33333333333333e-8");
  EXPECT_EQ(JsonataNumberToString(-0.0), "0");
  EXPECT_EQ(JsonataNumberToString(5), "5");
}

TEST(JsToPrecision, RoundsToSignificantDigits) {
  EXPECT_EQ(JsToPrecision(123.456, 4), "123.5");
  EXPECT_EQ(JsToPrecision(0.000123, 2), "0.00012");
  EXPECT_EQ(JsToPrecision(123456, 2), "1.2e+5");
  EXPECT_EQ(JsToPrecision(1, 3), "1.00");
  EXPECT_EQ(JsToPrecision(0, 3), "0.00");
  EXPECT_EQ(JsToPrecision(-0.0, 2), "0.0");
  EXPECT_EQ(JsToPrecision(-1.5, 1), "-2");
  EXPECT_EQ(JsToPrecision(1e-7, 1), "1e-7");
  EXPECT_EQ(JsToPrecision(9.99, 2), "10");
  EXPECT_EQ(JsToPrecision(99.99, 3), "100");
  EXPECT_EQ(JsToPrecision(999.9, 3), "1.00e+3");
}

TEST(JsToPrecision, HalvesRoundUpOnTheExactBinaryValue) {
  EXPECT_EQ(JsToPrecision(2.5, 1), "3");   // exactly representable half: up, not to even
  EXPECT_EQ(JsToPrecision(0.125, 2), "0.13");
  EXPECT_EQ(JsToPrecision(1.005, 3), "1.00");  // 1.005 is 1.00499999999999989...
  EXPECT_EQ(JsToPrecision(0.1, 20), "0.10000000000000000555");
}

TEST(JsToPrecision, ClampsPrecisionAndPassesNonFinite) {
  EXPECT_EQ(JsToPrecision(1.5, 0), "2");
  EXPECT_EQ(JsToPrecision(1, 1000).size(), 101u);  // "1." and 99 zeros: precision clamped to 100
  EXPECT_EQ(JsToPrecision(std::numeric_limits<double>::quiet_NaN(), 5), "NaN");
  EXPECT_EQ(JsToPrecision(-std::numeric_limits<double>::infinity(), 5), "-Infinity");
  EXPECT_EQ(JsToPrecision(std::numeric_limits<double>::max(), 3), "1.80e+308");
}

}  // namespace
}  // namespace stepflow::sm::jsonata
