#pragma once
// UTF-8 <-> UTF-16 helpers: JSONata counts string lengths and offsets in UTF-16 code units, as JavaScript
// does; strings are held as UTF-8 (lone surrogates as WTF-8).

#include <cstdint>
#include <string>
#include <string_view>

namespace stepflow::sm::jsonata {

void AppendUtf8(std::string& out, std::uint32_t code_point);
// The UTF-16 code units of `utf8` (invalid bytes become U+FFFD).
std::u16string ToUtf16(std::string_view utf8);
// UTF-8 (WTF-8 for lone surrogates) of `utf16`.
std::string FromUtf16(std::u16string_view utf16);
// Number of UTF-16 code units in `utf8`.
std::int64_t Utf16Length(std::string_view utf8);

// JavaScript's String.prototype.toUpperCase / toLowerCase (Unicode's full default case mapping, no locale):
// "straße" -> "STRASSE", "ΟΔΟΣ" -> "οδος" with a final ς. Bytes that are not UTF-8 are kept as they are.
// Implemented in case_mapping.cc (which says where the mappings come from).
std::string JsToUpperCase(std::string_view utf8);
std::string JsToLowerCase(std::string_view utf8);

}  // namespace stepflow::sm::jsonata
