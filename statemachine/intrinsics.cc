#include "statemachine/intrinsics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/precise_json.h"
#include "statemachine/internal/hash.h"
#include "statemachine/json_parse.h"
#include "statemachine/json_path.h"
#include "statemachine/json_text.h"
#include "statemachine/json_value.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;

// Calls may nest this deep, counting the outermost call as 1.
constexpr int kMaxNestingDepth = 10;
// States.ArrayRange refuses to build arrays longer than this.
constexpr int64_t kMaxArrayRangeItems = 1000;
// Base64Encode/Base64Decode/Hash refuse inputs longer than this (in Java chars, i.e. UTF-16 units).
constexpr size_t kMaxEncodedInputChars = 10000;
constexpr char kPrefix[] = "States.";

// ---------------------------------------------------------------------------------------------------
// Parsed form.

enum class Fn {
  kFormat,
  kStringToJson,
  kJsonToString,
  kArray,
  kArrayPartition,
  kArrayContains,
  kArrayRange,
  kArrayGetItem,
  kArrayLength,
  kArrayUnique,
  kBase64Encode,
  kBase64Decode,
  kHash,
  kJsonMerge,
  kMathRandom,
  kMathAdd,
  kStringSplit,
  kUuid,
};

struct FunctionSpec {
  Fn fn;
  std::string_view name;  // Without the "States." prefix.
  int min_args;
  int max_args;  // -1: unbounded.
};

constexpr FunctionSpec kFunctions[] = {
    {Fn::kFormat, "Format", 1, -1},
    {Fn::kStringToJson, "StringToJson", 1, 1},
    {Fn::kJsonToString, "JsonToString", 1, 1},
    {Fn::kArray, "Array", 0, -1},
    {Fn::kArrayPartition, "ArrayPartition", 2, 2},
    {Fn::kArrayContains, "ArrayContains", 2, 2},
    {Fn::kArrayRange, "ArrayRange", 3, 3},
    {Fn::kArrayGetItem, "ArrayGetItem", 2, 2},
    {Fn::kArrayLength, "ArrayLength", 1, 1},
    {Fn::kArrayUnique, "ArrayUnique", 1, 1},
    {Fn::kBase64Encode, "Base64Encode", 1, 1},
    {Fn::kBase64Decode, "Base64Decode", 1, 1},
    {Fn::kHash, "Hash", 2, 2},
    {Fn::kJsonMerge, "JsonMerge", 3, 3},
    {Fn::kMathRandom, "MathRandom", 2, 3},
    {Fn::kMathAdd, "MathAdd", 2, 2},
    {Fn::kStringSplit, "StringSplit", 2, 2},
    {Fn::kUuid, "UUID", 0, 0},
};

const FunctionSpec* FindFunction(std::string_view name) {
  for (const FunctionSpec& spec : kFunctions) {
    if (spec.name == name) {
      return &spec;
    }
  }
  return nullptr;
}

}  // namespace

// One argument or call of the parsed tree.
struct IntrinsicNode {
  enum class Kind { kLiteral, kPath, kCall };
  Kind kind = Kind::kLiteral;
  json::value literal;       // kLiteral: the decoded value.
  bool string_literal = false;
  std::string raw;           // kLiteral strings: the text between the quotes, escapes intact.
  std::shared_ptr<const JsonPath> path;  // kPath: compiled when the call is parsed.
  const FunctionSpec* spec = nullptr;  // kCall.
  std::vector<IntrinsicNode> args;     // kCall.
};

struct IntrinsicCall::Impl {
  std::string text;
  IntrinsicNode root;
};

