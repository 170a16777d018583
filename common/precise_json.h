#pragma once
// JSON text to a boost::json::value with every number that is not an integer read as its nearest double.
//
// Boost.JSON 1.81 converts a number's digits to a double with a multiplication by a power of ten that is not
// always correctly rounded (e.g. 56 eights become 8.888888888888889E55, and that text reads back as another
// double), so a value written and read again could move by a unit in the last place. Every parse of JSON that
// carries someone's data goes through here (the interpreter's definitions, literals and documents, the REST
// layer, history details, the C++ worker SDK's task inputs, the CLI), so that the same text is the same number
// wherever it is read, and a value read and written back is the text it was (as Jackson's in AWS).
//
// Thread-safety: the functions are thread-safe.

#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>

namespace stepflow::common {

// What text after the value is: boost::json::error::extra_data (as boost::json::parse), or what
// boost::json::stream_parser::finish makes of it ("incomplete JSON", with `consumed` where that text begins).
enum class TextAfterValue { kExtraData, kIncomplete };

// As boost::json::parse(text, ec, {}, options), except for the numbers (std::from_chars, correctly rounded; a
// number outside the range of a double is Boost's own infinity, an underflow zero). nullopt with `ec` set on an
// error; `consumed` (when given) is set to the bytes read before the error or the end of the value.
std::optional<boost::json::value> ParsePreciseJson(std::string_view text, boost::system::error_code& ec,
                                                   const boost::json::parse_options& options = {},
                                                   std::size_t* consumed = nullptr,
                                                   TextAfterValue after = TextAfterValue::kExtraData);

}  // namespace stepflow::common
