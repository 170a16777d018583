// The JSONata evaluator's API: results, undefined, errors with codes and positions, the environment
// ($now, $millis, $random, $eval refused), bindings, and a compiled expression shared by threads. The
// language itself is covered by the reference suite (tests/jsonata).

#include <atomic>
#include <map>
#include <optional>
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

namespace stepflow::sm::jsonata {
namespace {

std::string Text(const std::string& expression, const json::value* input = nullptr) {
  EvaluationResult r = Jsonata(expression, input);
  if (r.error) {
    return "error " + r.error->code;
  }
  return r.value ? ToJsonText(*r.value) : "undefined";
}

// $uppercase/$lowercase map case as JavaScript's toUpperCase/toLowerCase do: beyond ASCII, with the
// multi-character mappings and the final sigma.
TEST(JsonataEvalTest, CaseMappingIsUnicodes) {
  EXPECT_EQ(Text("$uppercase('straße école ﬁx ǆ ω')"), R"("STRASSE ÉCOLE FIX Ǆ Ω")");
  EXPECT_EQ(Text("$lowercase('ÉCOLE ΩMEGA Ǆ')"), R"("école ωmega ǆ")");
  EXPECT_EQ(Text("$lowercase('ΟΔΟΣ ΣΑΣ Σ')"), R"("οδος σας σ")");  // ς ends a word, a lone Σ is σ
  EXPECT_EQ(Text("$lowercase('İ')"), "\"i\u0307\"");
  EXPECT_EQ(Text("$uppercase('ᾳ')"), R"("ΑΙ")");
  EXPECT_EQ(Text("$uppercase('𐐨')"), R"("𐐀")");  // outside the BMP
  EXPECT_EQ(Text("$length($uppercase('ß'))"), "2");
  EXPECT_EQ(Text("$uppercase('plain ascii 123')"), R"("PLAIN ASCII 123")");
}

// The input is read in place: what the result shows of it is the input (numbers as JSON.parse reads them),
// a transform changes a copy, and members keep their identity.
TEST(JsonataEvalTest, InputReadInPlace) {
  json::value input = json::parse(R"({"a": {"b": [1, 2.5, {"c": "x"}]}, "big": 9007199254740993, "f": 2.0})");
  EXPECT_EQ(Text("$", &input), R"({"a":{"b":[1,2.5,{"c":"x"}]},"big":9007199254740992,"f":2})");
  EXPECT_EQ(Text("a.b[2].c", &input), R"("x")");
  // (a transform clones as jsonata-js does, through $string: 15 significant digits)
  EXPECT_EQ(Text("$ ~> |a.b[2]|{'d': 1}|", &input), R"({"a":{"b":[1,2.5,{"c":"x","d":1}]},"big":9007199254740990,"f":2})");
  EXPECT_EQ(Text("[a, a.b, a]", &input), R"([{"b":[1,2.5,{"c":"x"}]},1,2.5,{"c":"x"},{"b":[1,2.5,{"c":"x"}]}])");
  EXPECT_EQ(Text("a in [a]", &input), "true");
  EXPECT_EQ(Text("$keys(a.b[2])", &input), R"("c")");
  EXPECT_EQ(input.at("a").at("b").at(2), json::parse(R"({"c": "x"})")) << "the input is left as it was";
}

// Positions count UTF-16 code units, JavaScript's string index, as jsonata-js reports them: é is 1, 😀 is 2.
TEST(JsonataEvalTest, ErrorPositionsCountUtf16CodeUnits) {
  EvaluationResult type_error = Jsonata("'é😀' + 1");
  ASSERT_TRUE(type_error.error);
  EXPECT_EQ(type_error.error->code, "T2001");
  EXPECT_EQ(type_error.error->position, 7);  // just after the `+`; 10 in UTF-8 bytes
  CompileResult syntax = Compile("'é😀' = = 1");
  ASSERT_TRUE(syntax.error);
  EXPECT_EQ(syntax.error->code, "S0211");
  EXPECT_EQ(syntax.error->position, 9);  // just after the second `=`
}

// One input document read in place by several evaluations at once (each fills in its own values; the
// document is only read), with builtins whose signature matches are remembered per thread.
TEST(JsonataEvalTest, ThreadsReadOneInputInPlace) {
  json::array orders;
  for (int i = 0; i < 200; ++i) {
    orders.push_back(json::object{{"id", i}, {"name", "n" + std::to_string(i)}, {"price", i % 7}});
  }
  const json::value input = orders;
  CompileResult compiled =
      Compile("{'cheap': $count($[price < 3]), 'names': $join($[price = 6].$uppercase(name), ','), 'all': $}");
  ASSERT_TRUE(compiled.expression);
  const EvaluationResult expected = Evaluate(*compiled.expression, &input, {}, {});
  ASSERT_TRUE(expected.value);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        EvaluationResult r = Evaluate(*compiled.expression, &input, {}, {});
        if (!r.value || *r.value != *expected.value) {
          ++mismatches;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(expected.value->at("cheap"), json::value(87));
  EXPECT_EQ(input, json::value(orders)) << "the input is left as it was";
}

TEST(JsonataEvalTest, VariableReadsAreFoundAtCompileTime) {
  auto reads = [](const std::string& text) { return Compile(text).expression->reads(); };
  VariableReads fields = reads("$states.input.x + $states.result.y + $v");
  EXPECT_TRUE(fields.Mentions("states"));
  EXPECT_TRUE(fields.Mentions("v"));
  EXPECT_FALSE(fields.Mentions("w"));
  EXPECT_TRUE(fields.MayRead("states", "input"));
  EXPECT_TRUE(fields.MayRead("states", "result"));
  EXPECT_FALSE(fields.MayRead("states", "context"));
  EXPECT_TRUE(fields.MayRead("v", "anything"));
  for (const char* whole : {"$keys($states)", "$states", "$states[0].input", "$lookup($states, 'context')",
                            "$states.input ~> function($x) { $states }", "($s := $states; $s.context)"}) {
    EXPECT_TRUE(reads(whole).MayRead("states", "context")) << whole;
  }
  EXPECT_TRUE(reads("function($x) { $states.context.Execution.Id }").MayRead("states", "context"));
  EXPECT_FALSE(reads("1 + 2").Mentions("states"));
}

TEST(JsonataEvalTest, PlainPathsAreFoundAtCompileTime) {
  const auto plain = [](const std::string& text) {
    CompileResult compiled = Compile(text);
    EXPECT_TRUE(compiled.expression) << text;
    return compiled.expression ? compiled.expression->plain_path() : std::vector<std::string>{};
  };
  EXPECT_EQ(plain("$states.input.order"), (std::vector<std::string>{"states", "input", "order"}));
  EXPECT_EQ(plain("$v"), (std::vector<std::string>{"v"}));
  EXPECT_EQ(plain("$v.`a b`"), (std::vector<std::string>{"v", "a b"}));
  for (const char* other : {"$", "$$", "$$.a", "a.b", "$v[0]", "$v.a[0]", "$v.a[]", "$v[]", "$v.a{'k': 1}",
                            "$v.*", "$v.a#$i", "$v.a@$o", "$v.(a)", "$v.$w", "$v + 1", "$f()", "$v^(a)"}) {
    EXPECT_TRUE(plain(other).empty()) << other;
  }
}

TEST(JsonataEvalTest, ObjectConstructorOverOneValue) {
  json::value input = json::parse(R"({"a": 1, "k": "a", "n": 2})");
  EvaluationResult built = Jsonata("{'x': a, k: n, 'u': nothing, 'y': [a]}", &input);
  ASSERT_TRUE(built.value) << ErrorCode(built);
  EXPECT_EQ(*built.value, json::parse(R"({"x": 1, "a": 2, "y": [1]})"));
  // A key given twice is D1009 (two pairs cannot form one group); with no input as with one value.
  EXPECT_EQ(ErrorCode(Jsonata("{'x': 1, k: 2, 'a': 3}", &input)), "D1009");
  EXPECT_EQ(ErrorCode(Jsonata("{'x': 1, 'x': 2}")), "D1009");
  // A key that is not a string is T1003, also when a repeated key comes later.
  EXPECT_EQ(ErrorCode(Jsonata("{'x': 1, n: 2, 'x': 3}", &input)), "T1003");
  EXPECT_EQ(ErrorCode(Jsonata("{'x': 1, 'x': 2, n: 3}", &input)), "D1009");
  // Many pairs (the repeated key found through an index), and undefined keys skipped.
  std::string many = "{";
  for (int i = 0; i < 40; ++i) {
    many += "'k" + std::to_string(i) + "': " + std::to_string(i) + ", nothing: 0, ";
  }
  EvaluationResult large = Jsonata(many + "'last': 1}", &input);
  ASSERT_TRUE(large.value) << ErrorCode(large);
  EXPECT_EQ(large.value->as_object().size(), 41u);
  EXPECT_EQ(ErrorCode(Jsonata(many + "'k7': 1}", &input)), "D1009");
}

// EvaluateDirect takes plain paths and arithmetic over them from the JSON; whenever it gives a value, that is
// the evaluator's value, and whenever the evaluator would fail or give undefined, it gives nothing.
TEST(JsonataEvalTest, DirectEvaluationGivesTheEvaluatorsResults) {
  const json::value v = json::parse(R"({"n": 4, "f": 2.5, "s": "x", "arr": [1, 2], "o": {"p": {"q": 1.0}},
                                         "big": 1e308, "zero": 0})");
  const std::map<std::string, json::value> bindings = {{"v", v}};
  const auto resolve = [&v](const std::vector<std::string>& path) -> const json::value* {
    const json::value* at = path[0] == "v" ? &v : nullptr;
    for (std::size_t i = 1; at != nullptr && i < path.size(); ++i) {
      const json::object* o = at->if_object();
      at = o == nullptr ? nullptr : o->if_contains(path[i]);
    }
    return at;
  };
  struct Case {
    const char* text;
    bool direct;
  };
  for (const Case& c : std::vector<Case>{
           {"$v.n + 1", true}, {"$v.n - $v.f", true}, {"($v.n + 1) * $v.f / 2", true}, {"-$v.n % 3", true},
           {"$v.o.p", true}, {"$v.o.p.q", true}, {"$v", true}, {"7", true}, {"$v.n * 2 - -1", true},
           // the evaluator decides: an error, undefined, an array, or not direct at all
           {"$v.s + 1", false}, {"$v.missing + 1", false}, {"$v.arr + 1", false}, {"$v.arr", false},
           {"$v.n / $v.zero", false}, {"$v.big * 10", false}, {"$v.zero / $v.zero + 1", false},
           {"$w.n + 1", false}, {"$v.n + 1 = 5", false}, {"$v.n & 'a'", false}, {"$v.o.p[0]", false},
           {"$v.o.missing", false}, {"$", false}, {"n + 1", false}}) {
    CompileResult compiled = Compile(c.text);
    ASSERT_TRUE(compiled.expression) << c.text;
    std::optional<json::value> direct = EvaluateDirect(*compiled.expression, resolve);
    EvaluationResult evaluated = Evaluate(*compiled.expression, nullptr, bindings, {});
    EXPECT_EQ(direct.has_value(), c.direct) << c.text;
    if (direct) {
      ASSERT_TRUE(evaluated.value) << c.text << ": " << ErrorCode(evaluated);
      EXPECT_EQ(*direct, *evaluated.value) << c.text;
      EXPECT_EQ(json::serialize(*direct), json::serialize(*evaluated.value)) << c.text;
    }
  }
}

// The input is read as a view: values read from one place of it are the same value (`in` compares arrays
// and objects by identity, as jsonata-js's ===), its strings compare, group and sort without copies, and
// what is copied out is the input's JSON as JSONata writes it.
TEST(JsonataEvalTest, TheInputReadInPlaceKeepsItsIdentityAndValues) {
  json::value input = json::parse(R"({"a": {"b": 1}, "list": [{"k": "y", "n": 2.0}, {"k": "x", "n": 1},
                                      {"k": "y", "n": 3}], "s": "text"})");
  const auto result = [&input](const std::string& text) {
    EvaluationResult r = Jsonata(text, &input);
    EXPECT_TRUE(r.value) << text << ": " << ErrorCode(r);
    return r.value ? *r.value : json::value("(none)");
  };
  EXPECT_EQ(result("a in [a]"), json::value(true));
  EXPECT_EQ(result("list[0] in list"), json::value(true));
  EXPECT_EQ(result("a in [{'b': 1}]"), json::value(false));
  EXPECT_EQ(result("a = {'b': 1}"), json::value(true));
  EXPECT_EQ(result("list[k = 'y'].n"), json::parse("[2, 3]"));
  EXPECT_EQ(result("list^(k, >n).n"), json::parse("[1, 3, 2]"));
  EXPECT_EQ(result("list{k: $sum(n)}"), json::parse(R"({"y": 5, "x": 1})"));
  EXPECT_EQ(result("s & '-' & list[1].k"), json::value("text-x"));
  EXPECT_EQ(result("$uppercase(s)"), json::value("TEXT"));
  EXPECT_EQ(result("list"), json::parse(R"([{"k": "y", "n": 2}, {"k": "x", "n": 1}, {"k": "y", "n": 3}])"));
  EXPECT_EQ(json::serialize(result("list[0]")), R"({"k":"y","n":2})");
  EXPECT_EQ(result("$count($)"), json::value(1));
  json::value array = json::parse("[1, [2, 3]]");
  EvaluationResult whole = Jsonata("$", &array);
  ASSERT_TRUE(whole.value) << ErrorCode(whole);
  EXPECT_EQ(*whole.value, array);
  EvaluationResult constant = Jsonata("1", &array);
  ASSERT_TRUE(constant.value) << ErrorCode(constant);
  EXPECT_EQ(*constant.value, json::value(1));
}

