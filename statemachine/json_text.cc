#include "statemachine/json_text.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace stepflow::sm {
namespace json = boost::json;

namespace {

// Java's Double.toString: plain notation for 1e-3 <= |d| < 1e7, "d.dddE[-]n" otherwise, always with
// at least one fractional digit, shortest digits that round-trip. Written into a buffer on the stack: this is
// done for every number of every document a history event carries.
void AppendJavaDouble(std::string& out, double d) {
  if (d == 0) {
    out += std::signbit(d) ? "-0.0" : "0.0";
    return;
  }
  const double magnitude = std::fabs(d);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    // Most numbers in documents have a few decimals. The text with k decimals nearest to d is m / 10^k with
    // m = round(d * 10^k); it reads back as d exactly when the division m / 10^k gives d (m < 2^53 and 10^k
    // are exact, so the division rounds as a parser reading the text does). Here the gap between two doubles
    // is far below 10^-6, so no other text with k decimals reads back as d, and the first such k (0..6)
    // gives the shortest text: the digits to_chars would give, without its cost.
    static constexpr double kPowers[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    for (int k = 0; k <= 6; ++k) {
      const double m = std::nearbyint(magnitude * kPowers[k]);
      if (m / kPowers[k] != magnitude) {
        continue;
      }
      char text[32];
      char* w = text;
      if (d < 0) {
        *w++ = '-';
      }
      const auto whole = static_cast<std::uint64_t>(m);
      const std::uint64_t scale = static_cast<std::uint64_t>(kPowers[k]);
      w = std::to_chars(w, text + sizeof(text), whole / scale).ptr;
      *w++ = '.';
      if (k == 0) {
        *w++ = '0';
      } else {
        std::uint64_t fraction = whole % scale;
        for (int digit = k - 1; digit >= 0; --digit) {
          w[digit] = static_cast<char>('0' + fraction % 10);
          fraction /= 10;
        }
        w += k;
      }
      out.append(text, static_cast<std::size_t>(w - text));
      return;
    }
  }
  char sci[32];  // the shortest scientific form, e.g. "-1.2345e+02": at most 17 digits, sign, exponent
  const char* const sci_end = std::to_chars(sci, sci + sizeof(sci), d, std::chars_format::scientific).ptr;
  const char* p = sci;
  char text[48];  // the longest result: "-0.00" + 17 digits, or "-d." + 16 digits + "E-324"
  char* w = text;
  if (*p == '-') {
    *w++ = '-';
    ++p;
  }
  char digits[24] = {};
  std::size_t n = 0;
  for (; p != sci_end && *p != 'e'; ++p) {
    if (*p != '.') {
      digits[n++] = *p;
    }
  }
  int exponent = 0;
  if (p != sci_end) {
    ++p;  // 'e'
    if (*p == '+') {
      ++p;
    }
    std::from_chars(p, sci_end, exponent);
  }
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    if (exponent >= 0) {
      const std::size_t int_len = static_cast<std::size_t>(exponent) + 1;
      for (std::size_t k = 0; k < int_len; ++k) {
        *w++ = k < n ? digits[k] : '0';
      }
      *w++ = '.';
      if (n > int_len) {
        for (std::size_t k = int_len; k < n; ++k) {
          *w++ = digits[k];
        }
      } else {
        *w++ = '0';
      }
    } else {
      *w++ = '0';
      *w++ = '.';
      for (int k = 0; k < -exponent - 1; ++k) {
        *w++ = '0';
      }
      for (std::size_t k = 0; k < n; ++k) {
        *w++ = digits[k];
      }
    }
    out.append(text, static_cast<std::size_t>(w - text));
    return;
  }
  *w++ = digits[0];
  *w++ = '.';
  if (n > 1) {
    for (std::size_t k = 1; k < n; ++k) {
      *w++ = digits[k];
    }
  } else {
    *w++ = '0';
  }
  *w++ = 'E';
  w = std::to_chars(w, text + sizeof(text), exponent).ptr;
  out.append(text, static_cast<std::size_t>(w - text));
}

}  // namespace

std::string JavaDoubleText(double d) {
  std::string out;
  AppendJavaDouble(out, d);
  return out;
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

// The bytes AppendJsonString must look at: '"', '\\', control characters and every byte of a multi-byte
// UTF-8 sequence (checked, as Jackson's input would be). Every other byte is copied as it is.
constexpr std::array<bool, 256> kNeedsCare = [] {
  std::array<bool, 256> care{};
  for (int c = 0; c < 256; ++c) {
    care[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  }
  return care;
}();

// Whether any of the eight bytes at `p` is one kNeedsCare marks: below 0x20, '"', '\\' or 0x80 and above
// (bit tricks on one 64-bit word: a byte below n sets its top bit in (w - n) & ~w).
bool HasByteNeedingCare(const char* p) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHighs = 0x8080808080808080ull;
  std::uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  const auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const std::uint64_t below_space = (w - 0x20 * kOnes) & ~w & kHighs;
  return ((w & kHighs) | below_space | has_zero(w ^ ('"' * kOnes)) | has_zero(w ^ ('\\' * kOnes))) != 0;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  // Most strings (keys, names, ids) need no escape: found that, they are written with one resize and a copy.
  std::size_t i = 0;
  while (i + 8 <= s.size() && !HasByteNeedingCare(s.data() + i)) {
    i += 8;
  }
  while (i < s.size() && !kNeedsCare[static_cast<unsigned char>(s[i])]) {
    ++i;
  }
  if (i == s.size()) {
    const std::size_t at = out.size();
    out.resize(at + s.size() + 2);
    char* p = out.data() + at;
    p[0] = '"';
    std::memcpy(p + 1, s.data(), s.size());
    p[s.size() + 1] = '"';
    return;
  }
  out.push_back('"');
  // From the first byte that needs care on, characters that need no escape are copied in runs. Eight bytes at
  // a time are checked at once; a group with one that needs care is looked at byte by byte.
  std::size_t run = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size() && !HasByteNeedingCare(s.data() + i)) {
      i += 8;
      continue;
    }
    const std::size_t group_end = std::min(i + 8, s.size());
    for (; i < group_end; ++i) {
      const char c = s[i];
      if (!kNeedsCare[static_cast<unsigned char>(c)]) {
        continue;
      }
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
              i += length - 1;  // may pass group_end: the next group starts after the sequence
              continue;
            }
            // Not UTF-8 (no parser lets such bytes in, but the text must stay JSON whatever happens):
            // replaced by U+FFFD as Jackson does.
            out.append(s.data() + run, i - run);
            run = i + 1;
            out.append("\xEF\xBF\xBD");
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
      AppendJavaDouble(out, v.get_double());
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
  // Written into a buffer the thread keeps and copied once at its final size: a new string grown to the size
  // of a document is reallocated and copied log2(size / 15) times on the way.
  constexpr std::size_t kKeptScratchBytes = 64 * 1024;
  thread_local std::string scratch;
  scratch.clear();
  AppendAwsJson(scratch, v);
  std::string out(scratch);
  if (scratch.capacity() > kKeptScratchBytes) {
    std::string().swap(scratch);  // a rare large document: not kept for the thread's lifetime
  }
  return out;
}

}  // namespace stepflow::sm
