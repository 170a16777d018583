#pragma once
// JSONata 2.0.6's numeric formatting functions as pure functions, matching jsonata-js (which follows the
// XPath/XQuery 3.1 F&O rules for fn:format-number and fn:format-integer, with jsonata-js's own quirks):
// $formatNumber, $formatBase, $formatInteger and $parseInteger. No locale, clock or I/O; thread-safe.
//
// Failures are InvalidArgument whose message starts with JSONata's error code and ": " (e.g. "D3080: The
// picture string must only contain a maximum of two sub-pictures"). Text is handled as Unicode code points
// (jsonata-js works on UTF-16 units; the two differ only for characters outside the Basic Multilingual
// Plane in pictures). A picture or argument that would produce more than 1 Mi characters fails with
// "U1001: ..." instead of allocating without bound. Callers handle JSONata's `undefined` arguments before
// calling (JSONata then returns undefined without calling these).

#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "absl/status/statusor.h"

namespace stepflow::sm::jsonata {

// The decimal format of $formatNumber's third argument; defaults are JSONata's (F&O's default format).
// Each property is a UTF-8 string; jsonata-js compares most of them as single characters.
struct DecimalFormat {
  std::string decimal_separator = ".";
  std::string grouping_separator = ",";
  std::string exponent_separator = "e";
  std::string infinity = "Infinity";
  std::string minus_sign = "-";
  std::string nan = "NaN";
  std::string percent = "%";
  std::string per_mille = "\u2030";
  std::string zero_digit = "0";
  std::string digit = "#";
  std::string pattern_separator = ";";
};

// JSONata's defaults overridden by the options object's entries ("decimal-separator", "grouping-separator",
// "exponent-separator", "infinity", "minus-sign", "NaN", "percent", "per-mille", "zero-digit", "digit",
// "pattern-separator"); other keys are ignored, as jsonata-js ignores them. A property that is not a
// string, or an empty "zero-digit", gives "T0410: ..." (jsonata-js fails there with a JavaScript error).
absl::StatusOr<DecimalFormat> DecimalFormatFromOptions(const boost::json::object& options);

// $formatNumber(value, picture, options). Errors D3080..D3093 for invalid pictures, as jsonata-js.
// Zero and negative values with an exponent picture format as later jsonata-js releases do (2.0.6 loops
// forever there); NaN and infinities (which JSONata values never are) print as the format's NaN and
// infinity strings, per F&O. More than 100 fractional digits (a RangeError in jsonata-js) gives U1001.
absl::StatusOr<std::string> FormatNumber(double value, std::string_view picture, const DecimalFormat& format);

// $formatBase(value, radix): `value` rounded (half to even) written in base round(radix), digits 0-9a-z
// (the caller passes 10 when JSONata's radix argument is absent).
// D3100 when the radix is not in [2, 36]. Digits below a huge value's precision print as JavaScript
// prints them.
absl::StatusOr<std::string> FormatBase(double value, double radix);

// $formatInteger(value, picture): floor(value) per an F&O integer picture: decimal digit patterns of any
// Unicode decimal digit family with grouping separators, "a"/"A" letters, "i"/"I" roman numerals,
// "w"/"W"/"Ww" English words, and the ordinal modifier ";o". D3130 for an unsupported numbering sequence,
// D3131 for mixed digit families; D3001 for a non-finite value.
absl::StatusOr<std::string> FormatInteger(double value, std::string_view picture);

// $parseInteger(text, picture): the inverse of FormatInteger as jsonata-js implements it (the text is not
// checked against the picture). nullopt where jsonata-js computes NaN (text that is no number in the
// picture's numbering). D3130 / D3131 as FormatInteger; D1001 for a number too large for a double.
absl::StatusOr<std::optional<double>> ParseInteger(std::string_view text, std::string_view picture);

}  // namespace stepflow::sm::jsonata
