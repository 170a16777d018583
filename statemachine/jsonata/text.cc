#include "statemachine/jsonata/text.h"

#include <cmath>
#include <cstdlib>

#include "statemachine/jsonata/evaluator.h"
#include "statemachine/jsonata/js_number.h"
#include "statemachine/jsonata/lexer.h"
#include "statemachine/jsonata/js_number.h"

namespace stepflow::sm::jsonata {

std::string NumberText(double d) { return JsonataNumberToString(d); }

void AppendJsonString(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else if (c == 0xED && i + 2 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0) {
          // a lone surrogate (WTF-8): JSON.stringify escapes it
          unsigned cp = ((c & 0x0F) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
                        (static_cast<unsigned char>(s[i + 2]) & 0x3F);
          out += "\\u";
          out += kHex[(cp >> 12) & 15];
          out += kHex[(cp >> 8) & 15];
          out += kHex[(cp >> 4) & 15];
          out += kHex[cp & 15];
          i += 2;
        } else if (c < 0x80) {
          out += static_cast<char>(c);
        } else {
          // a well-formed UTF-8 sequence is copied; an invalid byte becomes U+FFFD, as a JavaScript
          // string read from such bytes holds
          std::size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
          bool valid = n != 0 && i + n <= s.size();
          for (std::size_t k = 1; valid && k < n; ++k) {
            valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
          }
          if (valid) {  // no overlong forms, no code points beyond U+10FFFF
            const unsigned char second = static_cast<unsigned char>(s[i + 1]);
            valid = !(c < 0xC2 || (c == 0xE0 && second < 0xA0) || c > 0xF4 || (c == 0xF0 && second < 0x90) ||
                      (c == 0xF4 && second >= 0x90));
          }
          if (valid) {
            out.append(s.substr(i, n));
            i += n - 1;
          } else {
            out += "\ufffd";
          }
        }
    }
  }
  out += '"';
}

namespace {

void Indent(std::string& out, int level) {
  out += '\n';
  out.append(static_cast<std::size_t>(level) * 2, ' ');
}

void StringifyInto(std::string& out, const Value& v, bool pretty, int level, Evaluator* ev) {
  if (level > 10000) {
    Fail("U1001", -1);
  }
  if (ev != nullptr) {
    ev->CheckStringSize(out.size());
  }
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNull:
      out += "null";
      return;
    case Kind::kBool:
      out += v.boolean() ? "true" : "false";
      return;
    case Kind::kNumber:
      if (!std::isfinite(v.number())) {
        Fail("D1001", -1);
      }
      out += NumberText(v.number());
      return;
    case Kind::kString:
      AppendJsonString(out, v.str_view());
      return;
    case Kind::kFunction:
      out += "\"\"";
      return;
    case Kind::kArray: {
      const auto& items = v.array().items;
      out += '[';
      bool first = true;
      for (const Value& item : items) {
        if (!first) {
          out += ',';
        }
        first = false;
        if (pretty) {
          Indent(out, level + 1);
        }
        StringifyInto(out, item, pretty, level + 1, ev);
      }
      if (pretty && !items.empty()) {
        Indent(out, level);
      }
      out += ']';
      return;
    }
    case Kind::kObject: {
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.object().entries) {
        if (item.undefined()) {
          continue;
        }
        if (!first) {
          out += ',';
        }
        first = false;
        if (pretty) {
          Indent(out, level + 1);
        }
        AppendJsonString(out, k);
        out += pretty ? ": " : ":";
        StringifyInto(out, item, pretty, level + 1, ev);
      }
      if (pretty && !first) {
        Indent(out, level);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string Stringify(const Value& in, bool prettify, Evaluator* ev) {
  if (in.is_string()) {
    return std::string(in.str_view());
  }
  if (in.is_function()) {
    return "";
  }
  if (in.is_number() && !std::isfinite(in.number())) {
    Fail("D3001", -1);
  }
  Value v = in;
  if (v.is_array() && v.array().outer_wrapper && !v.array().items.empty()) {
    v = v.array().items[0];
  }
  std::string out;
  StringifyInto(out, v, prettify, 0, ev);
  return out;
}

int CompareStrings(std::string_view a, std::string_view b) {
  int c = a.compare(b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

}  // namespace stepflow::sm::jsonata

namespace stepflow::sm::jsonata {
namespace {

void WriteJson(std::string& out, const boost::json::value& v, int depth) {
  if (depth > 10000) {
    out += "null";
    return;
  }
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; return;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case boost::json::kind::int64: out += std::to_string(v.get_int64()); return;
    case boost::json::kind::uint64: out += std::to_string(v.get_uint64()); return;
    case boost::json::kind::double_: out += JsNumberToString(v.get_double()); return;
    case boost::json::kind::string: AppendJsonString(out, v.get_string()); return;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) { out += ','; }
        first = false;
        WriteJson(out, item, depth + 1);
      }
      out += ']';
      return;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) { out += ','; }
        first = false;
        AppendJsonString(out, kv.key());
        out += ':';
        WriteJson(out, kv.value(), depth + 1);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string ToJsonText(const boost::json::value& value) {
  std::string out;
  WriteJson(out, value, 0);
  return out;
}

}  // namespace stepflow::sm::jsonata
