#include "statemachine/jsonata/lexer.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "statemachine/jsonata/unicode.h"

namespace stepflow::sm::jsonata {
namespace {

constexpr std::string_view kSingleCharOperators = ".[]{}(),@#;:?+-*/%|=<>^&";

bool IsOperatorChar(char c) { return kSingleCharOperators.find(c) != std::string_view::npos; }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

Token Lexer::Make(TokenType type, std::string value) {
  Token t;
  t.type = type;
  t.value = std::move(value);
  t.position = static_cast<std::int64_t>(pos_);
  return t;
}

void Lexer::SkipSpaceAndComments() {
  while (pos_ < text_.size()) {
    if (IsSpace(text_[pos_])) {
      ++pos_;
    } else if (text_.substr(pos_, 2) == "/*") {
      std::size_t end = text_.find("*/", pos_ + 2);
      if (end == std::string_view::npos) {
        pos_ = text_.size();
        Fail("S0106", static_cast<std::int64_t>(pos_));
      }
      pos_ = end + 2;
    } else {
      return;
    }
  }
}

Token Lexer::ReadRegex() {
  // pos_ is just after the opening '/'
  std::size_t start = pos_;
  int depth = 0;
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == '/' && depth == 0 && (pos_ == start || text_[pos_ - 1] != '\\' ||
                                   (pos_ >= 2 && text_.substr(pos_ - 2, 2) == "\\\\"))) {
      // a '/' preceded by an even number of backslashes ends the pattern
      std::size_t backslashes = 0;
      for (std::size_t i = pos_; i > start && text_[i - 1] == '\\'; --i) {
        ++backslashes;
      }
      if (backslashes % 2 == 0) {
        std::string pattern(text_.substr(start, pos_ - start));
        if (pattern.empty()) {
          Fail("S0301", static_cast<std::int64_t>(pos_));
        }
        ++pos_;
        std::size_t flag_start = pos_;
        while (pos_ < text_.size() && (text_[pos_] == 'i' || text_[pos_] == 'm')) {
          ++pos_;
        }
        Token t = Make(TokenType::kRegex, std::move(pattern));
        t.regex_flags = std::string(text_.substr(flag_start, pos_ - flag_start));
        return t;
      }
    }
    if ((c == '(' || c == '[' || c == '{') && (pos_ == start || text_[pos_ - 1] != '\\')) {
      ++depth;
    }
    if ((c == ')' || c == ']' || c == '}') && (pos_ == start || text_[pos_ - 1] != '\\')) {
      --depth;
    }
    ++pos_;
  }
  Fail("S0302", static_cast<std::int64_t>(pos_));
}

Token Lexer::ReadString(char quote) {
  ++pos_;
  std::string out;
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == '\\') {
      ++pos_;
      if (pos_ >= text_.size()) {
        break;
      }
      char e = text_[pos_];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          auto hex = [&](std::size_t at, unsigned* unit) {
            if (at + 4 > text_.size()) {
              return false;
            }
            unsigned v = 0;
            for (std::size_t i = at; i < at + 4; ++i) {
              char h = text_[i];
              v <<= 4;
              if (h >= '0' && h <= '9') { v |= static_cast<unsigned>(h - '0'); }
              else if (h >= 'a' && h <= 'f') { v |= static_cast<unsigned>(h - 'a' + 10); }
              else if (h >= 'A' && h <= 'F') { v |= static_cast<unsigned>(h - 'A' + 10); }
              else { return false; }
            }
            *unit = v;
            return true;
          };
          unsigned unit = 0;
          if (!hex(pos_ + 1, &unit)) {
            Fail("S0104", static_cast<std::int64_t>(pos_));
          }
          pos_ += 4;
          unsigned low = 0;
          if (unit >= 0xD800 && unit < 0xDC00 && text_.substr(pos_ + 1, 2) == "\\u" && hex(pos_ + 3, &low) &&
              low >= 0xDC00 && low < 0xE000) {
            AppendUtf8(out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
            pos_ += 6;
          } else {
            AppendUtf8(out, unit);  // a lone surrogate is kept WTF-8 style
          }
          break;
        }
        default:
          Fail("S0103", static_cast<std::int64_t>(pos_), std::string(1, e));
      }
      ++pos_;
    } else if (c == quote) {
      ++pos_;
      return Make(TokenType::kString, std::move(out));
    } else {
      out += c;
      ++pos_;
    }
  }
  Fail("S0101", static_cast<std::int64_t>(pos_));
}

