#pragma once
// Internal to the JSONata formatting functions: text helpers (code points, case), JavaScript's parseInt, the
// error constructor and the bounds every formatter shares.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace stepflow::sm::jsonata::internal {

// The most characters (code points) one formatting call may produce or pad to. A picture or width
// modifier asking for more fails with kLimitCode instead of allocating without bound.
inline constexpr std::size_t kMaxFormattedChars = 1 << 20;
// The error code for a broken bound: JSONata's code for a runaway evaluation.
inline constexpr std::string_view kLimitCode = "U1001";

// InvalidArgument "CODE: message", the form every JSONata error takes across this module's boundary.
absl::Status JsonataError(std::string_view code, std::string_view message);
// The kLimitCode error for `what` asking for more than kMaxFormattedChars characters.
absl::Status TooLarge(std::string_view what);

// UTF-8 to code points; an invalid byte becomes U+FFFD.
std::u32string DecodeUtf8(std::string_view text);
void AppendUtf8(std::string& out, char32_t code_point);
std::string EncodeUtf8(std::u32string_view text);

// ASCII case mapping (the names and words this module prints and reads are ASCII).
std::string AsciiLower(std::string_view text);
std::string AsciiUpper(std::string_view text);
bool IsJsWhitespace(char32_t c);

// JavaScript's parseInt(text, 10): optional leading white space and sign, then the longest run of ASCII
// digits; nullopt (NaN) when there is no digit. Very long digit runs give infinity, as in JavaScript.
std::optional<double> JsParseInt(std::string_view text);

}  // namespace stepflow::sm::jsonata::internal