// An object constructor whose keys are all string literals, over several items: one group per pair holding
// every item; a key repeated among the pairs is still D1009, an empty input still gives the constructor once.
TEST(JsonataEvalTest, ObjectConstructorWithLiteralKeysOverItems) {
  json::value input = json::parse(R"({"items": [{"a": 1, "t": [1, 2]}, {"a": 2, "t": 3}, {"a": 4}]})");
  EvaluationResult sums = Jsonata("items{'total': $sum(a), 'count': $count(a), 'all': t}", &input);
  ASSERT_TRUE(sums.value) << ErrorCode(sums);
  EXPECT_EQ(*sums.value, json::parse(R"({"total": 7, "count": 3, "all": [1, 2, 3]})"));
  EXPECT_EQ(ErrorCode(Jsonata("items{'x': $sum(a), 'x': 1}", &input)), "D1009");
  EvaluationResult none = Jsonata("[]{'n': $count($)}", &input);
  ASSERT_TRUE(none.value) << ErrorCode(none);
  EXPECT_EQ(*none.value, json::parse(R"({"n": 0})"));
}

}  // namespace
}  // namespace stepflow::sm::jsonata

namespace stepflow::sm::jsonata {
namespace {

// A number result is JSON's integer when it is integral and below 2^53 in magnitude, a double otherwise
// (ToJson's integral test: the edges of that range, fractions, -0, and values too large for int64).
TEST(JsonataEvalTest, NumberResultsAreIntegersOnlyWhenExactlyIntegral) {
  const auto kind_of = [](const std::string& expression) {
    EvaluationResult r = Jsonata(expression);
    EXPECT_TRUE(r.value) << expression << ": " << ErrorCode(r);
    return r.value ? r.value->kind() : json::kind::null;
  };
  EXPECT_EQ(kind_of("9007199254740991"), json::kind::int64);
  EXPECT_EQ(kind_of("-9007199254740991"), json::kind::int64);
  EXPECT_EQ(kind_of("9007199254740992"), json::kind::double_);
  EXPECT_EQ(kind_of("-9007199254740992"), json::kind::double_);
  EXPECT_EQ(kind_of("1e300"), json::kind::double_);
  EXPECT_EQ(kind_of("-1e300"), json::kind::double_);
  EXPECT_EQ(kind_of("0.5"), json::kind::double_);
  EXPECT_EQ(kind_of("-2.5"), json::kind::double_);
  EXPECT_EQ(kind_of("4503599627370495.5"), json::kind::double_);
  EXPECT_EQ(kind_of("0"), json::kind::int64);
  EXPECT_EQ(kind_of("-0"), json::kind::int64);
  EXPECT_EQ(*Jsonata("-7").value, json::value(-7));
  EXPECT_EQ(*Jsonata("2.5").value, json::value(2.5));
  EXPECT_EQ(ErrorCode(Jsonata("1/0")), "D1001");
}

// Literals are evaluated apart from the other nodes; what follows a node (predicates, `[]`, grouping) still
// applies to them, and an array input is the context as a sequence while `$$` is the array itself.
TEST(JsonataEvalTest, LiteralsAndTheInputAsContext) {
  const json::value input = json::parse(R"([{"a": 1}, {"a": 2}])");
  EXPECT_EQ(Text("'abc'[0]"), R"("abc")");
  EXPECT_EQ(Text("'abc'[1]"), "undefined");
  EXPECT_EQ(Text("5[]"), "5");  // as jsonata-js: `[]` keeps singleton path results only
  EXPECT_EQ(Text("true{'k': 1}"), R"({"k":1})");
  EXPECT_EQ(Text("null"), "null");
  EXPECT_EQ(Text("1", &input), "1");
  EXPECT_EQ(Text("a", &input), "[1,2]");
  EXPECT_EQ(Text("$$[1].a", &input), "2");
  EXPECT_EQ(Text("$count($$)", &input), "2");
  EXPECT_EQ(Text("$", &input), R"([{"a":1},{"a":2}])");
}

}  // namespace
}  // namespace stepflow::sm::jsonata
