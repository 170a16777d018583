#include "statemachine/json_parse.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/precise_json.h"

namespace stepflow::sm {
namespace json = boost::json;
namespace {

absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// "what: " or nothing.
std::string Prefix(std::string_view what) { return what.empty() ? "" : absl::StrCat(Av(what), ": "); }

std::string Where(std::string_view text, std::size_t offset) {
  const TextLocation at = LocateOffset(text, offset);
  return absl::StrCat("line ", at.line, ", column ", at.column, " (offset ", at.offset, ")");
}

bool IsNumberChar(char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }

// True when the number token overflows a double (underflow to zero is accepted).
bool Overflows(std::string_view token) {
  const std::string copy(token);
  errno = 0;
  const double d = std::strtod(copy.c_str(), nullptr);
  return !std::isfinite(d) || (errno == ERANGE && std::fabs(d) > 1.0);
}

// Appends `token` (an escaped JSON pointer reference token, RFC 6901) to `pointer`.
void AppendPointerToken(std::string& pointer, std::string_view token) {
  pointer.push_back('/');
  for (char c : token) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer.push_back(c);
    }
  }
}

// Walks JSON text that Boost.JSON has already accepted (so it is well formed) and reports the first
// repeated object key with its JSON pointer.
class DuplicateKeyScanner {
 public:
  explicit DuplicateKeyScanner(std::string_view text) : text_(text) {}

  // Returns the JSON pointer of the first repeated key and sets `offset`; empty when there is none.
  std::optional<std::string> Find(std::size_t& offset) {
    for (pos_ = 0; pos_ < text_.size(); ++pos_) {
      const char c = text_[pos_];
      if (c == '{' || c == '[') {
        frames_.push_back(Frame{c == '{', {}, "", 0, false});
      } else if (c == '}' || c == ']') {
        frames_.pop_back();
        Advance();
      } else if (c == ',') {
        Advance();
      } else if (c == '"') {
        const std::size_t start = pos_;
        const std::string decoded = ReadString();
        if (!frames_.empty() && frames_.back().is_object && !frames_.back().has_key) {
          Frame& f = frames_.back();
          f.has_key = true;
          f.key = decoded;
          if (!f.keys.insert(decoded).second) {
            offset = start;
            return Pointer();
          }
        }
      }
    }
    return std::nullopt;
  }

 private:
  struct Frame {
    bool is_object;
    std::set<std::string> keys;
    std::string key;     // the current member's key (objects)
    std::size_t index;   // the current element's index (arrays)
    bool has_key;        // the current member's key has been read
  };

  // After a ',' (or a closed child): the next member needs a key; the next element has the next index.
  void Advance() {
    if (frames_.empty()) {
      return;
    }
    if (text_[pos_] == ',') {
      Frame& f = frames_.back();
      f.has_key = false;
      ++f.index;
    }
  }

  // REQUIRES: at an opening quote. Leaves pos_ on the closing quote; returns the decoded string.
  std::string ReadString() {
    const std::size_t start = pos_;
    bool escaped = false;
    for (++pos_; pos_ < text_.size() && text_[pos_] != '"'; ++pos_) {
      if (text_[pos_] == '\\') {
        escaped = true;
        ++pos_;
      }
    }
    const std::string_view raw = text_.substr(start, pos_ - start + 1);
    if (!escaped) {
      return std::string(raw.substr(1, raw.size() - 2));
    }
    boost::system::error_code ec;
    json::value v = json::parse(raw, ec);
    return ec || !v.is_string() ? std::string(raw) : std::string(v.get_string());
  }

  std::string Pointer() const {
    std::string pointer;
    for (const Frame& f : frames_) {
      AppendPointerToken(pointer, f.is_object ? f.key : std::to_string(f.index));
    }
    return pointer;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::vector<Frame> frames_;
};

}  // namespace

TextLocation LocateOffset(std::string_view text, std::size_t offset) {
  TextLocation at;
  at.offset = offset;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else {
      ++at.column;
    }
  }
  return at;
}

NumberToken FindOutOfRangeNumber(std::string_view text) {
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i;
      while (end < text.size() && IsNumberChar(text[end])) {
        ++end;
      }
      const std::string_view token = text.substr(i, end - i);
      if (Overflows(token)) {
        return NumberToken{LocateOffset(text, i), token, true};
      }
      i = end - 1;
    }
  }
  return NumberToken{};
}

std::optional<DuplicateKey> FindDuplicateKey(std::string_view text) {
  std::size_t offset = 0;
  std::optional<std::string> pointer = DuplicateKeyScanner(text).Find(offset);
  if (!pointer.has_value()) {
    return std::nullopt;
  }
  return DuplicateKey{*std::move(pointer), offset};
}

bool AllNumbersFinite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return std::isfinite(v.get_double());
    case json::kind::array:
      for (const json::value& e : v.get_array()) {
        if (!AllNumbersFinite(e)) {
          return false;
        }
      }
      return true;
    case json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (!AllNumbersFinite(kv.value())) {
          return false;
        }
      }
      return true;
    default:
      return true;
  }
}

absl::StatusOr<json::value> ParseJson(std::string_view text, std::string_view what, const JsonParseOptions& options) {
  json::parse_options parse_options;
  parse_options.max_depth = options.max_depth;
  boost::system::error_code ec;
  std::size_t consumed = 0;
  // Text after the value leaves it unfinished: "incomplete JSON" where that text begins.
  std::optional<json::value> parsed =
      common::ParsePreciseJson(text, ec, parse_options, &consumed, common::TextAfterValue::kIncomplete);
  if (ec) {
    std::string detail = ec.message();
    if (ec == json::error::too_deep) {
      detail = absl::StrCat("nesting deeper than ", options.max_depth, " levels");
    }
    return absl::InvalidArgumentError(
        absl::StrCat(Prefix(what), "invalid JSON at ", Where(text, consumed), ": ", detail));
  }
  json::value value = *std::move(parsed);
  if (!AllNumbersFinite(value)) {
    const NumberToken bad = FindOutOfRangeNumber(text);
    const TextLocation at = bad.where;
    return absl::InvalidArgumentError(absl::StrCat(
        Prefix(what), "number ", Av(bad.found ? bad.text.substr(0, 40) : "?"), " at line ", at.line, ", column ",
        at.column, " (offset ", at.offset, ") is outside the range of a double"));
  }
  if (options.refuse_duplicate_keys) {
    if (std::optional<DuplicateKey> duplicate = FindDuplicateKey(text)) {
      return absl::InvalidArgumentError(absl::StrCat(Prefix(what), "duplicate key at ", duplicate->pointer, " (",
                                                     Where(text, duplicate->offset), ")"));
    }
  }
  return value;
}

}  // namespace stepflow::sm
