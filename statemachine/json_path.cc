// JSONPath for ASL: a recursive-descent parser into a flat vector of segments, and an evaluator that
// follows Jayway JSONPath (the library AWS Step Functions uses) where its behaviour is observable.
//
// This file is longer than our 400-line aim because the parser, the filter language and the evaluator
// share private types (Segment, FilterNode) that no other module may see, and the CMake target of this
// module is one source file.
#include "statemachine/json_path.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/precise_json.h"
#include "statemachine/bounded_regex.h"
#include "statemachine/json_parse.h"
#include "statemachine/json_value.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;

// Debian's absl keeps its own string_view type; this bridges std::string_view into absl calls.
absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

struct FilterNode;

// One step of a path. `deep` means the step was written after `..`: it applies to the node and to
// every descendant (Jayway's scan).
struct NameSel {
  std::string name;
};
struct NamesSel {  // ['a','b']: two or more names.
  std::vector<std::string> names;
};
struct IndexSel {
  int64_t index;
};
struct IndexesSel {  // [0,1]: two or more indexes.
  std::vector<int64_t> indexes;
};
struct WildcardSel {};
struct SliceSel {
  std::optional<int64_t> start;
  std::optional<int64_t> end;
  int64_t step = 1;
};
struct FilterSel {
  // Shared because a parsed path is immutable: copies of a JsonPath share the filter tree.
  std::shared_ptr<const FilterNode> filter;
};

struct Segment {
  bool deep = false;
  std::variant<NameSel, NamesSel, IndexSel, IndexesSel, WildcardSel, SliceSel, FilterSel> sel;
};

// A parsed sequence of segments plus what the evaluator needs to know about it up front.
struct Steps {
  std::vector<Segment> segments;
  // Segments [0, first_indefinite) select at most one node each. Equal to segments.size() for a
  // definite path.
  size_t first_indefinite = 0;
  bool reference = true;  // Only names and single indexes, no `..`.
};

bool IsSegmentDefinite(const Segment& seg, bool is_leaf) {
  if (seg.deep) {
    return false;
  }
  if (std::holds_alternative<NameSel>(seg.sel) || std::holds_alternative<IndexSel>(seg.sel)) {
    return true;
  }
  // Jayway merges a trailing union of names into one object: the path stays definite.
  return is_leaf && std::holds_alternative<NamesSel>(seg.sel);
}

void FinishSteps(Steps& steps) {
  const size_t n = steps.segments.size();
  steps.first_indefinite = n;
  steps.reference = true;
  for (size_t i = 0; i < n; ++i) {
    const Segment& seg = steps.segments[i];
    const bool simple = std::holds_alternative<NameSel>(seg.sel) || std::holds_alternative<IndexSel>(seg.sel);
    if (seg.deep || !simple) {
      steps.reference = false;
    }
    if (steps.first_indefinite == n && !IsSegmentDefinite(seg, i + 1 == n)) {
      steps.first_indefinite = i;
    }
  }
}

// ----------------------------------------------------------------------------------------------------
// Filters.

enum class FilterOp : uint8_t {
  kEq, kNe, kLt, kLe, kGt, kGe, kRegex, kIn, kNin, kContains, kSize, kEmpty, kSubsetOf, kAnyOf, kNoneOf,
};

struct Operand {
  enum class Kind : uint8_t { kLiteral, kCurrentPath, kRootPath, kRegex };
  Kind kind = Kind::kLiteral;
  json::value literal;
  Steps path;
  std::optional<BoundedRegex> regex;  // kRegex
};

struct FilterNode {
  enum class Kind : uint8_t { kOr, kAnd, kNot, kExists, kCompare };
  Kind kind = Kind::kCompare;
  FilterOp op = FilterOp::kEq;
  std::vector<FilterNode> children;  // kOr, kAnd (two or more), kNot (one).
  Operand left;                       // kExists, kCompare.
  Operand right;                      // kCompare.
};