std::string Lexer::ReadSignature() {
  std::size_t start = pos_;
  int depth = 1;
  while (pos_ < text_.size() && depth > 0) {
    if (text_[pos_] == '<') { ++depth; }
    if (text_[pos_] == '>') { --depth; }
    ++pos_;
  }
  if (depth > 0) {
    Fail("S0203", static_cast<std::int64_t>(pos_), ">");
  }
  return std::string(text_.substr(start, pos_ - start - 1));
}

Token Lexer::Next(bool prefix) {
  SkipSpaceAndComments();
  if (pos_ >= text_.size()) {
    return Make(TokenType::kEnd, "(end)");
  }
  char c = text_[pos_];
  if (prefix && c == '/') {
    ++pos_;
    return ReadRegex();
  }
  std::string_view two = text_.substr(pos_, 2);
  if (two == ".." || two == ":=" || two == "!=" || two == ">=" || two == "<=" || two == "**" || two == "~>") {
    pos_ += 2;
    return Make(TokenType::kOperator, std::string(two));
  }
  if (c == '!' || c == '~') {
    ++pos_;
    Fail("S0204", static_cast<std::int64_t>(pos_), std::string(1, c));
  }
  if (IsOperatorChar(c)) {
    ++pos_;
    return Make(TokenType::kOperator, std::string(1, c));
  }
  if (c == '"' || c == '\'') {
    return ReadString(c);
  }
  if (c >= '0' && c <= '9') {
    std::size_t start = pos_;
    if (c == '0') {
      ++pos_;
    } else {
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) { ++pos_; }
    }
    if (pos_ + 1 < text_.size() && text_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(text_[pos_ + 1]))) {
      ++pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) { ++pos_; }
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      std::size_t save = pos_;
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) { ++pos_; }
      if (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) { ++pos_; }
      } else {
        pos_ = save;
      }
    }
    std::string digits(text_.substr(start, pos_ - start));
    double d = std::strtod(digits.c_str(), nullptr);
    if (!std::isfinite(d)) {
      Fail("S0102", static_cast<std::int64_t>(pos_), digits);
    }
    Token t = Make(TokenType::kNumber, digits);
    t.number = d;
    return t;
  }
  if (c == '`') {
    std::size_t end = text_.find('`', pos_ + 1);
    if (end == std::string_view::npos) {
      pos_ = text_.size();
      Fail("S0105", static_cast<std::int64_t>(pos_));
    }
    std::string name(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return Make(TokenType::kName, std::move(name));
  }
  // a name or variable: everything up to whitespace or an operator character
  std::size_t start = pos_;
  while (pos_ < text_.size() && !IsSpace(text_[pos_]) && !IsOperatorChar(text_[pos_]) && text_[pos_] != '!' &&
         text_[pos_] != '~') {
    ++pos_;
  }
  if (pos_ == start) {
    ++pos_;
    Fail("S0204", static_cast<std::int64_t>(pos_), std::string(1, c));
  }
  std::string name(text_.substr(start, pos_ - start));
  if (name[0] == '$') {
    return Make(TokenType::kVariable, name.substr(1));
  }
  if (name == "and" || name == "or" || name == "in") {
    return Make(TokenType::kOperator, name);
  }
  if (name == "true" || name == "false" || name == "null") {
    return Make(TokenType::kValue, name);
  }
  return Make(TokenType::kName, name);
}

}  // namespace stepflow::sm::jsonata
