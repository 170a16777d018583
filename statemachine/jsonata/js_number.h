#pragma once
// JavaScript's number-to-text conversions, as JSONata (written in JavaScript) prints numbers. Pure
// functions: no locale, no allocation beyond the returned string. Thread-safe.

#include <string>

namespace stepflow::sm::jsonata {

// Number.prototype.toString() (ECMA-262 Number::toString, radix 10): the shortest digits that read back as
// `d`; plain notation when 1e-7 <= |d| < 1e21 ("0.000001", "100000000000000000000"), otherwise exponent
// form ("1e+21", "1.5e-7"). -0 prints "0"; NaN "NaN"; infinities "Infinity" / "-Infinity".
std::string JsNumberToString(double d);

// Number.prototype.toPrecision(precision): `d` rounded to `precision` significant digits (exact halves of
// the binary value round away from zero), exponent form when the exponent is < -6 or >= precision.
// `precision` is clamped to [1, 100]; non-finite values print as JsNumberToString does.
std::string JsToPrecision(double d, int precision);

}  // namespace stepflow::sm::jsonata
