// The JSONata runaway guard: deep expressions, deep input, huge ranges, runaway recursion and hostile
// regular expressions end with an error (U1001 or the JSONata code), never a crash or a hang.

#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "statemachine/jsonata/jsonata.h"

namespace stepflow::sm::jsonata {
namespace {

namespace json = boost::json;

std::string Code(const std::string& text, const json::value* input = nullptr, const EvaluationLimits& limits = {}) {
  CompileResult compiled = Compile(text);
  if (compiled.error) {
    return compiled.error->code;
  }
  EvaluationResult r = Evaluate(*compiled.expression, input, {}, {}, limits);
  return r.error ? r.error->code : "(ok)";
}

TEST(JsonataBoundsTest, DeeplyNestedExpressionsAreRefusedByTheParser) {
  EXPECT_EQ(Code(std::string(100000, '(') + "1" + std::string(100000, ')')), "U1001");
  EXPECT_EQ(Code(std::string(100000, '[') + "1" + std::string(100000, ']')), "U1001");
  EXPECT_EQ(Code(std::string(100000, '-') + "1"), "U1001");
  std::string chain = "a";
  for (int i = 0; i < 100000; ++i) {
    chain += ".a";
  }
  EXPECT_NE(Code(chain), "");  // a long flat path is fine or refused, but never crashes
}

TEST(JsonataBoundsTest, DeepInputAndDeepBuiltValuesAreRefused) {
  json::value deep = json::array();
  json::value* at = &deep;
  for (int i = 0; i < 5000; ++i) {
    at->as_array().push_back(json::array());
    at = &at->as_array().back();
  }
  // The input is read in place: nesting beyond kMaxValueDepth fails where the evaluation reaches it (the
  // result, a descent, a string of it), and reading only its top does not.
  EXPECT_EQ(Code("$", &deep), "U1001");
  EXPECT_EQ(Code("$string($)", &deep), "U1001");
  EXPECT_EQ(Code("**", &deep), "U1001");
  EXPECT_EQ(Code("[$, 1]", &deep), "U1001");
  EXPECT_EQ(Code("$count($)", &deep), "(ok)");
  EXPECT_EQ(Code("($f := function($x, $n) { $n = 0 ? $x : $f({'a': $x}, $n - 1) }; $f(1, 100000))"), "U1001");
  // builtins that nest arrays are bounded too (their destruction would otherwise recurse 100,000 deep)
  EXPECT_EQ(Code("($f := function($x, $n) { $n = 0 ? $x : $f($zip($x, $x), $n - 1) }; $f([1], 100000))"),
            "U1001");
}

TEST(JsonataBoundsTest, HugeRangesAndSequences) {
  EXPECT_EQ(Code("[1..100000000]"), "D2014");  // JSONata's own limit of 1e7 items
  EvaluationLimits small;
  small.max_sequence_size = 1000;
  EXPECT_EQ(Code("[1..5000] ~> $count()", nullptr, small), "U1001");
  EXPECT_EQ(Code("[1..500] ~> $count()", nullptr, small), "(ok)");
  EvaluationLimits strings;
  strings.max_string_bytes = 1 << 20;
  EXPECT_EQ(Code("$pad('x', 10000000)", nullptr, strings), "U1001");
}

TEST(JsonataBoundsTest, RunawayRecursionEndsWithU1001) {
  EXPECT_EQ(Code("($inf := function($n) { $n + $inf($n - 1) }; $inf(5))"), "U1001");
  EvaluationLimits steps;
  steps.max_steps = 100000;
  // a tail call loops without growing the stack: the step budget stops it, deterministically
  EXPECT_EQ(Code("($inf := function() { $inf() }; $inf())", nullptr, steps), "U1001");
  EXPECT_EQ(Code("($odd := function($n) { $n = 0 ? false : $even($n - 1) };"
                 " $even := function($n) { $n = 0 ? true : $odd($n - 1) }; $even(10000))"),
            "(ok)");
}

TEST(JsonataBoundsTest, HostileRegexFailsTheExpression) {
  std::string subject(30, 'a');
  std::string text = "$match('" + subject + "!', /^(a+)+$/)";
  std::string code = Code(text);
  EXPECT_EQ(code, "D1004") << "catastrophic backtracking must reach PCRE2's match limit";
  EXPECT_EQ(Code("$contains('abc', /[z-a]/)"), "S0303");
}

}  // namespace
}  // namespace stepflow::sm::jsonata
