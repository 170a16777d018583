// The JSONata evaluator's API: results, undefined, errors with codes and positions, the environment
// ($now, $millis, $random, $eval refused), bindings, and a compiled expression shared by threads. The
// language itself is covered by the reference suite (tests/jsonata).

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "statemachine/jsonata/jsonata.h"

namespace stepflow::sm::jsonata {
namespace {

namespace json = boost::json;

EvaluationResult Jsonata(const std::string& text, const json::value* input = nullptr,
                     const EvaluationEnvironment& env = {}, const EvaluationLimits& limits = {},
                     const std::map<std::string, json::value>& bindings = {}) {
  CompileResult compiled = Compile(text);
  if (compiled.error) {
    EvaluationResult r;
    r.error = compiled.error;
    return r;
  }
  return Evaluate(*compiled.expression, input, bindings, env, limits);
}

std::string ErrorCode(const EvaluationResult& r) { return r.error ? r.error->code : "(none)"; }

TEST(JsonataEvalTest, ValuesUndefinedAndErrors) {
  json::value input = json::parse(R"({"a": [{"b": 1}, {"b": 2}], "s": "x"})");
  EvaluationResult sum = Jsonata("$sum(a.b)", &input);
  ASSERT_TRUE(sum.value);
  EXPECT_EQ(*sum.value, json::value(3));
  EvaluationResult missing = Jsonata("nothing.here", &input);
  EXPECT_FALSE(missing.value);
  EXPECT_FALSE(missing.error);
  EvaluationResult type_error = Jsonata("s + 1", &input);
  ASSERT_TRUE(type_error.error);
  EXPECT_EQ(type_error.error->code, "T2001");
  EXPECT_EQ(type_error.error->position, 3);
  CompileResult syntax = Compile("a.(b");
  ASSERT_TRUE(syntax.error);
  EXPECT_EQ(syntax.error->code, "S0203");
}

TEST(JsonataEvalTest, NoInputIsUndefinedAndBindingsAreVariables) {
  EXPECT_FALSE(Jsonata("$").value);
  json::value limit = 10;
  EvaluationResult r = Jsonata("[1..$limit] ~> $count()", nullptr, {}, {}, {{"limit", limit}});
  ASSERT_TRUE(r.value) << ErrorCode(r);
  EXPECT_EQ(*r.value, json::value(10));
}

TEST(JsonataEvalTest, ClockAndRandomComeFromTheEnvironment) {
  EvaluationEnvironment env;
  env.now_millis = 1510067274972;  // 2017-11-07T15:07:54.972Z
  EvaluationResult millis = Jsonata("$millis()", nullptr, env);
  ASSERT_TRUE(millis.value) << ErrorCode(millis);
  EXPECT_EQ(*millis.value, json::value(1510067274972));
  EvaluationResult now = Jsonata("$now()", nullptr, env);
  ASSERT_TRUE(now.value) << ErrorCode(now);
  EXPECT_EQ(*now.value, json::value("2017-11-07T15:07:54.972Z"));
  env.random = [] { return 0.25; };
  EvaluationResult random = Jsonata("$random()", nullptr, env);
  ASSERT_TRUE(random.value);
  EXPECT_EQ(*random.value, json::value(0.25));
  EXPECT_EQ(ErrorCode(Jsonata("$random()")), "D3137");  // no random source: an error, not a made-up number
}

TEST(JsonataEvalTest, EvalCanBeRefused) {
  EvaluationResult allowed = Jsonata("$eval('1 + 1')");
  ASSERT_TRUE(allowed.value);
  EXPECT_EQ(*allowed.value, json::value(2));
  EvaluationEnvironment aws;
  aws.allow_eval = false;
  EXPECT_EQ(ErrorCode(Jsonata("$eval('1 + 1')", nullptr, aws)), "D3121");
}

TEST(JsonataEvalTest, NumbersPrintAsJavaScript) {
  EvaluationResult r = Jsonata("$string(1e21) & ' ' & $string(0.1 + 0.2) & ' ' & 1/3");
  ASSERT_TRUE(r.value) << ErrorCode(r);
  EXPECT_EQ(*r.value, json::value("1e+21 0.3 0.333333333333333"));
}

TEST(JsonataEvalTest, LengthCountsCharactersAndRegexesUsePcre2) {
  EvaluationResult r = Jsonata("[$length('h\u00e9llo'), $substring('h\u00e9llo', 1, 2), $match('ab12cd34', /[0-9]+/).index]");
  ASSERT_TRUE(r.value) << ErrorCode(r);
  EXPECT_EQ(json::serialize(*r.value), R"([5,"él",2,6])");
}

TEST(JsonataEvalTest, CompiledExpressionIsSharedByThreads) {
  CompileResult compiled = Compile("$sum($map([1..n], function($x) { $x * 2 })) & '-' & $uppercase(s)");
  ASSERT_FALSE(compiled.error);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        json::object input;
        input["n"] = t + i + 1;
        input["s"] = "ab";
        json::value in = input;
        EvaluationResult r = Evaluate(*compiled.expression, &in, {}, {});
        const int n = t + i + 1;
        if (r.value && *r.value == json::value(std::to_string(n * (n + 1)) + "-AB")) {
          ++good;
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_EQ(good.load(), 800);
}

}  // namespace
}  // namespace stepflow::sm::jsonata
