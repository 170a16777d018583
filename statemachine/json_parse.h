#pragma once
// The one parser for JSON that comes from outside the server's own records: execution input, task
// output, redrive input, definitions, mock configurations, States.StringToJson arguments.
//
// Boost.JSON turns a number outside the double range (`1e400`, a 400-digit integer) into an infinity,
// which has no JSON text: written back it becomes `Infinity` (Boost) or `i.nfE0`, and the record can no
// longer be read. This parser refuses such numbers instead, naming where they are. Numbers that only lose
// precision (`1e-400` -> 0, 20-digit integers -> double) are accepted, as Jackson does in AWS. Every other
// number becomes the nearest double (std::from_chars; Boost.JSON 1.81's own conversion is not always correctly
// rounded), so a double written by Boost.JSON's serializer reads back as itself.
//
// Thread-safety: stateless functions.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "absl/status/statusor.h"

namespace stepflow::sm {

// Boost.JSON's default nesting limit, which executions have always been parsed with.
inline constexpr std::size_t kDefaultJsonParseDepth = 32;

struct JsonParseOptions {
  // Deepest nesting of arrays and objects; deeper text is refused.
  // Default: 32 (Boost.JSON's default; AWS refuses deeper documents too).
  std::size_t max_depth = kDefaultJsonParseDepth;
  // Refuse an object that names the same key twice (e.g. definitions), instead of keeping the last value.
  // Default: false (AWS's Jackson keeps the last value of execution input and task output).
  bool refuse_duplicate_keys = false;
};

// Where in a text a byte offset lies: line and column count from 1, columns in bytes.
struct TextLocation {
  std::size_t offset = 0;
  std::size_t line = 1;
  std::size_t column = 1;
};
TextLocation LocateOffset(std::string_view text, std::size_t offset);

// Parses `text` as one JSON value. On failure returns InvalidArgument whose message starts with `what: `
// (nothing when `what` is empty) and names the line, column and byte offset of the problem: a syntax error, nesting deeper than
// `options.max_depth`, a number outside the double range ("number 1e400 at line 1, column 6 (offset 5)
// is outside the range of a double"), or with refuse_duplicate_keys a repeated key (named with its
// JSON pointer).
absl::StatusOr<boost::json::value> ParseJson(std::string_view text, std::string_view what,
                                             const JsonParseOptions& options = {});

// The first object key that `text` (well-formed JSON) repeats within one object: its JSON pointer
// (RFC 6901, e.g. "/States/A/Type") and the byte offset of the repeated key. nullopt when none.
struct DuplicateKey {
  std::string pointer;
  std::size_t offset = 0;
};
std::optional<DuplicateKey> FindDuplicateKey(std::string_view text);

// True when every number in `v` is finite (i.e. `v` can be written as JSON text).
bool AllNumbersFinite(const boost::json::value& v);

// For text that parsed to a value holding a non-finite number: the location of the first number token
// whose value is outside the double range, and that token. nullopt-like (offset == npos) when none.
struct NumberToken {
  TextLocation where;
  std::string_view text;
  bool found = false;
};
NumberToken FindOutOfRangeNumber(std::string_view text);

}  // namespace stepflow::sm
