#include "statemachine/json_text.h"

#include <charconv>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace stepflow::sm {
namespace json = boost::json;

// Java's Double.toString: plain notation for 1e-3 <= |d| < 1e7, "d.dddE[-]n" otherwise, always with
// at least one fractional digit, shortest digits that round-trip.
std::string JavaDoubleText(double d) {
  if (d == 0) {
    return std::signbit(d) ? "-0.0" : "0.0";
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string_view sci(buf, end - buf);  // e.g. "-1.2345e+02"
  std::string sign;
  if (sci.front() == '-') {
    sign = "-";
    sci.remove_prefix(1);
  }
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') {
      digits.push_back(c);
    }
  }
  int exponent = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  if (!exp_text.empty() && exp_text.front() == '+') {
    exp_text.remove_prefix(1);
  }
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  const double magnitude = std::fabs(d);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    std::string out;
    if (exponent >= 0) {
      const size_t int_len = static_cast<size_t>(exponent) + 1;
      while (digits.size() < int_len) {
        digits.push_back('0');
      }
      out = digits.substr(0, int_len) + "." + (digits.size() > int_len ? digits.substr(int_len) : "0");
    } else {
      out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    }
    return sign + out;
  }
  const std::string fraction = digits.size() > 1 ? digits.substr(1) : "0";
  return absl::StrCat(sign, digits.substr(0, 1), ".", fraction, "E", exponent);
}

namespace {

// The length of the well-formed UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when there is none
// (a stray continuation byte, an overlong form, a surrogate, a truncated sequence, above U+10FFFF).
std::size_t ValidUtf8SequenceLength(std::string_view s, std::size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    low = c == 0xE0 ? 0xA0 : 0x80;
    high = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    low = c == 0xF0 ? 0x90 : 0x80;
    high = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + length > s.size()) {
    return 0;
  }
  const unsigned char second = static_cast<unsigned char>(s[i + 1]);
  if (second < low || second > high) {
    return 0;
  }
  for (std::size_t k = 2; k < length; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
      return 0;
    }
  }
  return length;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  // Characters that need no escape are copied in runs: this text is written for every history event.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    std::string_view escape;
    switch (c) {
      case '"':
        escape = "\\\"";
        break;
      case '\\':
        escape = "\\\\";
        break;
      case '\n':
        escape = "\\n";
        break;
      case '\r':
        escape = "\\r";
        break;
      case '\t':
        escape = "\\t";
        break;
      case '\b':
        escape = "\\b";
        break;
      case '\f':
        escape = "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x80) {
          const std::size_t length = ValidUtf8SequenceLength(s, i);
          if (length > 0) {
            i += length - 1;
            continue;
          }
          // Not UTF-8 (no parser lets such bytes in, but the text must stay JSON whatever happens):
          // replaced by U+FFFD as Jackson does.
          out.append(s.data() + run, i - run);
          run = i + 1;
          out.append("\xEF\xBF\xBD");
          continue;
        }
        if (static_cast<unsigned char>(c) >= 0x20) {
          continue;
        }
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (!escape.empty()) {
      out.append(escape);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += "\\u00";
      out.push_back(kHex[(c >> 4) & 0xF]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

// Compact JSON as AWS (Jackson) writes it: no whitespace, numbers as Java prints them.
void AppendAwsJson(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      absl::StrAppend(&out, v.get_int64());
      return;
    case json::kind::uint64:
      absl::StrAppend(&out, v.get_uint64());
      return;
    case json::kind::double_:
      // A non-finite number has no JSON text. Parsers refuse them at the door (ParseJson) and producers
      // fail the state, so this is a last line of defence that keeps the output valid JSON.
      if (!std::isfinite(v.get_double())) {
        out += "null";
        return;
      }
      out += JavaDoubleText(v.get_double());
      return;
    case json::kind::string:
      AppendJsonString(out, v.get_string());
      return;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const json::value& item : v.get_array()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        AppendAwsJson(out, item);
      }
      out.push_back(']');
      return;
    }
    case json::kind::object:
      AppendAwsJson(out, v.get_object());
      return;
  }
}

void AppendAwsJson(std::string& out, const json::object& o) {
  out.push_back('{');
  bool first = true;
  for (const auto& member : o) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    AppendJsonString(out, member.key());
    out.push_back(':');
    AppendAwsJson(out, member.value());
  }
  out.push_back('}');
}

std::string ToAwsJson(const json::value& v) {
  std::string out;
  AppendAwsJson(out, v);
  return out;
}

}  // namespace stepflow::sm
