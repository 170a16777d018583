#pragma once
// JavaScript's number-to-text conversions, as JSONata (written in JavaScript) prints numbers. Pure
// functions: no locale, no allocation beyond the returned string. Thread-safe.

#include <string>

namespace stepflow::sm::jsonata {

// Number.prototype.toString() (ECMA-262 Number::toString, radix 10): the shortest digits that read back as
// `d`; plain notation when 1e-7 <= |d| < 1e21 ("0.000001", "100000000000000000000"), otherwise exponent
// form ("1e+21", "1.5e-7"). -0 prints "0"; NaN "NaN"; infinities "Infinity" / "-Infinity".
std::string JsNumberToString(double d);

// How JSONata 2.0.6 turns a number into text in $string (and so in `&` concatenation and inside the JSON
// text $string makes of objects and arrays): JSON.stringify(Number(d.toPrecision(15))), i.e. 15
// significant digits, then JsNumberToString ($string(22/7) is "3.14285714285714", 5890840712243076 is
// "5890840712243080"). Non-finite values print as JsNumberToString does (JSONata rejects them first).
std::string JsonataNumberToString(double d);

// Number.prototype.toPrecision(precision): `d` rounded to `precision` significant digits (exact halves of
// the binary value round away from zero), exponent form when the exponent is < -6 or >= precision.
// `precision` is clamped to [1, 100]; non-finite values print as JsNumberToString does.
std::string JsToPrecision(double d, int precision);

}  // namespace stepflow::sm::jsonata