// ----------------------------------------------------------------------------------------------------
// Parser.

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsVariableNameChar(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
// Characters that end a path used as a filter operand, e.g. `@.price` in `@.price<10`.
bool EndsFilterPath(char c) {
  return IsSpace(c) || c == ')' || c == '=' || c == '!' || c == '<' || c == '>' || c == '&' || c == '|' ||
         c == ',' || c == ']';
}

// The parser and the evaluator recurse per segment and per nesting level; these bounds keep a hostile
// path (in a definition of up to 1 MiB) from exhausting the stack.
constexpr size_t kMaxSegments = 512;
constexpr int kMaxNesting = 64;  // array literals, parentheses, '!' and filters within filters

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  // Parses a whole path. Fills the root, the variable name and the segments.
  absl::Status ParsePath(JsonPath::Root& root, std::string& variable, Steps& steps) {
    if (text_.empty() || text_[0] != '$') {
      return Error("path must start with '$'", 0);
    }
    pos_ = 1;
    root = JsonPath::Root::kInput;
    if (More() && Peek() == '$') {
      root = JsonPath::Root::kContext;
      ++pos_;
    } else if (More() && Peek() != '.' && Peek() != '[') {
      root = JsonPath::Root::kVariable;
      const size_t start = pos_;
      while (More() && Peek() != '.' && Peek() != '[') {
        if (!IsVariableNameChar(Peek())) {
          return Error("invalid character in variable name", pos_);
        }
        ++pos_;
      }
      variable = std::string(text_.substr(start, pos_ - start));
    }
    if (absl::Status s = ParseSegments(/*in_filter=*/false, steps); !s.ok()) {
      return s;
    }
    if (More()) {
      return Error("unexpected character", pos_);
    }
    return absl::OkStatus();
  }

 private:
  // Counts one level of nesting for the lifetime of the guard.
  class NestingGuard {
   public:
    explicit NestingGuard(int& depth) : depth_(depth) { ++depth_; }
    ~NestingGuard() { --depth_; }
    NestingGuard(const NestingGuard&) = delete;
    NestingGuard& operator=(const NestingGuard&) = delete;

   private:
    int& depth_;
  };

  absl::Status NestedTooDeep(size_t at) const {
    return Error(absl::StrCat("nesting deeper than ", kMaxNesting, " levels"), at);
  }

  bool More() const { return pos_ < text_.size(); }
  char Peek() const { return text_[pos_]; }
  bool PeekIs(char c) const { return More() && Peek() == c; }
  bool AtPathEnd(bool in_filter) const { return !More() || (in_filter && EndsFilterPath(Peek())); }
  void SkipSpaces() {
    while (More() && IsSpace(Peek())) {
      ++pos_;
    }
  }
  bool Consume(std::string_view token) {
    if (text_.substr(pos_, token.size()) == token) {
      pos_ += token.size();
      return true;
    }
    return false;
  }

  absl::Status Error(std::string_view what, size_t offset) const {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSONPath '", ToAbsl(text_), "': ", ToAbsl(what), " at offset ", offset));
  }

  // Reads segments until the end of the text (or, in a filter, until a character that ends an operand).
  absl::Status ParseSegments(bool in_filter, Steps& steps) {
    while (!AtPathEnd(in_filter)) {
      Segment seg;
      if (Peek() == '[') {
        if (absl::Status s = ParseBracket(seg); !s.ok()) {
          return s;
        }
      } else if (Peek() == '.') {
        if (absl::Status s = ParseDot(in_filter, seg); !s.ok()) {
          return s;
        }
      } else {
        return Error("expected '.' or '['", pos_);
      }
      steps.segments.push_back(std::move(seg));
      if (steps.segments.size() > kMaxSegments) {
        return Error(absl::StrCat("more than ", kMaxSegments, " segments"), pos_);
      }
    }
    FinishSteps(steps);
    return absl::OkStatus();
  }

  // `.name`, `.*`, `..name`, `..*`, `..[...]` (and Jayway's `.[...]`).
  absl::Status ParseDot(bool in_filter, Segment& seg) {
    const size_t dot = pos_;
    ++pos_;
    if (PeekIs('.')) {
      seg.deep = true;
      ++pos_;
    }
    if (AtPathEnd(in_filter)) {
      return Error("path must not end with '.'", dot);
    }
    if (Peek() == '.') {
      return Error("unexpected '.'", pos_);
    }
    if (Peek() == '[') {
      return ParseBracket(seg);
    }
    if (Peek() == '*') {
      ++pos_;
      if (!AtPathEnd(in_filter) && Peek() != '.' && Peek() != '[') {
        return Error("expected '.' or '[' after '*'", pos_);
      }
      seg.sel = WildcardSel{};
      return absl::OkStatus();
    }
    const size_t start = pos_;
    while (!AtPathEnd(in_filter) && Peek() != '.' && Peek() != '[') {
      if (IsSpace(Peek())) {
        return Error("whitespace in a name (use ['...'])", pos_);
      }
      if (Peek() == '(') {
        return Error("path functions are not supported", pos_);
      }
      ++pos_;
    }
    seg.sel = NameSel{std::string(text_.substr(start, pos_ - start))};
    return absl::OkStatus();
  }

  absl::Status ParseBracket(Segment& seg) {
    const size_t open = pos_;
    ++pos_;
    SkipSpaces();
    if (!More()) {
      return Error("unterminated '['", open);
    }
    absl::Status s;
    const char c = Peek();
    if (c == '\'' || c == '"') {
      s = ParseQuotedNames(seg);
    } else if (c == '*') {
      ++pos_;
      seg.sel = WildcardSel{};
    } else if (c == '?') {
      s = ParseFilterSelector(seg);
    } else if (IsDigit(c) || c == '-' || c == ':') {
      s = ParseIndexes(seg);
    } else {
      return Error("expected a quoted name, an index, a slice, '*' or a filter", pos_);
    }
    if (!s.ok()) {
      return s;
    }
    SkipSpaces();
    if (!More()) {
      return Error("unterminated '['", open);
    }
    if (Peek() != ']') {
      return Error("expected ']'", pos_);
    }
    ++pos_;
    return absl::OkStatus();
  }

  // A quoted name. Like AWS (Jayway 2.4), the text between the quotes is taken verbatim: a backslash
  // only stops the next character from ending the name and is itself kept.
  absl::StatusOr<std::string> ReadVerbatimQuoted() {
    const size_t open = pos_;
    const char quote = Peek();
    ++pos_;
    const size_t start = pos_;
    while (More() && Peek() != quote) {
      pos_ += (Peek() == '\\' && pos_ + 1 < text_.size()) ? 2 : 1;
    }
    if (!More()) {
      return Error("unterminated string", open);
    }
    std::string name(text_.substr(start, pos_ - start));
    ++pos_;
    return name;
  }

  absl::Status ParseQuotedNames(Segment& seg) {
    std::vector<std::string> names;
    while (true) {
      SkipSpaces();
      if (!More() || (Peek() != '\'' && Peek() != '"')) {
        return More() ? Error("expected a quoted name", pos_) : Error("unterminated '['", pos_);
      }
      absl::StatusOr<std::string> name = ReadVerbatimQuoted();
      if (!name.ok()) {
        return name.status();
      }
      names.push_back(*std::move(name));
      SkipSpaces();
      if (!PeekIs(',')) {
        break;
      }
      ++pos_;
    }
    if (names.size() == 1) {
      seg.sel = NameSel{std::move(names[0])};
    } else {
      seg.sel = NamesSel{std::move(names)};
    }
    return absl::OkStatus();
  }

  // An optional signed integer; absent when the next character is not '-' or a digit.
  absl::StatusOr<std::optional<int64_t>> ReadInt() {
    SkipSpaces();
    const size_t start = pos_;
    bool negative = Consume("-");
    if (!More() || !IsDigit(Peek())) {
      if (negative) {
        return Error("expected a digit", pos_);
      }
      return std::optional<int64_t>();
    }
    uint64_t magnitude = 0;
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    while (More() && IsDigit(Peek())) {
      magnitude = magnitude * 10 + static_cast<uint64_t>(Peek() - '0');
      if (magnitude > kMax) {
        return Error("integer out of range", start);
      }
      ++pos_;
    }
    SkipSpaces();
    const int64_t value = static_cast<int64_t>(magnitude);
    return std::optional<int64_t>(negative ? -value : value);
  }

  // `[n]`, `[n,m,...]`, `[start:end]`, `[start:end:step]` (each bound optional).
  absl::Status ParseIndexes(Segment& seg) {
    std::vector<std::optional<int64_t>> parts;
    bool slice = false;
    bool list = false;
    while (true) {
      const size_t at = pos_;
      absl::StatusOr<std::optional<int64_t>> n = ReadInt();
      if (!n.ok()) {
        return n.status();
      }
      parts.push_back(*n);
      if (!n->has_value() && !slice && !PeekIs(':')) {
        return Error("expected an integer", at);
      }
      if (PeekIs(',') && !slice) {
        list = true;
      } else if (PeekIs(':') && !list && parts.size() < 3) {
        slice = true;
      } else {
        break;
      }
      ++pos_;
    }
    if (slice) {
      return MakeSlice(parts, seg);
    }
    if (parts.size() == 1) {
      seg.sel = IndexSel{**parts.begin()};
      return absl::OkStatus();
    }
    IndexesSel sel;
    for (const auto& p : parts) {
      sel.indexes.push_back(*p);
    }
    seg.sel = std::move(sel);
    return absl::OkStatus();
  }

  absl::Status MakeSlice(const std::vector<std::optional<int64_t>>& parts, Segment& seg) {
    SliceSel slice{parts[0], parts.size() > 1 ? parts[1] : std::nullopt, 1};
    if (parts.size() > 2 && parts[2].has_value()) {
      if (*parts[2] == 0) {
        return Error("slice step must not be 0", pos_);
      }
      slice.step = *parts[2];
    }
    seg.sel = slice;
    return absl::OkStatus();
  }

  // `?(expression)`; the caller reads the closing ']'.
  absl::Status ParseFilterSelector(Segment& seg) {
    ++pos_;  // '?'
    SkipSpaces();
    if (!PeekIs('(')) {
      return Error("expected '(' after '?'", pos_);
    }
    const size_t open = pos_;
    ++pos_;
    NestingGuard guard(depth_);
    if (depth_ > kMaxNesting) {
      return NestedTooDeep(open);
    }
    auto node = std::make_shared<FilterNode>();
    if (absl::Status s = ParseOr(*node); !s.ok()) {
      return s;
    }
    SkipSpaces();
    if (!More()) {
      return Error("unterminated '('", open);
    }
    if (Peek() != ')') {
      return Error("expected ')'", pos_);
    }
    ++pos_;
    seg.sel = FilterSel{std::move(node)};
    return absl::OkStatus();
  }

  // or := and ('||' and)* ; and := unary ('&&' unary)*
  absl::Status ParseOr(FilterNode& out) { return ParseChain(out, "||", FilterNode::Kind::kOr); }
  absl::Status ParseAnd(FilterNode& out) { return ParseChain(out, "&&", FilterNode::Kind::kAnd); }

  absl::Status ParseChain(FilterNode& out, std::string_view op, FilterNode::Kind kind) {
    std::vector<FilterNode> items(1);
    while (true) {
      absl::Status s = kind == FilterNode::Kind::kOr ? ParseAnd(items.back()) : ParseUnary(items.back());
      if (!s.ok()) {
        return s;
      }
      SkipSpaces();
      if (!Consume(op)) {
        break;
      }
      items.emplace_back();
    }
    if (items.size() == 1) {
      out = std::move(items[0]);
    } else {
      out.kind = kind;
      out.children = std::move(items);
    }
    return absl::OkStatus();
  }

  // unary := '!' unary | '(' or ')' | operand [operator operand]
  absl::Status ParseUnary(FilterNode& out) {
    SkipSpaces();
    NestingGuard guard(depth_);
    if (depth_ > kMaxNesting) {
      return NestedTooDeep(pos_);
    }
    if (PeekIs('!')) {
      ++pos_;
      out.kind = FilterNode::Kind::kNot;
      out.children.resize(1);
      return ParseUnary(out.children[0]);
    }
    if (PeekIs('(')) {
      const size_t open = pos_;
      ++pos_;
      if (absl::Status s = ParseOr(out); !s.ok()) {
        return s;
      }
      SkipSpaces();
      if (!PeekIs(')')) {
        return More() ? Error("expected ')'", pos_) : Error("unterminated '('", open);
      }
      ++pos_;
      return absl::OkStatus();
    }
    const size_t start = pos_;
    if (absl::Status s = ParseOperand(out.left); !s.ok()) {
      return s;
    }
    SkipSpaces();
    std::optional<FilterOp> op = ReadOperator();
    if (!op.has_value()) {
      if (out.left.kind != Operand::Kind::kCurrentPath && out.left.kind != Operand::Kind::kRootPath) {
        return Error("expected a comparison", start);
      }
      out.kind = FilterNode::Kind::kExists;
      return absl::OkStatus();
    }
    out.kind = FilterNode::Kind::kCompare;
    out.op = *op;
    SkipSpaces();
    const size_t right_at = pos_;
    if (absl::Status s = ParseOperand(out.right); !s.ok()) {
      return s;
    }
    if ((*op == FilterOp::kRegex) != (out.right.kind == Operand::Kind::kRegex)) {
      return Error("'=~' needs a /regex/ on its right", right_at);
    }
    return absl::OkStatus();
  }

  std::optional<FilterOp> ReadOperator() {
    static constexpr std::pair<std::string_view, FilterOp> kSymbols[] = {
        {"==", FilterOp::kEq}, {"!=", FilterOp::kNe}, {"<=", FilterOp::kLe}, {">=", FilterOp::kGe},
        {"=~", FilterOp::kRegex}, {"<", FilterOp::kLt}, {">", FilterOp::kGt}};
    for (const auto& [token, op] : kSymbols) {
      if (Consume(token)) {
        return op;
      }
    }
    static constexpr std::pair<std::string_view, FilterOp> kWords[] = {
        {"in", FilterOp::kIn},       {"nin", FilterOp::kNin},           {"contains", FilterOp::kContains},
        {"size", FilterOp::kSize},   {"empty", FilterOp::kEmpty},       {"subsetof", FilterOp::kSubsetOf},
        {"anyof", FilterOp::kAnyOf}, {"noneof", FilterOp::kNoneOf}};
    size_t end = pos_;
    while (end < text_.size() && text_[end] >= 'a' && text_[end] <= 'z') {
      ++end;
    }
    const std::string_view word = text_.substr(pos_, end - pos_);
    for (const auto& [token, op] : kWords) {
      if (word == token) {
        pos_ = end;
        return op;
      }
    }
    return std::nullopt;
  }

  absl::Status ParseOperand(Operand& out) {
    SkipSpaces();
    if (!More()) {
      return Error("expected an operand", pos_);
    }
    if (Peek() == '@' || Peek() == '$') {
      out.kind = Peek() == '@' ? Operand::Kind::kCurrentPath : Operand::Kind::kRootPath;
      ++pos_;
      return ParseSegments(/*in_filter=*/true, out.path);
    }
    if (Peek() == '/') {
      return ParseRegex(out);
    }
    out.kind = Operand::Kind::kLiteral;
    return ParseLiteral(out.literal);
  }

  // `/pattern/flags`; `i` is the only flag. Matching is whole-string, as in Java's matches().
  absl::Status ParseRegex(Operand& out) {
    const size_t open = pos_;
    ++pos_;
    std::string pattern;
    while (More() && Peek() != '/') {
      if (Peek() == '\\' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        ++pos_;
      }
      pattern.push_back(Peek());
      ++pos_;
    }
    if (!More()) {
      return Error("unterminated regular expression", open);
    }
    ++pos_;
    RegexOptions options;  // full match, as Jayway's Matcher.matches()
    while (More() && (Peek() == 'i')) {
      options.ignore_case = true;
      ++pos_;
    }
    absl::StatusOr<BoundedRegex> regex = BoundedRegex::Compile(pattern, options);
    if (!regex.ok()) {
      return Error("invalid regular expression", open);
    }
    out.regex = *std::move(regex);
    out.kind = Operand::Kind::kRegex;
    return absl::OkStatus();
  }

  // JSON literals, with single-quoted strings allowed anywhere a string is.
  absl::Status ParseLiteral(json::value& out) {
    SkipSpaces();
    if (!More()) {
      return Error("expected a value", pos_);
    }
    const char c = Peek();
    if (c == '\'' || c == '"') {
      absl::StatusOr<std::string> s = ReadEscapedString();
      if (!s.ok()) {
        return s.status();
      }
      out = json::string(*s);
      return absl::OkStatus();
    }
    if (c == '[') {
      return ParseArrayLiteral(out);
    }
    if (c == '{') {
      return ParseObjectLiteral(out);
    }
    for (const auto& [word, value] : {std::pair<std::string_view, json::value>{"true", true},
                                      {"false", false}, {"null", nullptr}}) {
      if (Consume(word)) {
        out = value;
        return absl::OkStatus();
      }
    }
    const size_t start = pos_;
    while (More() && (IsDigit(Peek()) || Peek() == '-' || Peek() == '+' || Peek() == '.' || Peek() == 'e' ||
                      Peek() == 'E')) {
      ++pos_;
    }
    boost::system::error_code ec;
    std::optional<json::value> number = common::ParsePreciseJson(text_.substr(start, pos_ - start), ec);
    out = number ? *std::move(number) : json::value();
    if (start == pos_ || ec || !out.is_number()) {
      return Error("expected a value", start);
    }
    if (!AllNumbersFinite(out)) {
      return Error("number outside the range of a double", start);
    }
    return absl::OkStatus();
  }

  absl::Status ParseArrayLiteral(json::value& out) {
    const size_t open = pos_;
    ++pos_;
    NestingGuard guard(depth_);
    if (depth_ > kMaxNesting) {
      return NestedTooDeep(open);
    }
    json::array items;
    SkipSpaces();
    while (More() && Peek() != ']') {
      json::value item;
      if (absl::Status s = ParseLiteral(item); !s.ok()) {
        return s;
      }
      items.push_back(std::move(item));
      SkipSpaces();
      if (!Consume(",")) {
        break;
      }
    }
    SkipSpaces();
    if (!PeekIs(']')) {
      return More() ? Error("expected ',' or ']'", pos_) : Error("unterminated '['", open);
    }
    ++pos_;
    out = std::move(items);
    return absl::OkStatus();
  }

  // An object literal is strict JSON: we find its end (skipping strings) and let Boost.JSON parse it.
  absl::Status ParseObjectLiteral(json::value& out) {
    const size_t open = pos_;
    int depth = 0;
    char quote = 0;
    for (; More(); ++pos_) {
      const char c = Peek();
      if (quote != 0) {
        if (c == '\\') {
          ++pos_;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        ++pos_;
        boost::system::error_code ec;
        std::optional<json::value> literal = common::ParsePreciseJson(text_.substr(open, pos_ - open), ec);
        out = literal ? *std::move(literal) : json::value();
        if (!ec && !AllNumbersFinite(out)) {
          return Error("number outside the range of a double", open);
        }
        return ec ? Error("invalid JSON object", open) : absl::OkStatus();
      }
    }
    return Error("unterminated '{'", open);
  }

  // After `\u` (pos_ is past the 'u'): reads four hex digits and appends the code point as UTF-8.
  // Surrogate pairs are not combined; each half is encoded on its own.
  absl::Status AppendUnicodeEscape(std::string& out) {
    const size_t at = pos_;
    uint32_t cp = 0;
    for (int k = 0; k < 4; ++k, ++pos_) {
      const char h = More() ? Peek() : '\0';
      const char lower = static_cast<char>(h | 0x20);
      const int digit = IsDigit(h) ? h - '0' : (lower >= 'a' && lower <= 'f') ? lower - 'a' + 10 : -1;
      if (digit < 0) {
        return Error("invalid \\u escape", at);
      }
      cp = cp * 16 + static_cast<uint32_t>(digit);
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    return absl::OkStatus();
  }

  // A quoted string literal in a filter; backslash escapes are decoded like JSON (plus \').
  absl::StatusOr<std::string> ReadEscapedString() {
    const size_t open = pos_;
    const char quote = Peek();
    ++pos_;
    std::string out;
    while (More() && Peek() != quote) {
      char c = Peek();
      ++pos_;
      if (c == '\\' && More()) {
        c = Peek();
        ++pos_;
        if (c == 'u') {
          if (absl::Status s = AppendUnicodeEscape(out); !s.ok()) {
            return s;
          }
          continue;
        }
        switch (c) {
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case 'r': c = '\r'; break;
          case 'b': c = '\b'; break;
          case 'f': c = '\f'; break;
          default: break;  // \\, \', \", \/ and unknown escapes stand for the character itself.
        }
      }
      out.push_back(c);
    }
    if (!More()) {
      return Error("unterminated string", open);
    }
    ++pos_;
    return out;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;  // current nesting (NestingGuard)
};

// ----------------------------------------------------------------------------------------------------
// Evaluation.

bool ArrayContains(const json::array& array, const json::value& v) {
  return std::any_of(array.begin(), array.end(), [&v](const json::value& e) { return JsonEquals(e, v); });
}

// Resolves a possibly negative index against `size`; nullopt when out of range.
std::optional<size_t> ResolveIndex(int64_t index, size_t size) {
  const int64_t effective = index < 0 ? static_cast<int64_t>(size) + index : index;
  if (effective < 0 || static_cast<uint64_t>(effective) >= size) {
    return std::nullopt;
  }
  return static_cast<size_t>(effective);
}

// Follows a reference path without copying; nullptr when a step is missing or has the wrong type.
const json::value* ResolveReference(const Steps& steps, const json::value& start) {
  const json::value* node = &start;
  for (const Segment& seg : steps.segments) {
    if (const auto* name = std::get_if<NameSel>(&seg.sel)) {
      node = node->is_object() ? node->get_object().if_contains(name->name) : nullptr;
    } else {
      const auto& index = std::get<IndexSel>(seg.sel);
      const std::optional<size_t> i =
          node->is_array() ? ResolveIndex(index.index, node->get_array().size()) : std::nullopt;
      node = i.has_value() ? &node->get_array()[*i] : nullptr;
    }
    if (node == nullptr) {
      return nullptr;
    }
  }
  return node;
}

// The value of a filter operand: absent (undefined), borrowed from the document or the filter, or owned.
class OperandValue {
 public:
  OperandValue() = default;
  explicit OperandValue(const json::value* borrowed) : borrowed_(borrowed) {}
  explicit OperandValue(json::value owned) : owned_(std::move(owned)) {}
  const json::value* get() const { return owned_.has_value() ? &*owned_ : borrowed_; }

 private:
  const json::value* borrowed_ = nullptr;
  std::optional<json::value> owned_;
};

// Walks a parsed path over a document, appending copies of the selected nodes to `out`. Mirrors Jayway:
// while every earlier segment was definite, a node of the wrong type (or a missing non-leaf name) is a
// failure of the whole path, not an empty result.
// The work and result bytes one evaluation has used, shared by the walkers of its filter sub-paths.
class Budget {
 public:
  enum class Broken { kNone, kVisits, kBytes, kRegex };

  explicit Budget(const EvaluationLimits& limits) : limits_(limits) {}

  // Counts one visited node; false once a bound is broken (the walk then unwinds without more work).
  bool Visit() {
    if (broken_ == Broken::kNone && ++visits_ > limits_.max_path_visits) {
      broken_ = Broken::kVisits;
    }
    return broken_ == Broken::kNone;
  }
  // Counts `n` units of work that visit no node (comparisons against the elements of an operand array);
  // false once the visit bound is broken.
  bool Charge(std::size_t n) {
    if (broken_ == Broken::kNone && (visits_ += n) > limits_.max_path_visits) {
      broken_ = Broken::kVisits;
    }
    return broken_ == Broken::kNone;
  }
  // Counts the bytes of a result about to be copied; false (and nothing to copy) once over the bound.
  bool Produce(const json::value& v) {
    if (broken_ != Broken::kNone) {
      return false;
    }
    bytes_ += ApproxJsonBytes(v, limits_.max_result_bytes - bytes_);
    if (bytes_ > limits_.max_result_bytes) {
      broken_ = Broken::kBytes;
    }
    return broken_ == Broken::kNone;
  }
  // A regular expression could not be decided within its limits (bounded_regex.h).
  void BreakRegex(std::string detail) {
    if (broken_ == Broken::kNone) {
      broken_ = Broken::kRegex;
      regex_detail_ = std::move(detail);
    }
  }
  const std::string& regex_detail() const { return regex_detail_; }
  bool ok() const { return broken_ == Broken::kNone; }
  Broken broken() const { return broken_; }
  const EvaluationLimits& limits() const { return limits_; }

 private:
  const EvaluationLimits& limits_;
  std::size_t visits_ = 0;
  std::size_t bytes_ = 0;
  Broken broken_ = Broken::kNone;
  std::string regex_detail_;
};

class Walker {
 public:
  Walker(const json::value& root_document, json::array& out, Budget& budget)
      : root_(root_document), out_(out), budget_(budget) {}

  // Returns false when the path fails in its definite prefix (Jayway's PathNotFoundException).
  bool Run(const Steps& steps, const json::value& start) {
    steps_ = &steps;
    if (steps.segments.empty()) {
      if (budget_.Produce(start)) {
        out_.push_back(start);
      }
      return true;
    }
    Step(0, start);
    return !failed_;
  }

 private:
  bool IsLeaf(size_t i) const { return i + 1 == steps_->segments.size(); }

  void Emit(size_t i, const json::value& node) {
    if (IsLeaf(i)) {
      if (budget_.Produce(node)) {
        out_.push_back(node);
      }
    } else {
      Step(i + 1, node);
    }
  }

  void Fail(bool strict) { failed_ = failed_ || strict; }

  void Step(size_t i, const json::value& node) {
    if (!budget_.Visit()) {
      return;
    }
    const Segment& seg = steps_->segments[i];
    if (seg.deep) {
      Scan(i, node);
      return;
    }
    Apply(i, node, /*strict=*/i <= steps_->first_indefinite);
  }

  // Applies segment i to `node` alone. `strict`: every earlier segment was definite.
  void Apply(size_t i, const json::value& node, bool strict) {
    const Segment& seg = steps_->segments[i];
    if (const auto* name = std::get_if<NameSel>(&seg.sel)) {
      const json::value* child = node.is_object() ? node.get_object().if_contains(name->name) : nullptr;
      if (child != nullptr) {
        Emit(i, *child);
      } else {
        Fail(strict && (!node.is_object() || !IsLeaf(i)));
      }
    } else if (const auto* names = std::get_if<NamesSel>(&seg.sel)) {
      ApplyNames(i, *names, node, strict);
    } else if (const auto* index = std::get_if<IndexSel>(&seg.sel)) {
      ApplyIndexes(i, {index->index}, node, strict);
    } else if (const auto* indexes = std::get_if<IndexesSel>(&seg.sel)) {
      ApplyIndexes(i, indexes->indexes, node, strict);
    } else if (std::holds_alternative<WildcardSel>(seg.sel)) {
      ApplyWildcard(i, node);
    } else if (const auto* slice = std::get_if<SliceSel>(&seg.sel)) {
      ApplySlice(i, *slice, node, strict);
    } else {
      ApplyFilter(i, *std::get<FilterSel>(seg.sel).filter, node, strict);
    }
  }

  void ApplyNames(size_t i, const NamesSel& names, const json::value& node, bool strict) {
    if (!node.is_object()) {
      Fail(strict);
      return;
    }
    const json::object& object = node.get_object();
    if (!IsLeaf(i)) {
      for (const std::string& name : names.names) {
        if (const json::value* child = object.if_contains(name)) {
          Emit(i, *child);
        }
      }
      return;
    }
    // Jayway merges a trailing union of names into one object of the names present.
    json::object merged;
    for (const std::string& name : names.names) {
      if (const json::value* child = object.if_contains(name); child != nullptr && budget_.Produce(*child)) {
        merged[name] = *child;
      }
    }
    out_.push_back(std::move(merged));
  }

  void ApplyIndexes(size_t i, const std::vector<int64_t>& indexes, const json::value& node, bool strict) {
    if (!node.is_array()) {
      Fail(strict);
      return;
    }
    const json::array& array = node.get_array();
    for (int64_t index : indexes) {
      if (std::optional<size_t> at = ResolveIndex(index, array.size())) {
        Emit(i, array[*at]);
      }
    }
  }

  void ApplyWildcard(size_t i, const json::value& node) {
    if (node.is_object()) {
      for (const auto& kv : node.get_object()) {
        if (!budget_.ok()) {
          return;
        }
        Emit(i, kv.value());
      }
    } else if (node.is_array()) {
      for (const json::value& element : node.get_array()) {
        if (!budget_.ok()) {
          return;
        }
        Emit(i, element);
      }
    }
  }

  // Python slice semantics: bounds clamp to the array, negative bounds count from the end.
  void ApplySlice(size_t i, const SliceSel& slice, const json::value& node, bool strict) {
    if (!node.is_array()) {
      Fail(strict);
      return;
    }
    const json::array& array = node.get_array();
    const int64_t size = static_cast<int64_t>(array.size());
    auto clamp = [size](std::optional<int64_t> bound, int64_t fallback, int64_t low, int64_t high) {
      if (!bound.has_value()) {
        return fallback;
      }
      const int64_t b = *bound < 0 ? *bound + size : *bound;
      return std::clamp(b, low, high);
    };
    // Distances are compared before stepping so that a huge step cannot overflow.
    if (slice.step > 0) {
      const int64_t end = clamp(slice.end, size, 0, size);
      for (int64_t k = clamp(slice.start, 0, 0, size); k < end && budget_.ok(); k += slice.step) {
        Emit(i, array[static_cast<size_t>(k)]);
        if (end - k <= slice.step) {
          break;
        }
      }
    } else {
      const int64_t end = clamp(slice.end, -1, -1, size - 1);
      for (int64_t k = clamp(slice.start, size - 1, -1, size - 1); k > end && budget_.ok(); k += slice.step) {
        Emit(i, array[static_cast<size_t>(k)]);
        if (k - end <= -slice.step) {
          break;
        }
      }
    }
  }

  // On an object the filter tests the object itself; on an array, each element.
  void ApplyFilter(size_t i, const FilterNode& filter, const json::value& node, bool strict) {
    if (node.is_object()) {
      if (Test(filter, node)) {
        Emit(i, node);
      }
    } else if (node.is_array()) {
      for (const json::value& element : node.get_array()) {
        if (budget_.Visit() && Test(filter, element)) {
          Emit(i, element);
        }
      }
    } else {
      Fail(strict);
    }
  }

  // `..`: applies segment i to `node` and to every descendant, in document order.
  void Scan(size_t i, const json::value& node) {
    if (!budget_.Visit()) {
      return;
    }
    const Segment& seg = steps_->segments[i];
    if (const auto* filter = std::get_if<FilterSel>(&seg.sel)) {
      // Jayway tests each object once, and an array's elements only if the array itself passes.
      if (node.is_object() || (node.is_array() && Test(*filter->filter, node))) {
        ApplyFilter(i, *filter->filter, node, /*strict=*/false);
      }
    } else if (const auto* names = std::get_if<NamesSel>(&seg.sel); names != nullptr && IsLeaf(i)) {
      auto present = [&node](const std::string& n) { return node.get_object().contains(n); };
      if (node.is_object() && std::all_of(names->names.begin(), names->names.end(), present)) {
        ApplyNames(i, *names, node, /*strict=*/false);
      }
    } else {
      Apply(i, node, /*strict=*/false);
    }
    if (node.is_object()) {
      for (const auto& kv : node.get_object()) {
        if (!budget_.ok()) {
          return;
        }
        Scan(i, kv.value());
      }
    } else if (node.is_array()) {
      for (const json::value& element : node.get_array()) {
        if (!budget_.ok()) {
          return;
        }
        Scan(i, element);
      }
    }
  }

  OperandValue Resolve(const Operand& operand, const json::value& current) const {
    if (operand.kind == Operand::Kind::kLiteral) {
      return OperandValue(&operand.literal);
    }
    const json::value& start = operand.kind == Operand::Kind::kCurrentPath ? current : root_;
    if (operand.path.reference) {
      return OperandValue(ResolveReference(operand.path, start));
    }
    json::array matches;
    if (!Walker(root_, matches, budget_).Run(operand.path, start) || !budget_.ok()) {
      return OperandValue();
    }
    if (operand.path.first_indefinite == operand.path.segments.size()) {
      return matches.empty() ? OperandValue() : OperandValue(std::move(matches[0]));
    }
    return OperandValue(json::value(std::move(matches)));
  }

  bool Test(const FilterNode& filter, const json::value& current) const {
    switch (filter.kind) {
      case FilterNode::Kind::kOr:
        return std::any_of(filter.children.begin(), filter.children.end(),
                           [&](const FilterNode& c) { return Test(c, current); });
      case FilterNode::Kind::kAnd:
        return std::all_of(filter.children.begin(), filter.children.end(),
                           [&](const FilterNode& c) { return Test(c, current); });
      case FilterNode::Kind::kNot:
        return !Test(filter.children[0], current);
      case FilterNode::Kind::kExists: {
        const OperandValue operand = Resolve(filter.left, current);
        const json::value* v = operand.get();
        return v != nullptr && !(filter.left.path.first_indefinite < filter.left.path.segments.size() &&
                                 v->get_array().empty());
      }
      case FilterNode::Kind::kCompare:
        break;
    }
    if (filter.op == FilterOp::kRegex) {
      const OperandValue operand = Resolve(filter.left, current);
      const json::value* left = operand.get();
      if (left == nullptr || !left->is_string()) {
        return false;
      }
      absl::StatusOr<bool> matched = filter.right.regex->Matches(left->get_string());
      if (!matched.ok()) {
        budget_.BreakRegex(std::string(matched.status().message()));
        return false;
      }
      return *matched;
    }
    const OperandValue left = Resolve(filter.left, current);
    const OperandValue right = Resolve(filter.right, current);
    // `in`, `contains` and the set operators compare against whole arrays, once per tested element: their
    // operands' sizes count as visits, so `$[?(@ in $.big)]` over a big array stays bounded.
    return Charge(left.get()) && Charge(right.get()) && Compare(filter.op, left.get(), right.get());
  }

  bool Charge(const json::value* operand) const {
    return operand == nullptr || !operand->is_array() || budget_.Charge(operand->get_array().size());
  }

  // Jayway's evaluators; `nullptr` is an undefined operand (a path that selected nothing).
  static bool Compare(FilterOp op, const json::value* l, const json::value* r) {
    if (op == FilterOp::kNe || op == FilterOp::kNin) {
      return !Compare(op == FilterOp::kNe ? FilterOp::kEq : FilterOp::kIn, l, r);
    }
    if (l == nullptr || r == nullptr) {
      return false;
    }
    switch (op) {
      case FilterOp::kEq:
        return JsonEquals(*l, *r);
      case FilterOp::kLt:
      case FilterOp::kLe:
      case FilterOp::kGt:
      case FilterOp::kGe:
        return CompareOrdered(op, *l, *r);
      case FilterOp::kIn:
        return r->is_array() && ArrayContains(r->get_array(), *l);
      case FilterOp::kContains:
        if (l->is_string() && r->is_string()) {
          return ContainsSubstring(l->get_string(), r->get_string());
        }
        return l->is_array() && ArrayContains(l->get_array(), *r);
      case FilterOp::kSize: {
        if (!r->is_number() || !(l->is_array() || l->is_string())) {
          return false;
        }
        const size_t size = l->is_array() ? l->get_array().size() : l->get_string().size();
        return CompareNumbers(json::value(size), *r) == 0;
      }
      case FilterOp::kEmpty:
        return r->is_bool() && (l->is_array() || l->is_string() || l->is_object()) &&
               ((l->is_array() && l->get_array().empty()) || (l->is_string() && l->get_string().empty()) ||
                (l->is_object() && l->get_object().empty())) == r->get_bool();
      default:
        return CompareSets(op, *l, *r);
    }
  }

  static bool CompareOrdered(FilterOp op, const json::value& l, const json::value& r) {
    const std::optional<int> ordered = sm::CompareOrdered(l, r);  // json_value.h: as Choice orders
    if (!ordered.has_value()) {
      return false;
    }
    const int c = *ordered;
    switch (op) {
      case FilterOp::kLt: return c < 0;
      case FilterOp::kLe: return c <= 0;
      case FilterOp::kGt: return c > 0;
      default: return c >= 0;
    }
  }

  // subsetof / anyof / noneof over two arrays.
  static bool CompareSets(FilterOp op, const json::value& l, const json::value& r) {
    if (!l.is_array() || !r.is_array()) {
      return false;
    }
    const json::array& items = l.get_array();
    const JsonValueSet right(r.get_array());  // hashed: O(|l| + |r|), not O(|l| * |r|)
    auto in_right = [&right](const json::value& v) { return right.Contains(v); };
    switch (op) {
      case FilterOp::kSubsetOf: return std::all_of(items.begin(), items.end(), in_right);
      case FilterOp::kAnyOf: return std::any_of(items.begin(), items.end(), in_right);
      default: return std::none_of(items.begin(), items.end(), in_right);
    }
  }

  const json::value& root_;
  json::array& out_;
  Budget& budget_;
  const Steps* steps_ = nullptr;
  bool failed_ = false;
};

// True when writing at reference path `steps` inside `target` will succeed: every existing node on the
// way is an object (before a name) or an array holding the index; below the first missing field only
// names follow (they become new objects). Checked first so that a failed Assign leaves `target` as is.
bool CanAssign(const Steps& steps, const json::value& target) {
  const json::value* node = &target;
  for (const Segment& seg : steps.segments) {
    const auto* name = std::get_if<NameSel>(&seg.sel);
    if (node == nullptr) {  // Below a field that will be created.
      if (name == nullptr) {
        return false;
      }
    } else if (name != nullptr) {
      if (!node->is_object()) {
        return false;
      }
      node = node->get_object().if_contains(name->name);
    } else {
      const std::optional<size_t> at =
          node->is_array() ? ResolveIndex(std::get<IndexSel>(seg.sel).index, node->get_array().size())
                           : std::nullopt;
      if (!at.has_value()) {
        return false;
      }
      node = &node->get_array()[*at];
    }
  }
  return true;
}

void AppendNormalized(const Segment& seg, std::string& out) {
  if (seg.deep) {
    out += "..";
  }
  if (const auto* name = std::get_if<NameSel>(&seg.sel)) {
    absl::StrAppend(&out, "['", name->name, "']");
  } else if (const auto* names = std::get_if<NamesSel>(&seg.sel)) {
    absl::StrAppend(&out, "['", absl::StrJoin(names->names, "','"), "']");
  } else if (const auto* index = std::get_if<IndexSel>(&seg.sel)) {
    absl::StrAppend(&out, "[", index->index, "]");
  } else if (const auto* indexes = std::get_if<IndexesSel>(&seg.sel)) {
    absl::StrAppend(&out, "[", absl::StrJoin(indexes->indexes, ","), "]");
  } else if (std::holds_alternative<WildcardSel>(seg.sel)) {
    out += "[*]";
  } else if (const auto* slice = std::get_if<SliceSel>(&seg.sel)) {
    out += "[";
    if (slice->start.has_value()) {
      absl::StrAppend(&out, *slice->start);
    }
    out += ":";
    if (slice->end.has_value()) {
      absl::StrAppend(&out, *slice->end);
    }
    if (slice->step != 1) {
      absl::StrAppend(&out, ":", slice->step);
    }
    out += "]";
  } else {
    out += "[?]";
  }
}

}  // namespace

struct JsonPath::Impl {
  std::string text;
  Root root = Root::kInput;
  std::string variable_name;
  Steps steps;
};

const JsonPath& JsonPath::WholeInput() {
  static const JsonPath* const kWholeInput = new JsonPath(*Parse("$"));  // never destroyed: no exit order
  return *kWholeInput;
}

absl::StatusOr<JsonPath> JsonPath::Parse(std::string_view text) {
  auto impl = std::make_unique<Impl>();
  impl->text = std::string(text);
  if (absl::Status s = Parser(text).ParsePath(impl->root, impl->variable_name, impl->steps); !s.ok()) {
    return s;
  }
  return JsonPath(std::move(impl));
}

JsonPath::JsonPath(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonPath::JsonPath(const JsonPath& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
JsonPath::JsonPath(JsonPath&&) noexcept = default;
JsonPath& JsonPath::operator=(const JsonPath& other) {
  if (this != &other) {
    impl_ = std::make_unique<Impl>(*other.impl_);
  }
  return *this;
}
JsonPath& JsonPath::operator=(JsonPath&&) noexcept = default;
JsonPath::~JsonPath() = default;

const std::string& JsonPath::text() const { return impl_->text; }
JsonPath::Root JsonPath::root() const { return impl_->root; }
const std::string& JsonPath::variable_name() const { return impl_->variable_name; }
bool JsonPath::IsReferencePath() const { return impl_->steps.reference; }
bool JsonPath::IsDefinite() const { return impl_->steps.first_indefinite == impl_->steps.segments.size(); }

std::optional<boost::json::value> JsonPath::Evaluate(const PathScope& scope) const {
  PathValue v = EvaluateBounded(scope);
  return v.ok() ? std::move(v).value() : std::nullopt;
}

PathValue JsonPath::EvaluateBounded(const PathScope& scope, const EvaluationLimits& limits) const {
  const json::value* start = nullptr;
  switch (impl_->root) {
    case Root::kInput:
      start = scope.input;
      break;
    case Root::kContext:
      start = scope.context;
      break;
    case Root::kVariable:
      start = scope.variables != nullptr ? scope.variables->if_contains(impl_->variable_name) : nullptr;
      break;
  }
  if (start == nullptr) {
    return std::optional<json::value>();
  }
  const Steps& steps = impl_->steps;
  if (steps.reference) {
    const json::value* node = ResolveReference(steps, *start);
    return node != nullptr ? std::optional<json::value>(*node) : std::nullopt;
  }
  json::array matches;
  Budget budget(limits);
  const bool found = Walker(*start, matches, budget).Run(steps, *start);
  switch (budget.broken()) {
    case Budget::Broken::kVisits:
      return TooManyVisits(absl::StrCat("The JSONPath '", impl_->text, "'"), limits.max_path_visits);
    case Budget::Broken::kBytes:
      return ResultTooLarge(absl::StrCat("The JSONPath '", impl_->text, "'"), limits.max_result_bytes);
    case Budget::Broken::kRegex:
      return Failure{errors::kRuntime, absl::StrCat("The JSONPath '", impl_->text, "': ", budget.regex_detail())};
    case Budget::Broken::kNone:
      break;
  }
  if (!found) {
    return std::optional<json::value>();
  }
  if (IsDefinite()) {
    return matches.empty() ? std::nullopt : std::optional<json::value>(std::move(matches[0]));
  }
  return std::optional<json::value>(json::value(std::move(matches)));
}

bool JsonPath::Assign(boost::json::value& target, boost::json::value value) const {
  if (!impl_->steps.reference || impl_->root != Root::kInput || !CanAssign(impl_->steps, target)) {
    return false;
  }
  json::value* slot = &target;
  for (const Segment& seg : impl_->steps.segments) {
    if (const auto* name = std::get_if<NameSel>(&seg.sel)) {
      json::object& object = slot->is_object() ? slot->get_object() : slot->emplace_object();
      slot = &object[name->name];
    } else {
      json::array& array = slot->get_array();
      slot = &array[*ResolveIndex(std::get<IndexSel>(seg.sel).index, array.size())];
    }
  }
  *slot = std::move(value);
  return true;
}

std::string NormalizedPathText(const JsonPath& path) {
  std::string out = "$";
  if (path.root() == JsonPath::Root::kContext) {
    out += "$";
  } else if (path.root() == JsonPath::Root::kVariable) {
    out += path.variable_name();
  }
  for (const Segment& seg : path.impl_->steps.segments) {
    AppendNormalized(seg, out);
  }
  return out;
}

}  // namespace stepflow::sm