namespace {

using Node = IntrinsicNode;

// ---------------------------------------------------------------------------------------------------
// Parser.

// absl here predates std::string_view interop in StrCat.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  // Parses the whole text as one call, allowing surrounding whitespace only.
  absl::StatusOr<Node> ParseTop() {
    SkipSpace();
    absl::StatusOr<Node> call = ParseCall(1);
    if (!call.ok()) {
      return call.status();
    }
    SkipSpace();
    if (pos_ != text_.size()) {
      return Error(absl::StrCat("unexpected text after the closing ')' at offset ", pos_));
    }
    return call;
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid intrinsic function '", Av(text_), "': ", Av(what)));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) {
      ++pos_;
    }
  }

  bool StartsWith(std::string_view s) const { return text_.substr(pos_).substr(0, s.size()) == s; }

  // REQUIRES: positioned at "States.".
  absl::StatusOr<Node> ParseCall(int depth) {
    if (depth > kMaxNestingDepth) {
      return Error(absl::StrCat("intrinsic functions nest deeper than ", kMaxNestingDepth, " levels"));
    }
    if (!StartsWith(kPrefix)) {
      return Error(absl::StrCat("expected 'States.' at offset ", pos_));
    }
    pos_ += sizeof(kPrefix) - 1;
    const size_t name_start = pos_;
    while (pos_ < text_.size() && IsIdentChar(text_[pos_])) {
      ++pos_;
    }
    const std::string_view name = text_.substr(name_start, pos_ - name_start);
    const FunctionSpec* spec = FindFunction(name);
    if (spec == nullptr) {
      return Error(absl::StrCat("unknown function 'States.", Av(name), "'"));
    }
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '(') {
      return Error(absl::StrCat("expected '(' after 'States.", Av(name), "' at offset ", pos_));
    }
    ++pos_;
    Node node;
    node.kind = Node::Kind::kCall;
    node.spec = spec;
    absl::Status args = ParseArgs(depth, node.args);
    if (!args.ok()) {
      return args;
    }
    const int count = static_cast<int>(node.args.size());
    if (count < spec->min_args || (spec->max_args >= 0 && count > spec->max_args)) {
      return Error(absl::StrCat("States.", Av(spec->name), " takes ", ArityText(*spec), " but got ", count));
    }
    return node;
  }

  static std::string ArityText(const FunctionSpec& spec) {
    if (spec.max_args < 0) {
      return absl::StrCat("at least ", spec.min_args, " argument(s)");
    }
    if (spec.min_args == spec.max_args) {
      return absl::StrCat(spec.min_args, " argument(s)");
    }
    return absl::StrCat(spec.min_args, " to ", spec.max_args, " arguments");
  }

  // Parses `arg, arg, ...)`, consuming the closing parenthesis.
  absl::Status ParseArgs(int depth, std::vector<Node>& out) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ')') {
      ++pos_;
      return absl::OkStatus();
    }
    while (true) {
      SkipSpace();
      absl::StatusOr<Node> arg = ParseArg(depth);
      if (!arg.ok()) {
        return arg.status();
      }
      out.push_back(*std::move(arg));
      SkipSpace();
      if (pos_ >= text_.size()) {
        return Error("unbalanced parentheses: missing ')'");
      }
      if (text_[pos_] == ')') {
        ++pos_;
        return absl::OkStatus();
      }
      if (text_[pos_] != ',') {
        return Error(absl::StrCat("expected ',' or ')' at offset ", pos_));
      }
      ++pos_;
    }
  }

  absl::StatusOr<Node> ParseArg(int depth) {
    if (pos_ >= text_.size()) {
      return Error("unbalanced parentheses: missing ')'");
    }
    const char c = text_[pos_];
    if (c == '\'') {
      return ParseString();
    }
    if (c == '$') {
      return ParsePath();
    }
    if (StartsWith(kPrefix)) {
      return ParseCall(depth + 1);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      return ParseNumber();
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (StartsWith(word) &&
          (pos_ + word.size() >= text_.size() || !IsIdentChar(text_[pos_ + word.size()]))) {
        pos_ += word.size();
        Node node;
        node.literal = word == "null" ? json::value(nullptr) : json::value(word == "true");
        return node;
      }
    }
    return Error(absl::StrCat("invalid argument at offset ", pos_));
  }

  absl::StatusOr<Node> ParseString() {
    const size_t start = pos_;
    ++pos_;  // Opening quote.
    std::string decoded;
    while (pos_ < text_.size() && text_[pos_] != '\'') {
      if (text_[pos_] == '\\') {
        if (pos_ + 1 >= text_.size()) {
          break;
        }
        const char escaped = text_[pos_ + 1];
        if (escaped != '\'' && escaped != '{' && escaped != '}' && escaped != '\\') {
          return Error(absl::StrCat("invalid escape '\\", std::string(1, escaped), "' at offset ", pos_));
        }
        decoded.push_back(escaped);
        pos_ += 2;
        continue;
      }
      decoded.push_back(text_[pos_]);
      ++pos_;
    }
    if (pos_ >= text_.size()) {
      return Error(absl::StrCat("unterminated string literal starting at offset ", start));
    }
    Node node;
    node.string_literal = true;
    node.raw = std::string(text_.substr(start + 1, pos_ - start - 1));
    node.literal = json::value(json::string(decoded));
    ++pos_;  // Closing quote.
    return node;
  }

  absl::StatusOr<Node> ParseNumber() {
    const size_t start = pos_;
    while (pos_ < text_.size() && (std::string_view("+-.eE0123456789").find(text_[pos_]) !=
                                   std::string_view::npos)) {
      ++pos_;
    }
    const std::string_view token = text_.substr(start, pos_ - start);
    boost::system::error_code ec;
    const json::value number = common::ParsePreciseJson(token, ec).value_or(json::value());
    if (ec || !number.is_number()) {
      return Error(absl::StrCat("invalid number '", Av(token), "' at offset ", start));
    }
    if (!AllNumbersFinite(number)) {
      return Error(absl::StrCat("number '", Av(token), "' at offset ", start, " is outside the range of a double"));
    }
    Node node;
    node.literal = std::move(number);
    return node;
  }

  // A path runs to the next ',' or ')' outside brackets, parentheses and quotes.
  absl::StatusOr<Node> ParsePath() {
    const size_t start = pos_;
    int depth = 0;
    char quote = 0;
    for (; pos_ < text_.size(); ++pos_) {
      const char c = text_[pos_];
      if (quote != 0) {
        if (c == '\\') {
          ++pos_;
        } else if (c == quote) {
          quote = 0;
        }
        continue;
      }
      if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '[' || c == '(') {
        ++depth;
      } else if ((c == ']' || c == ')') && depth > 0) {
        --depth;
      } else if (depth == 0 && (c == ',' || c == ')')) {
        break;
      }
    }
    std::string_view path = text_.substr(start, pos_ - start);
    while (!path.empty() && IsSpace(path.back())) {
      path.remove_suffix(1);
    }
    absl::StatusOr<JsonPath> compiled = CompilePath(path);
    if (!compiled.ok()) {
      return compiled.status();
    }
    Node node;
    node.kind = Node::Kind::kPath;
    node.path = std::make_shared<const JsonPath>(*std::move(compiled));
    return node;
  }

  absl::StatusOr<JsonPath> CompilePath(std::string_view path) const {
    if (path.empty() || path.front() != '$') {
      return Error(absl::StrCat("invalid path '", Av(path), "'"));
    }
    absl::StatusOr<JsonPath> parsed = JsonPath::Parse(path);
    if (!parsed.ok()) {
      return Error(std::string(parsed.status().message()));
    }
    return parsed;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// Value helpers.

Failure InvalidArguments(const FunctionSpec& spec) {
  return Failure{errors::kIntrinsicFailure, absl::StrCat("Invalid arguments in States.", Av(spec.name))};
}


// How States.Format prints an argument: strings raw, containers the way Java's Map/List toString
// does ({k=v, k2=v2}, [a, b]), other scalars as JSON.
void AppendFormatText(std::string& out, const json::value& v) {
  if (v.is_string()) {
    out += v.get_string();
  } else if (v.is_array()) {
    out.push_back('[');
    bool first = true;
    for (const json::value& item : v.get_array()) {
      if (!first) {
        out += ", ";
      }
      first = false;
      AppendFormatText(out, item);
    }
    out.push_back(']');
  } else if (v.is_object()) {
    out.push_back('{');
    bool first = true;
    for (const auto& member : v.get_object()) {
      if (!first) {
        out += ", ";
      }
      first = false;
      out += member.key();
      out.push_back('=');
      AppendFormatText(out, member.value());
    }
    out.push_back('}');
  } else {
    AppendAwsJson(out, v);
  }
}

// Integer arguments of ArrayRange, ArrayGetItem, ArrayPartition and MathRandom go through Java's (long)
// cast, TruncateToInt64 (json_value.h), as AWS converts them.

// Java's Math.round: floor(x + 0.5), so halves round toward positive infinity. AWS rounds MathAdd
// operands this way (1.5 -> 2, -1.5 -> -1, -2.5 -> -2).
std::optional<int64_t> JavaRoundedInteger(const json::value& v) {
  if (!v.is_double()) {
    return TruncateToInt64(v);
  }
  return TruncateToInt64(json::value(std::floor(v.get_double() + 0.5)));
}

// The length of `s` in UTF-16 code units, which is what Java's String.length() counts.
size_t Utf16Length(std::string_view s) {
  size_t units = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) {
      units += (c >= 0xF0) ? 2 : 1;
    }
  }
  return units;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    if (c < 0x80) {
      len = 1;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      len = 4;
    } else {
      return false;
    }
    if (i + len > s.size()) {
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    i += len;
  }
  return true;
}

