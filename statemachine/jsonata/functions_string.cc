// String functions. $substring, $length and $pad count characters (code points) as jsonata-js's
// stringToArray does.

#include <cmath>

#include "statemachine/jsonata/functions.h"
#include "statemachine/jsonata/text.h"
#include "statemachine/jsonata/unicode.h"

namespace stepflow::sm::jsonata::fn {
namespace {

std::vector<std::string> Characters(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    n = std::min(n, s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

// JavaScript's Array.prototype.slice index normalisation.
std::int64_t SliceIndex(double d, std::int64_t length) {
  if (std::isnan(d)) {
    return 0;
  }
  d = std::trunc(d);
  if (d < 0) {
    d = std::max(0.0, static_cast<double>(length) + d);
  }
  return static_cast<std::int64_t>(std::min(d, static_cast<double>(length)));
}

std::string JoinRange(const std::vector<std::string>& chars, std::int64_t from, std::int64_t to) {
  std::string out;
  for (std::int64_t i = from; i < to; ++i) {
    out += chars[static_cast<std::size_t>(i)];
  }
  return out;
}

}  // namespace

Value String(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  if (a[0].is_string()) {
    return a[0];  // itself (strings are immutable): no copy
  }
  bool pretty = a.size() > 1 && a[1].is_bool() && a[1].boolean();
  return Value::String(Stringify(a[0], pretty, &ev));
}

Value Substring(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::vector<std::string> chars = Characters(a[0].str());
  const auto length = static_cast<std::int64_t>(chars.size());
  double start = a[1].number();
  if (static_cast<double>(length) + start < 0) {
    start = 0;
  }
  if (a.size() > 2 && !a[2].undefined()) {
    double len = a[2].number();
    if (len <= 0) {
      return Value::String("");
    }
    double end = start >= 0 ? start + len : static_cast<double>(length) + start + len;
    std::int64_t from = SliceIndex(start, length);
    std::int64_t to = SliceIndex(end, length);
    return Value::String(from < to ? JoinRange(chars, from, to) : "");
  }
  return Value::String(JoinRange(chars, SliceIndex(start, length), length));
}

Value SubstringBefore(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::size_t pos = a[0].str().find(a[1].str());
  return pos == std::string::npos ? a[0] : Value::String(a[0].str().substr(0, pos));
}

Value SubstringAfter(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::size_t pos = a[0].str().find(a[1].str());
  return pos == std::string::npos ? a[0] : Value::String(a[0].str().substr(pos + a[1].str().size()));
}

Value Lowercase(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  return Value::String(JsToLowerCase(a[0].str_view()));
}

Value Uppercase(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  return Value::String(JsToUpperCase(a[0].str_view()));
}

Value Length(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  return Value::Number(static_cast<double>(Characters(a[0].str()).size()));
}

Value Trim(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::string out;
  bool in_space = false;
  for (char c : a[0].str()) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) {
      out += ' ';
    }
    in_space = false;
    out += c;
  }
  return Value::String(std::move(out));
}

Value Pad(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::string pad_char = a.size() > 2 && a[2].is_string() ? a[2].str() : " ";
  if (pad_char.empty()) {
    pad_char.assign(1, ' ');
  }
  double width = a[1].number();
  std::vector<std::string> chars = Characters(a[0].str());
  double pad_length = std::fabs(width) - static_cast<double>(chars.size());
  if (pad_length <= 0) {
    return a[0];
  }
  ev.CheckStringSize(static_cast<std::size_t>(pad_length) * pad_char.size());
  std::vector<std::string> pad_chars = Characters(pad_char);
  std::string padding;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(pad_length); ++i) {
    padding += pad_chars[static_cast<std::size_t>(i) % pad_chars.size()];
  }
  std::string out;
  if (width < 0) {
    out.append(padding).append(a[0].str());
  } else {
    out.append(a[0].str()).append(padding);
  }
  return Value::String(std::move(out));
}

Value Join(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::string sep = a.size() > 1 && a[1].is_string() ? a[1].str() : "";
  std::string out;
  bool first = true;
  for (const Value& item : a[0].array().items) {
    if (!first) {
      out += sep;
    }
    first = false;
    out += item.str_view();
    ev.CheckStringSize(out.size());
  }
  return Value::String(std::move(out));
}

}  // namespace stepflow::sm::jsonata::fn
