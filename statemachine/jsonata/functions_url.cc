// $base64encode/$base64decode (UTF-8 text, as jsonata-js under Node) and the URI functions with
// JavaScript's encodeURIComponent / encodeURI / decodeURIComponent / decodeURI rules (D3140 on malformed
// input).

#include <string_view>

#include "statemachine/jsonata/functions.h"

namespace stepflow::sm::jsonata::fn {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUnreservedMarks = "-_.!~*'()";
constexpr std::string_view kReserved = ";/?:@&=+$,#";

bool IsAlnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

Value Encode(const Value& v, std::string_view keep) {
  if (v.undefined()) {
    return Value();
  }
  static const char kHex[] = "0123456789ABCDEF";
  const std::string& s = v.str();
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (IsAlnum(c) || kUnreservedMarks.find(static_cast<char>(c)) != std::string_view::npos ||
        keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
      continue;
    }
    if (c == 0xED && i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0) {
      Fail("D3140", -1);  // a lone surrogate cannot be encoded
    }
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return Value::String(std::move(out));
}

int HexValue(char h) {
  if (h >= '0' && h <= '9') { return h - '0'; }
  if (h >= 'a' && h <= 'f') { return h - 'a' + 10; }
  if (h >= 'A' && h <= 'F') { return h - 'A' + 10; }
  return -1;
}

Value Decode(const Value& v, std::string_view keep) {
  if (v.undefined()) {
    return Value();
  }
  const std::string& s = v.str();
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() + 0 || HexValue(s[i + 1]) < 0 || HexValue(s[i + 2]) < 0) {
      Fail("D3140", -1);
    }
    char c = static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
    if (static_cast<unsigned char>(c) < 0x80 && keep.find(c) != std::string_view::npos) {
      out += s.substr(i, 3);
    } else {
      out += c;
    }
    i += 2;
  }
  // the decoded bytes must be valid UTF-8
  for (std::size_t i = 0; i < out.size();) {
    unsigned char c = static_cast<unsigned char>(out[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > out.size()) {
      Fail("D3140", -1);
    }
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(out[i + k]) & 0xC0) != 0x80) {
        Fail("D3140", -1);
      }
    }
    i += n;
  }
  return Value::String(std::move(out));
}

}  // namespace

Value Base64Encode(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  const std::string& s = a[0].str();
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(s[i]) << 16) | (static_cast<unsigned char>(s[i + 1]) << 8) |
                 static_cast<unsigned char>(s[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (i < s.size()) {
    unsigned v = static_cast<unsigned char>(s[i]) << 16;
    if (i + 1 < s.size()) {
      v |= static_cast<unsigned char>(s[i + 1]) << 8;
    }
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < s.size() ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return Value::String(std::move(out));
}

Value Base64Decode(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : a[0].str()) {
    const char* p = std::char_traits<char>::find(kBase64, 64, c);
    if (p == nullptr) {
      continue;  // padding and anything else is skipped, as Node's decoder does
    }
    buffer = (buffer << 6) | static_cast<unsigned>(p - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return Value::String(std::move(out));
}

Value EncodeUrlComponent(Evaluator&, Args& a, const Value&) { return Encode(a[0], ""); }
Value EncodeUrl(Evaluator&, Args& a, const Value&) { return Encode(a[0], kReserved); }
Value DecodeUrlComponent(Evaluator&, Args& a, const Value&) { return Decode(a[0], ""); }
Value DecodeUrl(Evaluator&, Args& a, const Value&) { return Decode(a[0], kReserved); }

}  // namespace stepflow::sm::jsonata::fn