// Splits UTF-8 text into code points (each as its byte sequence).
std::vector<std::string_view> CodePoints(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 1;
    while (i + len < s.size() && (static_cast<unsigned char>(s[i + len]) & 0xC0) == 0x80) {
      ++len;
    }
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                       uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out.push_back(kBase64Alphabet[(n >> 18) & 63]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out.push_back(kBase64Alphabet[(n >> 6) & 63]);
    out.push_back(kBase64Alphabet[n & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) {
      n |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    }
    out.push_back(kBase64Alphabet[(n >> 18) & 63]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// Decodes standard Base64 (RFC 4648). Padding is optional, as with Java's basic decoder; any other
// character, or a dangling single character, makes it fail.
std::optional<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const char* found = std::char_traits<char>::find(kBase64Alphabet, 64, c);
    if (found == nullptr) {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(found - kBase64Alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

// java.util.Random: a seeded, portable PRNG. Used for seeded States.MathRandom so that the result is
// a pure function of the seed (and, AWS running on the JVM, plausibly the same one AWS returns).
class JavaRandom {
 public:
  explicit JavaRandom(int64_t seed)
      : seed_((static_cast<uint64_t>(seed) ^ kMultiplier) & kMask) {}

  // Uniform in [0, bound). REQUIRES: bound > 0.
  int32_t NextInt(int32_t bound) {
    if ((bound & -bound) == bound) {
      return static_cast<int32_t>((static_cast<int64_t>(bound) * Next(31)) >> 31);
    }
    int32_t bits = 0;
    int32_t val = 0;
    do {
      bits = Next(31);
      val = bits % bound;
    } while (bits - val + (bound - 1) < 0);
    return val;
  }

  // Uniform in [0, 1).
  double NextDouble() {
    const int64_t hi = static_cast<int64_t>(Next(26)) << 27;
    return static_cast<double>(hi + Next(27)) * 0x1.0p-53;
  }

 private:
  static constexpr uint64_t kMultiplier = 0x5DEECE66DULL;
  static constexpr uint64_t kMask = (1ULL << 48) - 1;

  int32_t Next(int bits) {
    seed_ = (seed_ * kMultiplier + 0xBULL) & kMask;
    return static_cast<int32_t>(static_cast<int64_t>(seed_ >> (48 - bits)));
  }

  uint64_t seed_;
};

// ---------------------------------------------------------------------------------------------------
// The functions. Each takes its evaluated arguments (arity already checked by the parser).

using Args = std::vector<json::value>;

// Renders a Format template. `escapes` is true for a string literal's raw text, where escaped
// braces, quotes and backslashes stand for the plain character; `{}` is a placeholder; any other brace is an error.
Result<json::value> RenderFormat(const FunctionSpec& spec, std::string_view tmpl, bool escapes,
                                 const Args& args) {
  std::string out;
  size_t next_arg = 1;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (escapes && c == '\\' && i + 1 < tmpl.size()) {
      out.push_back(tmpl[++i]);
    } else if (c == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
      if (next_arg >= args.size()) {
        return InvalidArguments(spec);
      }
      AppendFormatText(out, args[next_arg++]);
      ++i;
    } else if (c == '{' || c == '}') {
      return InvalidArguments(spec);
    } else {
      out.push_back(c);
    }
  }
  if (next_arg != args.size()) {
    return InvalidArguments(spec);
  }
  return json::value(json::string(out));
}

Result<json::value> EvalFormat(const FunctionSpec& spec, const Node& node, const Args& args) {
  const Node& first = node.args.front();
  if (first.kind == Node::Kind::kLiteral && first.string_literal) {
    return RenderFormat(spec, first.raw, /*escapes=*/true, args);
  }
  if (!args.front().is_string()) {
    return InvalidArguments(spec);
  }
  return RenderFormat(spec, args.front().get_string(), /*escapes=*/false, args);
}

Result<json::value> EvalStringToJson(const FunctionSpec& spec, const Args& args) {
  if (!args[0].is_string()) {
    return InvalidArguments(spec);
  }
  std::string_view text = args[0].get_string();
  while (!text.empty() && IsSpace(text.front())) {
    text.remove_prefix(1);
  }
  if (text.empty() || std::all_of(text.begin(), text.end(), IsSpace)) {
    return json::value(nullptr);
  }
  // A number outside the double range has no JSON text: refused like any other unparsable text.
  absl::StatusOr<json::value> parsed = ParseJson(text, "");
  if (!parsed.ok()) {
    return InvalidArguments(spec);
  }
  return *std::move(parsed);
}

Result<json::value> EvalArrayPartition(const FunctionSpec& spec, const Args& args) {
  const std::optional<int64_t> size = TruncateToInt64(args[1]);
  if (!args[0].is_array() || !size.has_value() || *size <= 0) {
    return InvalidArguments(spec);
  }
  const json::array& items = args[0].get_array();
  json::array out;
  for (size_t start = 0; start < items.size(); start += static_cast<size_t>(*size)) {
    json::array chunk;
    for (size_t i = start; i < items.size() && i < start + static_cast<size_t>(*size); ++i) {
      chunk.push_back(items[i]);
    }
    out.push_back(std::move(chunk));
  }
  return json::value(std::move(out));
}

Result<json::value> EvalArrayContains(const FunctionSpec& spec, const Args& args) {
  if (!args[0].is_array()) {
    return InvalidArguments(spec);
  }
  for (const json::value& item : args[0].get_array()) {
    if (JsonEquals(item, args[1])) {
      return json::value(true);
    }
  }
  return json::value(false);
}

// Inclusive of the end when the step lands on it; a negative step counts down.
Result<json::value> EvalArrayRange(const FunctionSpec& spec, const Args& args) {
  const std::optional<int64_t> first = TruncateToInt64(args[0]);
  const std::optional<int64_t> last = TruncateToInt64(args[1]);
  const std::optional<int64_t> step = TruncateToInt64(args[2]);
  if (!first || !last || !step || *step == 0) {
    return InvalidArguments(spec);
  }
  json::array out;
  for (int64_t v = *first; *step > 0 ? v <= *last : v >= *last; v += *step) {
    if (static_cast<int64_t>(out.size()) >= kMaxArrayRangeItems) {
      return InvalidArguments(spec);
    }
    out.push_back(v);
    if ((*step > 0 && v > std::numeric_limits<int64_t>::max() - *step) ||
        (*step < 0 && v < std::numeric_limits<int64_t>::min() - *step)) {
      break;
    }
  }
  return json::value(std::move(out));
}

Result<json::value> EvalArrayGetItem(const FunctionSpec& spec, const Args& args) {
  const std::optional<int64_t> index = TruncateToInt64(args[1]);
  if (!args[0].is_array() || !index.has_value()) {
    return InvalidArguments(spec);
  }
  const json::array& items = args[0].get_array();
  // AWS answers null, not an error, for any index into an empty array.
  if (items.empty()) {
    return json::value(nullptr);
  }
  if (*index < 0 || *index >= static_cast<int64_t>(items.size())) {
    return InvalidArguments(spec);
  }
  return items[static_cast<size_t>(*index)];
}

Result<json::value> EvalArrayUnique(const FunctionSpec& spec, const Args& args) {
  if (!args[0].is_array()) {
    return InvalidArguments(spec);
  }
  const json::array& items = args[0].get_array();
  json::array out;
  for (std::size_t i : FirstOccurrences(items)) {  // hashed: linear, not quadratic, in the item count
    out.push_back(items[i]);
  }
  return json::value(std::move(out));
}

Result<json::value> EvalBase64Encode(const FunctionSpec& spec, const Args& args) {
  if (!args[0].is_string() || Utf16Length(args[0].get_string()) > kMaxEncodedInputChars) {
    return InvalidArguments(spec);
  }
  return json::value(json::string(Base64Encode(args[0].get_string())));
}

Result<json::value> EvalBase64Decode(const FunctionSpec& spec, const Args& args) {
  if (!args[0].is_string() || args[0].get_string().size() > kMaxEncodedInputChars) {
    return InvalidArguments(spec);
  }
  std::optional<std::string> decoded = Base64Decode(args[0].get_string());
  if (!decoded.has_value() || !IsValidUtf8(*decoded)) {
    return InvalidArguments(spec);
  }
  return json::value(json::string(*decoded));
}

// Non-string data is hashed as its JSON text (AWS accepts it).
Result<json::value> EvalHash(const FunctionSpec& spec, const Args& args) {
  if (!args[1].is_string()) {
    return InvalidArguments(spec);
  }
  const std::string data =
      args[0].is_string() ? std::string(args[0].get_string()) : ToAwsJson(args[0]);
  if (Utf16Length(data) > kMaxEncodedInputChars) {
    return InvalidArguments(spec);
  }
  const std::string_view algorithm = args[1].get_string();
  std::string digest;
  if (algorithm == "MD5") {
    digest = internal::Md5Hex(data);
  } else if (algorithm == "SHA-1") {
    digest = internal::Sha1Hex(data);
  } else if (algorithm == "SHA-256") {
    digest = internal::Sha256Hex(data);
  } else if (algorithm == "SHA-384") {
    digest = internal::Sha384Hex(data);
  } else if (algorithm == "SHA-512") {
    digest = internal::Sha512Hex(data);
  } else {
    return InvalidArguments(spec);
  }
  return json::value(json::string(digest));
}

void MergeInto(json::object& target, const json::object& source, bool deep) {
  for (const auto& member : source) {
    json::value* existing = target.if_contains(member.key());
    if (deep && existing != nullptr && existing->is_object() && member.value().is_object()) {
      MergeInto(existing->get_object(), member.value().get_object(), deep);
    } else {
      target[member.key()] = member.value();
    }
  }
}

Result<json::value> EvalJsonMerge(const FunctionSpec& spec, const Args& args) {
  if (!args[0].is_object() || !args[1].is_object() || !args[2].is_bool()) {
    return InvalidArguments(spec);
  }
  json::object merged = args[0].get_object();
  MergeInto(merged, args[1].get_object(), args[2].get_bool());
  return json::value(std::move(merged));
}

// An integer in [start, end).
Result<json::value> EvalMathRandom(const FunctionSpec& spec, const Args& args,
                                   RuntimeValues& runtime) {
  const std::optional<int64_t> start = TruncateToInt64(args[0]);
  const std::optional<int64_t> end = TruncateToInt64(args[1]);
  if (!start || !end || *start >= *end) {
    return InvalidArguments(spec);
  }
  // In unsigned arithmetic: end - start may exceed the int64 range (MathRandom(-9e18, 9e18)).
  const uint64_t range = static_cast<uint64_t>(*end) - static_cast<uint64_t>(*start);
  double unit = 0;
  if (args.size() == 3) {
    const std::optional<int64_t> seed = TruncateToInt64(args[2]);
    if (!seed.has_value()) {
      return InvalidArguments(spec);
    }
    unit = JavaRandom(*seed).NextDouble();
  } else {
    unit = runtime.NextRandomUnit();
  }
  const double scaled = std::floor(unit * static_cast<double>(range));
  uint64_t offset = 0;
  if (scaled >= static_cast<double>(range)) {  // also catches 2^64, which has no uint64 value
    offset = range - 1;
  } else if (scaled > 0) {
    offset = static_cast<uint64_t>(scaled);
  }
  return json::value(static_cast<int64_t>(static_cast<uint64_t>(*start) + offset));
}

Result<json::value> EvalMathAdd(const FunctionSpec& spec, const Args& args) {
  const std::optional<int64_t> a = JavaRoundedInteger(args[0]);
  const std::optional<int64_t> b = JavaRoundedInteger(args[1]);
  int64_t sum = 0;
  if (!a || !b || __builtin_add_overflow(*a, *b, &sum)) {
    return InvalidArguments(spec);
  }
  return json::value(sum);
}

// Splits on any of the delimiter characters and drops empty pieces.
Result<json::value> EvalStringSplit(const FunctionSpec& spec, const Args& args) {
  if (!args[0].is_string() || !args[1].is_string()) {
    return InvalidArguments(spec);
  }
  const std::vector<std::string_view> listed = CodePoints(args[1].get_string());
  const std::unordered_set<std::string_view> delimiters(listed.begin(), listed.end());
  json::array out;
  std::string piece;
  for (std::string_view cp : CodePoints(args[0].get_string())) {
    if (delimiters.count(cp) != 0) {
      if (!piece.empty()) {
        out.push_back(json::string(piece));
      }
      piece.clear();
    } else {
      piece += cp;
    }
  }
  if (!piece.empty()) {
    out.push_back(json::string(piece));
  }
  return json::value(std::move(out));
}

Result<json::value> Dispatch(const Node& node, const Args& args, RuntimeValues& runtime) {
  const FunctionSpec& spec = *node.spec;
  switch (spec.fn) {
    case Fn::kFormat:
      return EvalFormat(spec, node, args);
    case Fn::kStringToJson:
      return EvalStringToJson(spec, args);
    case Fn::kJsonToString:
      return json::value(json::string(ToAwsJson(args[0])));
    case Fn::kArray:
      return json::value(json::array(args.begin(), args.end()));
    case Fn::kArrayPartition:
      return EvalArrayPartition(spec, args);
    case Fn::kArrayContains:
      return EvalArrayContains(spec, args);
    case Fn::kArrayRange:
      return EvalArrayRange(spec, args);
    case Fn::kArrayGetItem:
      return EvalArrayGetItem(spec, args);
    case Fn::kArrayLength:
      if (!args[0].is_array()) {
        return InvalidArguments(spec);
      }
      return json::value(static_cast<int64_t>(args[0].get_array().size()));
    case Fn::kArrayUnique:
      return EvalArrayUnique(spec, args);
    case Fn::kBase64Encode:
      return EvalBase64Encode(spec, args);
    case Fn::kBase64Decode:
      return EvalBase64Decode(spec, args);
    case Fn::kHash:
      return EvalHash(spec, args);
    case Fn::kJsonMerge:
      return EvalJsonMerge(spec, args);
    case Fn::kMathRandom:
      return EvalMathRandom(spec, args, runtime);
    case Fn::kMathAdd:
      return EvalMathAdd(spec, args);
    case Fn::kStringSplit:
      return EvalStringSplit(spec, args);
    case Fn::kUuid:
      return json::value(json::string(runtime.NewUuid()));
  }
  return InvalidArguments(spec);
}

Failure PathNotFound(const std::string& path, const PathResolver& resolve) {
  std::string input = "null";
  if (PathValue whole = resolve(JsonPath::WholeInput()); whole.ok() && whole.value().has_value()) {
    input = ToAwsJson(*whole.value());
  }
  return Failure{errors::kIntrinsicFailure,
                 absl::StrCat("The JsonPath argument for the field '", path,
                              "' could not be found in the input '", input, "'")};
}

// The result bytes one call (with its nested calls) has produced so far: nested calls such as
// States.Array($, $, ...) inside States.Array(...) could otherwise multiply a payload ten times per level.
struct ResultBudget {
  const EvaluationLimits& limits;
  const std::string& text;
  std::size_t bytes = 0;

  // Counts `v`; false once the total passes limits.max_result_bytes.
  bool Add(const json::value& v) {
    const std::size_t remaining = limits.max_result_bytes - std::min(bytes, limits.max_result_bytes);
    bytes += ApproxJsonBytes(v, remaining);
    return bytes <= limits.max_result_bytes;
  }
  Failure Exceeded() const {
    return ResultTooLarge(absl::StrCat("The intrinsic function '", text, "'"), limits.max_result_bytes);
  }
};

Result<json::value> EvalNode(const Node& node, const PathResolver& resolve, RuntimeValues& runtime,
                             ResultBudget& budget) {
  switch (node.kind) {
    case Node::Kind::kLiteral:
      return node.literal;
    case Node::Kind::kPath: {
      PathValue value = resolve(*node.path);
      if (!value.ok()) {
        return value.failure();
      }
      if (!value.value().has_value()) {
        return PathNotFound(node.path->text(), resolve);
      }
      return *std::move(value).value();
    }
    case Node::Kind::kCall:
      break;
  }
  Args args;
  args.reserve(node.args.size());
  for (const Node& arg : node.args) {
    Result<json::value> value = EvalNode(arg, resolve, runtime, budget);
    if (!value.ok()) {
      return value;
    }
    if (!budget.Add(value.value())) {
      return budget.Exceeded();
    }
    args.push_back(std::move(value).value());
  }
  Result<json::value> result = Dispatch(node, args, runtime);
  if (result.ok() && !budget.Add(result.value())) {
    return budget.Exceeded();
  }
  return result;
}

}  // namespace

bool LooksLikeIntrinsic(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) {
    text.remove_prefix(1);
  }
  if (text.substr(0, sizeof(kPrefix) - 1) != kPrefix) {
    return false;
  }
  size_t i = sizeof(kPrefix) - 1;
  const size_t name_start = i;
  while (i < text.size() && IsIdentChar(text[i])) {
    ++i;
  }
  if (i == name_start) {
    return false;
  }
  while (i < text.size() && IsSpace(text[i])) {
    ++i;
  }
  return i < text.size() && text[i] == '(';
}

absl::StatusOr<IntrinsicCall> IntrinsicCall::Parse(std::string_view text) {
  absl::StatusOr<Node> root = Parser(text).ParseTop();
  if (!root.ok()) {
    return root.status();
  }
  auto impl = std::make_shared<Impl>();
  impl->text = std::string(text);
  impl->root = *std::move(root);
  return IntrinsicCall(std::move(impl));
}

IntrinsicCall::IntrinsicCall(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
IntrinsicCall::IntrinsicCall(const IntrinsicCall&) = default;
IntrinsicCall::IntrinsicCall(IntrinsicCall&&) noexcept = default;
IntrinsicCall& IntrinsicCall::operator=(const IntrinsicCall&) = default;
IntrinsicCall& IntrinsicCall::operator=(IntrinsicCall&&) noexcept = default;
IntrinsicCall::~IntrinsicCall() = default;

const std::string& IntrinsicCall::text() const { return impl_->text; }

Result<json::value> IntrinsicCall::Evaluate(const PathResolver& resolve, RuntimeValues& runtime,
                                            const EvaluationLimits& limits) const {
  ResultBudget budget{limits, impl_->text};
  return EvalNode(impl_->root, resolve, runtime, budget);
}

}  // namespace stepflow::sm
