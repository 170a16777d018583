#pragma once
// JSONata's tokenizer (internal). Errors are thrown as JsonataException (parse time only).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "statemachine/jsonata/jsonata.h"

namespace stepflow::sm::jsonata {

// Carries a JsonataError through the parser and the evaluator; caught at Compile/Evaluate. Thrown only
// when the expression fails, never on the success path.
struct JsonataException {
  JsonataError error;
};

[[noreturn]] void Fail(std::string code, std::int64_t position, std::string token = {});

enum class TokenType : std::uint8_t { kOperator, kString, kNumber, kName, kVariable, kValue, kRegex, kEnd };

struct Token {
  TokenType type = TokenType::kEnd;
  std::string value;  // operator text, string contents, name, variable name (without $), true/false/null
  double number = 0;
  std::string regex_flags;
  std::int64_t position = 0;  // offset just after the token
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}
  // The next token; `prefix` is true when a regex may start here (after an operator).
  Token Next(bool prefix);
  // The raw text of a function signature after its '<', up to and including the matching '>'.
  std::string ReadSignature();

 private:
  Token Make(TokenType type, std::string value);
  Token ReadString(char quote);
  Token ReadRegex();
  void SkipSpaceAndComments();

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace stepflow::sm::jsonata
