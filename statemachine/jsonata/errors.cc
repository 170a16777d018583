// JSONata's error messages, by code (jsonata-js 2.0.6's texts, shortened where they interpolate values).

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "statemachine/jsonata/lexer.h"

namespace stepflow::sm::jsonata {
namespace {

const std::map<std::string, std::string>& Messages() {
  static const auto* const kMessages = new std::map<std::string, std::string>{
      {"S0101", "String literal must be terminated by a matching quote"},
      {"S0102", "Number out of range: {{token}}"},
      {"S0103", "Unsupported escape sequence: \\{{token}}"},
      {"S0104", "The escape sequence \\u must be followed by 4 hex digits"},
      {"S0105", "Quoted property name must be terminated with a backquote (`)"},
      {"S0106", "Comment has no closing tag"},
      {"S0201", "Syntax error: {{token}}"},
      {"S0202", "Expected {{token}}"},
      {"S0203", "Expected {{token}} before end of expression"},
      {"S0204", "Unknown operator: {{token}}"},
      {"S0205", "Unexpected token: {{token}}"},
      {"S0206", "Unknown expression type: {{token}}"},
      {"S0207", "Unexpected end of expression"},
      {"S0208", "Parameter {{token}} of function definition must be a variable name (start with $)"},
      {"S0209", "A predicate cannot follow a grouping expression in a step"},
      {"S0210", "Each step can only have one grouping expression"},
      {"S0211", "The symbol {{token}} cannot be used as a unary operator"},
      {"S0212", "The left side of := must be a variable name (start with $)"},
      {"S0213", "The literal value {{token}} cannot be used as a step within a path expression"},
      {"S0214", "The right side of {{token}} must be a variable name (start with $)"},
      {"S0215", "A context variable binding must precede any predicates on a step"},
      {"S0216", "A context variable binding must precede the 'order-by' clause on a step"},
      {"S0217", "The object representing the 'parent' cannot be derived from this expression"},
      {"S0301", "Empty regular expressions are not allowed"},
      {"S0302", "No terminating / in regular expression"},
      {"S0303", "Invalid regular expression: {{token}}"},
      {"S0401", "Type parameters can only be applied to functions and arrays"},
      {"S0402", "Choice groups containing parameterized types are not supported"},
      {"T0410", "Argument {{token}} of function does not match function signature"},
      {"T0411", "Context value is not a compatible type with argument {{token}} of function"},
      {"T0412", "Argument {{token}} of function must be an array of the required type"},
      {"D1001", "Number out of range"},
      {"D1002", "Cannot negate a non-numeric value"},
      {"T1003", "Key in object structure must evaluate to a string"},
      {"D1004", "Regular expression matches zero length string"},
      {"T1005", "Attempted to invoke a non-function. Did you mean ${{token}}?"},
      {"T1006", "Attempted to invoke a non-function"},
      {"T1007", "Attempted to partially apply a non-function. Did you mean ${{token}}?"},
      {"T1008", "Attempted to partially apply a non-function"},
      {"D1009", "Multiple key definitions evaluate to same key: {{token}}"},
      {"T1010", "The matcher function argument passed to function does not return the correct object structure"},
      {"T2001", "The left side of the {{token}} operator must evaluate to a number"},
      {"T2002", "The right side of the {{token}} operator must evaluate to a number"},
      {"T2003", "The left side of the range operator (..) must evaluate to an integer"},
      {"T2004", "The right side of the range operator (..) must evaluate to an integer"},
      {"T2006", "The right side of the function application operator ~> must be a function"},
      {"T2007", "Type mismatch when comparing values in order-by clause"},
      {"T2008", "The expressions within an order-by clause must evaluate to numeric or string values"},
      {"T2009", "The values either side of the operator {{token}} must be of the same data type"},
      {"T2010", "The expressions either side of operator {{token}} must evaluate to numeric or string values"},
      {"T2011", "The insert/update clause of the transform expression must evaluate to an object"},
      {"T2012", "The delete clause of the transform expression must evaluate to a string or array of strings"},
      {"T2013", "The transform expression clones the input object using the $clone() function. This has been overridden in the current scope by a non-function."},
      {"D2014", "The size of the sequence allocated by the range operator (..) must not exceed 1e7."},
      {"D3001", "Attempting to invoke string function on Infinity or NaN"},
      {"D3010", "Second argument of replace function cannot be an empty string"},
      {"D3011", "Fourth argument of replace function must evaluate to a positive number"},
      {"D3012", "Attempted to replace a matched string with a non-string value"},
      {"D3020", "Third argument of split function must evaluate to a positive number"},
      {"D3030", "Unable to cast value to a number"},
      {"D3040", "Third argument of match function must evaluate to a positive number"},
      {"D3050", "The second argument of reduce function must be a function with at least two arguments"},
      {"D3060", "The sqrt function cannot be applied to a negative number"},
      {"D3061", "The power function has resulted in a value that cannot be represented as a JSON number"},
      {"D3070", "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function"},
      {"D3120", "Syntax error in expression passed to function eval: {{token}}"},
      {"D3121", "Dynamic error evaluating the expression passed to function eval: {{token}}"},
      {"D3137", "{{token}}"},
      {"D3138", "The $single() function expected exactly 1 matching result.  Instead it matched more."},
      {"D3139", "The $single() function expected exactly 1 matching result.  Instead it matched 0."},
      {"D3140", "Malformed URL passed to ${{token}}()"},
      {"D3141", "{{token}}"},
      {"U1001", "Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive."},
  };
  return *kMessages;
}

}  // namespace

[[noreturn]] void Fail(std::string code, std::int64_t position, std::string token) {
  JsonataException e;
  auto it = Messages().find(code);
  std::string message = it == Messages().end() ? code : it->second;
  if (code == "U1001" && !token.empty()) {
    message = absl::StrCat("The evaluation exceeded its ", token,
                           " limit (runaway guard): check for non-terminating recursion or huge results");
  }
  e.error.message = absl::StrReplaceAll(message, {{"{{token}}", token}});
  e.error.code = std::move(code);
  e.error.position = position;
  e.error.token = std::move(token);
  throw e;
}

}  // namespace stepflow::sm::jsonata
