#include "statemachine/json_path.h"

#include <string>
#include <string_view>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

constexpr std::string_view kStore = R"({
  "store": {
    "book": [
      {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
      {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
      {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553",
       "price": 8.99},
      {"category": "fiction", "author": "J. R. R. Tolkien", "title": "LOTR", "isbn": "0-395", "price": 22.99}
    ],
    "bicycle": {"color": "red", "price": 19.95}
  },
  "expensive": 10
})";

JsonPath MustParse(std::string_view text) {
  absl::StatusOr<JsonPath> path = JsonPath::Parse(text);
  EXPECT_TRUE(path.ok()) << text << ": " << path.status();
  return path.ok() ? *std::move(path) : *JsonPath::Parse("$");
}

// Evaluates `path` on `input` (JSON text); returns the compact JSON of the result or "<none>".
std::string Eval(std::string_view path, std::string_view input) {
  const json::value doc = json::parse(input);
  PathScope scope;
  scope.input = &doc;
  std::optional<json::value> result = MustParse(path).Evaluate(scope);
  return result.has_value() ? json::serialize(*result) : "<none>";
}

// Normalizes JSON text so that expectations can be written with spaces.
std::string J(std::string_view text) { return json::serialize(json::parse(text)); }

std::string ParseError(std::string_view path) {
  absl::StatusOr<JsonPath> parsed = JsonPath::Parse(path);
  if (parsed.ok()) {
    return "<ok>";
  }
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

// --- Roots ---------------------------------------------------------------------------------------

TEST(JsonPathRoot, DollarSelectsWholeInput) {
  EXPECT_EQ(Eval("$", R"({"a":1})"), J(R"({"a":1})"));
  EXPECT_EQ(Eval("$", "\"text\""), "\"text\"");
  EXPECT_EQ(Eval("$", "null"), "null");
  JsonPath path = MustParse("$");
  EXPECT_EQ(path.root(), JsonPath::Root::kInput);
  EXPECT_TRUE(path.IsReferencePath());
  EXPECT_EQ(path.text(), "$");
}

TEST(JsonPathRoot, ContextObject) {
  const json::value input = json::parse(R"({"Id":"input"})");
  const json::value context = json::parse(R"({"Execution":{"Id":"arn:1","Input":{"k":2}}})");
  PathScope scope{&input, &context, nullptr};
  JsonPath path = MustParse("$$.Execution.Id");
  EXPECT_EQ(path.root(), JsonPath::Root::kContext);
  EXPECT_EQ(path.Evaluate(scope), json::value("arn:1"));
  EXPECT_EQ(MustParse("$$").Evaluate(scope), context);
  EXPECT_EQ(MustParse("$$.Execution.Input.k").Evaluate(scope), json::value(2));
}

TEST(JsonPathRoot, Variables) {
  const json::object variables = json::parse(R"({"result":{"a":[10,20]},"x":5,"my_var2":null})").as_object();
  PathScope scope{nullptr, nullptr, &variables};
  JsonPath path = MustParse("$result.a[1]");
  EXPECT_EQ(path.root(), JsonPath::Root::kVariable);
  EXPECT_EQ(path.variable_name(), "result");
  EXPECT_TRUE(path.IsReferencePath());
  EXPECT_EQ(path.Evaluate(scope), json::value(20));
  EXPECT_EQ(MustParse("$x").Evaluate(scope), json::value(5));
  EXPECT_EQ(MustParse("$my_var2").Evaluate(scope), json::value(nullptr));
  EXPECT_EQ(MustParse("$result['a'][0]").Evaluate(scope), json::value(10));
  EXPECT_EQ(MustParse("$result.a[*]").Evaluate(scope), json::parse("[10,20]"));
  EXPECT_EQ(MustParse("$unknown").Evaluate(scope), std::nullopt);
  EXPECT_EQ(MustParse("$unknown[*]").Evaluate(scope), std::nullopt);
  EXPECT_EQ(MustParse("$").variable_name(), "");
}

TEST(JsonPathRoot, NullScopePointersSelectNothing) {
  PathScope scope;
  EXPECT_EQ(MustParse("$").Evaluate(scope), std::nullopt);
  EXPECT_EQ(MustParse("$.a[*]").Evaluate(scope), std::nullopt);
  EXPECT_EQ(MustParse("$$.a").Evaluate(scope), std::nullopt);
  EXPECT_EQ(MustParse("$v").Evaluate(scope), std::nullopt);
}

// --- Names ---------------------------------------------------------------------------------------

TEST(JsonPathNames, DotNotation) {
  EXPECT_EQ(Eval("$.a.b", R"({"a":{"b":[1,2]}})"), "[1,2]");
  EXPECT_EQ(Eval("$.my-key", R"({"my-key":1})"), "1");
  EXPECT_EQ(Eval("$.a_b", R"({"a_b":true})"), "true");
  EXPECT_EQ(Eval("$.0", R"({"0":"zero"})"), "\"zero\"");
  EXPECT_EQ(Eval("$.ключ", R"({"ключ":"v"})"), "\"v\"");
  EXPECT_EQ(Eval("$.a:b", R"({"a:b":3})"), "3");
  EXPECT_EQ(Eval("$.delivery-partner", R"({"delivery-partner":"x"})"), "\"x\"");
}

TEST(JsonPathNames, BracketNotation) {
  EXPECT_EQ(Eval("$['a b']", R"({"a b":1})"), "1");
  EXPECT_EQ(Eval("$[\"a.b\"]", R"({"a.b":2})"), "2");
  EXPECT_EQ(Eval("$['a']['b']", R"({"a":{"b":3}})"), "3");
  EXPECT_EQ(Eval("$[ 'a' ]", R"({"a":4})"), "4");
  EXPECT_EQ(Eval("$.['a']", R"({"a":5})"), "5");  // Jayway accepts a dot before a bracket.
  EXPECT_EQ(Eval("$['[*]']", R"({"[*]":6})"), "6");
  EXPECT_EQ(Eval("$['']", R"({"":7})"), "7");
  EXPECT_TRUE(MustParse("$['a b'][0]").IsReferencePath());
}

// Conformance case ESCAPE_SEQUENCES_JSONPATH: AWS keeps the backslashes of a quoted name.
TEST(JsonPathNames, EscapesAreKeptVerbatimLikeAws) {
  const json::value input = json::parse(R"({"Test\\\"\"Name\"": "Value\"\\"})");
  PathScope scope{&input};
  EXPECT_EQ(MustParse(R"($['Test\""Name"'])").Evaluate(scope), json::value("Value\"\\"));
  EXPECT_EQ(Eval(R"($['it\'s'])", R"({"it\\'s":1})"), "1");
  EXPECT_EQ(Eval(R"($["a\"b"])", R"({"a\\\"b":2})"), "2");
}

TEST(JsonPathNames, MissingOrWrongTypeIsNullopt) {
  EXPECT_EQ(Eval("$.missing", R"({"a":1})"), "<none>");
  EXPECT_EQ(Eval("$.a.b", R"({"a":1})"), "<none>");
  EXPECT_EQ(Eval("$.a.b", R"({"a":null})"), "<none>");
  EXPECT_EQ(Eval("$.a", "[1]"), "<none>");
  EXPECT_EQ(Eval("$.a", "\"str\""), "<none>");
  EXPECT_EQ(Eval("$.a", R"({"a":null})"), "null");
}

// --- Indexes -------------------------------------------------------------------------------------

TEST(JsonPathIndexes, SingleIndexes) {
  EXPECT_EQ(Eval("$[0]", "[10,20,30]"), "10");
  EXPECT_EQ(Eval("$[2]", "[10,20,30]"), "30");
  EXPECT_EQ(Eval("$[-1]", "[10,20,30]"), "30");
  EXPECT_EQ(Eval("$[-3]", "[10,20,30]"), "10");
  EXPECT_EQ(Eval("$[ 1 ]", "[10,20,30]"), "20");
  EXPECT_EQ(Eval("$.a[1][0]", R"({"a":[[1],[2,3]]})"), "2");
  EXPECT_EQ(Eval("$.a[0].b", R"({"a":[{"b":"x"}]})"), "\"x\"");
  EXPECT_TRUE(MustParse("$.a[0].b[-1]").IsReferencePath());
}

TEST(JsonPathIndexes, OutOfRangeOrNotAnArrayIsNullopt) {
  EXPECT_EQ(Eval("$[3]", "[10,20,30]"), "<none>");
  EXPECT_EQ(Eval("$[-4]", "[10,20,30]"), "<none>");
  EXPECT_EQ(Eval("$[0]", "[]"), "<none>");
  EXPECT_EQ(Eval("$[0]", R"({"0":1})"), "<none>");
  EXPECT_EQ(Eval("$.a[0]", R"({"a":"abc"})"), "<none>");
}

TEST(JsonPathIndexes, UnionOfIndexes) {
  EXPECT_EQ(Eval("$[0,2]", "[10,20,30]"), "[10,30]");
  EXPECT_EQ(Eval("$[2, 0]", "[10,20,30]"), "[30,10]");
  EXPECT_EQ(Eval("$[0,-1]", "[10,20,30]"), "[10,30]");
  EXPECT_EQ(Eval("$[0,9]", "[10,20,30]"), "[10]");
  EXPECT_EQ(Eval("$.a[0,1]", R"({"a":{"0":1}})"), "<none>");
  EXPECT_FALSE(MustParse("$[0,1]").IsReferencePath());
}

// --- Wildcards -----------------------------------------------------------------------------------

TEST(JsonPathWildcard, ArraysAndObjects) {
  EXPECT_EQ(Eval("$[*]", "[1,2,3]"), "[1,2,3]");
  EXPECT_EQ(Eval("$.a[*]", R"({"a":[]})"), "[]");
  EXPECT_EQ(Eval("$.*", R"({"b":1,"a":2})"), "[1,2]");
  EXPECT_EQ(Eval("$[*]", R"({"b":1,"a":2})"), "[1,2]");
  EXPECT_EQ(Eval("$.a.*", R"({"a":[3,4]})"), "[3,4]");
  EXPECT_EQ(Eval("$[*].name", R"([{"name":"x"},{"other":1},{"name":"y"},5])"), R"(["x","y"])");
  EXPECT_EQ(Eval("$.*.*", R"({"a":{"x":1},"b":[2,3],"c":4})"), "[1,2,3]");
  EXPECT_EQ(Eval("$.a[*]", R"({"a":5})"), "[]");
  EXPECT_FALSE(MustParse("$.a[*]").IsReferencePath());
}

TEST(JsonPathWildcard, BookAuthors) {
  EXPECT_EQ(Eval("$.store.book[*].author", kStore),
            J(R"(["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"])"));
  EXPECT_EQ(Eval("$.store.*", kStore).substr(0, 2), "[[");
}

// --- Slices --------------------------------------------------------------------------------------

TEST(JsonPathSlices, Bounds) {
  constexpr std::string_view kArr = "[0,1,2,3,4]";
  EXPECT_EQ(Eval("$[1:3]", kArr), "[1,2]");
  EXPECT_EQ(Eval("$[:2]", kArr), "[0,1]");
  EXPECT_EQ(Eval("$[1:]", kArr), "[1,2,3,4]");
  EXPECT_EQ(Eval("$[-2:]", kArr), "[3,4]");
  EXPECT_EQ(Eval("$[:-2]", kArr), "[0,1,2]");
  EXPECT_EQ(Eval("$[-100:2]", kArr), "[0,1]");
  EXPECT_EQ(Eval("$[3:100]", kArr), "[3,4]");
  EXPECT_EQ(Eval("$[5:10]", kArr), "[]");
  EXPECT_EQ(Eval("$[3:1]", kArr), "[]");
  EXPECT_EQ(Eval("$[:]", kArr), "[0,1,2,3,4]");
  EXPECT_EQ(Eval("$[ 1 : 3 ]", kArr), "[1,2]");
}

TEST(JsonPathSlices, Steps) {
  constexpr std::string_view kArr = "[0,1,2,3,4]";
  EXPECT_EQ(Eval("$[::2]", kArr), "[0,2,4]");
  EXPECT_EQ(Eval("$[1:5:3]", kArr), "[1,4]");
  EXPECT_EQ(Eval("$[::-1]", kArr), "[4,3,2,1,0]");
  EXPECT_EQ(Eval("$[3:0:-2]", kArr), "[3,1]");
  EXPECT_EQ(Eval("$[::9223372036854775807]", kArr), "[0]");
  EXPECT_EQ(Eval("$[::-9223372036854775807]", kArr), "[4]");
  EXPECT_EQ(Eval("$[::2]", "[]"), "[]");
}

TEST(JsonPathSlices, NotAnArray) {
  EXPECT_EQ(Eval("$.s[0:2]", R"({"s":"abc"})"), "<none>");
  EXPECT_EQ(Eval("$[*][0:1]", R"([[1,2],"x",[3]])"), "[1,3]");
}

// --- Unions of names -----------------------------------------------------------------------------

TEST(JsonPathUnions, TrailingNamesMergeIntoOneObjectLikeJayway) {
  EXPECT_EQ(Eval("$['a','b']", R"({"a":1,"b":2,"c":3})"), J(R"({"a":1,"b":2})"));
  EXPECT_EQ(Eval("$['a', \"zz\"]", R"({"a":1,"b":2})"), J(R"({"a":1})"));
  EXPECT_EQ(Eval("$.x['a','b']", R"({"x":{"b":2}})"), J(R"({"b":2})"));
  EXPECT_EQ(Eval("$.x['a','b']", R"({"y":1})"), "<none>");
  EXPECT_EQ(Eval("$['a','b']", "[1]"), "<none>");
  EXPECT_EQ(Eval("$[*]['a','b']", R"([{"a":1},{"b":2,"c":3}])"), J(R"([{"a":1},{"b":2}])"));
  JsonPath path = MustParse("$['a','b']");
  EXPECT_FALSE(path.IsReferencePath());
  EXPECT_TRUE(path.IsDefinite());
}

TEST(JsonPathUnions, NamesFollowedByMoreSegmentsIterate) {
  EXPECT_EQ(Eval("$['a','b'].v", R"({"a":{"v":1},"b":{"v":2},"c":{"v":3}})"), "[1,2]");
  EXPECT_EQ(Eval("$['a','zz'].v", R"({"a":{"v":1}})"), "[1]");
  EXPECT_FALSE(MustParse("$['a','b'].v").IsDefinite());
}

// --- Deep scan -----------------------------------------------------------------------------------

TEST(JsonPathDeepScan, Names) {
  EXPECT_EQ(Eval("$..author", kStore),
            J(R"(["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"])"));
  EXPECT_EQ(Eval("$.store..price", kStore), "[8.95E0,1.299E1,8.99E0,2.299E1,1.995E1]");
  EXPECT_EQ(Eval("$..a", R"({"a":{"a":1},"b":[{"a":2}]})"), J(R"([{"a":1},1,2])"));
  EXPECT_EQ(Eval("$..['a']", R"({"x":{"a":1}})"), "[1]");
  EXPECT_EQ(Eval("$..missing", kStore), "[]");
  EXPECT_FALSE(MustParse("$..a").IsReferencePath());
}

TEST(JsonPathDeepScan, WildcardIndexesAndUnions) {
  EXPECT_EQ(Eval("$..*", R"({"a":{"x":1},"b":2})"), J(R"([{"x":1},2,1])"));
  EXPECT_EQ(Eval("$..book[2].title", kStore), R"(["Moby Dick"])");
  EXPECT_EQ(Eval("$..book[-1:].title", kStore), R"(["LOTR"])");
  EXPECT_EQ(Eval("$..[0]", R"({"a":[1,[2]],"b":[3]})"), "[1,2,3]");
  EXPECT_EQ(Eval("$..['a','b']", R"([{"a":1,"b":2},{"a":3},{"x":{"a":4,"b":5}}])"),
            J(R"([{"a":1,"b":2},{"a":4,"b":5}])"));
}

TEST(JsonPathDeepScan, FiltersTestEachObjectOnce) {
  EXPECT_EQ(Eval("$..book[?(@.price < 10)].title", kStore), R"(["Sayings","Moby Dick"])");
  EXPECT_EQ(Eval("$..[?(@.isbn)].title", kStore), R"(["Moby Dick","LOTR"])");
  EXPECT_EQ(Eval("$..[?(@.price > 19)].price", kStore), "[2.299E1,1.995E1]");
}

// --- Filters -------------------------------------------------------------------------------------

// Conformance case BASE_PASS_RESULT_REGEX_JSON_PATH_BASE.
TEST(JsonPathFilter, ConformanceStatusEqualsZero) {
  constexpr std::string_view kInput = R"({"users":[{"year":1997,"status":0},{"year":1998,"status":1}]})";
  EXPECT_EQ(Eval("$.users[?(@.status == 0)]", kInput), J(R"([{"year":1997,"status":0}])"));
}

TEST(JsonPathFilter, NumericComparisons) {
  constexpr std::string_view kNums = R"([{"n":1},{"n":2.5},{"n":3},{"n":"3"},{"m":0}])";
  EXPECT_EQ(Eval("$[?(@.n < 3)].n", kNums), "[1,2.5E0]");
  EXPECT_EQ(Eval("$[?(@.n <= 3)].n", kNums), "[1,2.5E0,3]");
  EXPECT_EQ(Eval("$[?(@.n > 1)].n", kNums), "[2.5E0,3]");
  EXPECT_EQ(Eval("$[?(@.n >= 2.5)].n", kNums), "[2.5E0,3]");
  EXPECT_EQ(Eval("$[?(@.n == 3)].n", kNums), "[3]");
  EXPECT_EQ(Eval("$[?(@.n == 3.0)].n", kNums), "[3]");
  EXPECT_EQ(Eval("$[?(@.n > -1e3)].n", kNums), "[1,2.5E0,3]");
  EXPECT_EQ(Eval("$[?(@.n<3)].n", kNums), "[1,2.5E0]");
  EXPECT_EQ(Eval("$[?(3 > @.n)].n", kNums), "[1,2.5E0]");
}

TEST(JsonPathFilter, StringBooleanAndNullComparisons) {
  constexpr std::string_view kItems =
      R"([{"s":"abc","b":true,"z":null},{"s":"abd","b":false},{"s":"x y","z":1}])";
  EXPECT_EQ(Eval("$[?(@.s == 'abc')].s", kItems), R"(["abc"])");
  EXPECT_EQ(Eval("$[?(@.s == \"x y\")].s", kItems), R"(["x y"])");
  EXPECT_EQ(Eval("$[?(@.s > 'abc')].s", kItems), R"(["abd","x y"])");
  EXPECT_EQ(Eval("$[?(@.s < 'abd')].s", kItems), R"(["abc"])");
  EXPECT_EQ(Eval("$[?(@.b == true)].s", kItems), R"(["abc"])");
  EXPECT_EQ(Eval("$[?(@.b == false)].s", kItems), R"(["abd"])");
  EXPECT_EQ(Eval("$[?(@.z == null)].s", kItems), R"(["abc"])");
  EXPECT_EQ(Eval("$[?(@.s < 5)].s", kItems), "[]");  // Mixed types never order.
  EXPECT_EQ(Eval("$[?(@.s == 'it\\'s')]", R"([{"s":"it's"}])"), R"([{"s":"it's"}])");
  EXPECT_EQ(Eval(R"($[?(@.s == 'caf\u00e9\n')].n)", R"([{"s":"café\n","n":1},{"s":"cafe","n":2}])"), "[1]");
  EXPECT_EQ(Eval(R"($[?(@.s == '\u20ac')].n)", R"([{"s":"€","n":3}])"), "[3]");
}

TEST(JsonPathFilter, NotEqualsIncludesItemsWithoutTheField) {
  EXPECT_EQ(Eval("$[?(@.a != 1)]", R"([{"a":1},{"a":2},{"b":1}])"), J(R"([{"a":2},{"b":1}])"));
  EXPECT_EQ(Eval("$[?(@.a == 1)]", R"([{"a":1},{"a":"1"},{"b":1}])"), J(R"([{"a":1}])"));
}

TEST(JsonPathFilter, ExistenceAndNegation) {
  EXPECT_EQ(Eval("$.store.book[?(@.isbn)].title", kStore), R"(["Moby Dick","LOTR"])");
  EXPECT_EQ(Eval("$.store.book[?(!@.isbn)].title", kStore), R"(["Sayings","Sword"])");
  EXPECT_EQ(Eval("$[?(@.a)]", R"([{"a":null},{"a":false},{"b":1}])"), J(R"([{"a":null},{"a":false}])"));
  EXPECT_EQ(Eval("$[?(@.a[*])]", R"([{"a":[]},{"a":[1]}])"), J(R"([{"a":[1]}])"));
}

TEST(JsonPathFilter, LogicalOperatorsAndParentheses) {
  constexpr std::string_view kItems = R"([{"a":1,"b":1},{"a":1,"b":2},{"a":2,"b":2},{"a":3,"b":3}])";
  EXPECT_EQ(Eval("$[?(@.a == 1 && @.b == 2)]", kItems), J(R"([{"a":1,"b":2}])"));
  EXPECT_EQ(Eval("$[?(@.a == 1 || @.b == 3)]", kItems), J(R"([{"a":1,"b":1},{"a":1,"b":2},{"a":3,"b":3}])"));
  // && binds tighter than ||.
  EXPECT_EQ(Eval("$[?(@.a == 3 || @.a == 1 && @.b == 1)]", kItems), J(R"([{"a":1,"b":1},{"a":3,"b":3}])"));
  EXPECT_EQ(Eval("$[?((@.a == 3 || @.a == 1) && @.b == 1)]", kItems), J(R"([{"a":1,"b":1}])"));
  EXPECT_EQ(Eval("$[?(!(@.a == 1))].a", kItems), "[2,3]");
  EXPECT_EQ(Eval("$[?( @.a==2&&@.b==2 )].a", kItems), "[2]");
}

TEST(JsonPathFilter, CurrentNodeNestedPathsAndRoot) {
  EXPECT_EQ(Eval("$[?(@ > 1)]", "[1,2,3]"), "[2,3]");
  EXPECT_EQ(Eval("$[?(@ == 'b')]", R"(["a","b"])"), R"(["b"])");
  EXPECT_EQ(Eval("$[?(@.a.b == 1)]", R"([{"a":{"b":1}},{"a":{"b":2}},{"a":5}])"), J(R"([{"a":{"b":1}}])"));
  EXPECT_EQ(Eval("$[?(@['x y'] == 1)]", R"([{"x y":1},{"x y":2}])"), J(R"([{"x y":1}])"));
  EXPECT_EQ(Eval("$[?(@.a[0] == 1)]", R"([{"a":[1]},{"a":[2]}])"), J(R"([{"a":[1]}])"));
  EXPECT_EQ(Eval("$.store.book[?(@.price < $.expensive)].price", kStore), "[8.95E0,8.99E0]");
  EXPECT_EQ(Eval("$.items[?(@.v == $.want)].v", R"({"want":2,"items":[{"v":1},{"v":2}]})"), "[2]");
}

TEST(JsonPathFilter, RegexMatchesWholeString) {
  constexpr std::string_view kItems = R"([{"s":"apple"},{"s":"Apricot"},{"s":"banana"},{"s":1}])";
  EXPECT_EQ(Eval("$[?(@.s =~ /a.*/)].s", kItems), R"(["apple"])");
  EXPECT_EQ(Eval("$[?(@.s =~ /a.*/i)].s", kItems), R"(["apple","Apricot"])");
  EXPECT_EQ(Eval("$[?(@.s =~ /an/)].s", kItems), "[]");
  EXPECT_EQ(Eval("$[?(@.s =~ /a\\/b/)].s", R"([{"s":"a/b"}])"), R"(["a/b"])");
}

TEST(JsonPathFilter, MembershipAndCollectionOperators) {
  constexpr std::string_view kItems =
      R"([{"c":"red","t":["a","b"]},{"c":"blue","t":[]},{"c":"green","t":["c"]},{"t":"xyz"}])";
  EXPECT_EQ(Eval("$[?(@.c in ['red','blue'])].c", kItems), R"(["red","blue"])");
  EXPECT_EQ(Eval("$[?(@.c nin ['red','blue'])].t", kItems), R"([["c"],"xyz"])");
  EXPECT_EQ(Eval("$[?(@.t contains 'b')].c", kItems), R"(["red"])");
  EXPECT_EQ(Eval("$[?(@.t contains 'y')].t", kItems), R"(["xyz"])");
  EXPECT_EQ(Eval("$[?(@.t size 2)].c", kItems), R"(["red"])");
  EXPECT_EQ(Eval("$[?(@.t size 3)].t", kItems), R"(["xyz"])");
  EXPECT_EQ(Eval("$[?(@.t empty true)].c", kItems), R"(["blue"])");
  EXPECT_EQ(Eval("$[?(@.t empty false)].c", kItems), R"(["red","green"])");
  EXPECT_EQ(Eval("$[?(@.t subsetof ['a','b','c'])].c", kItems), R"(["red","blue","green"])");
  EXPECT_EQ(Eval("$[?(@.t anyof ['c','z'])].c", kItems), R"(["green"])");
  EXPECT_EQ(Eval("$[?(@.t noneof ['a'])].c", kItems), R"(["blue","green"])");
  EXPECT_EQ(Eval("$[?(@.t == ['a','b'])].c", kItems), R"(["red"])");
  EXPECT_EQ(Eval("$[?(@.o == {\"k\":1})].n", R"([{"o":{"k":1.0},"n":1},{"o":{"k":2},"n":2}])"), "[1]");
}

TEST(JsonPathFilter, AppliedToObjectTestsTheObjectItself) {
  EXPECT_EQ(Eval("$.o[?(@.k == 1)]", R"({"o":{"k":1}})"), J(R"([{"k":1}])"));
  EXPECT_EQ(Eval("$.o[?(@.k == 2)]", R"({"o":{"k":1}})"), "[]");
  EXPECT_EQ(Eval("$.o[?(@.k == 1)]", R"({"o":3})"), "<none>");
  EXPECT_EQ(Eval("$[*][?(@.k == 1)]", R"([3,{"k":1}])"), J(R"([{"k":1}])"));
}

// --- Jayway's definite prefix ----------------------------------------------------------------------

TEST(JsonPathDefinitePrefix, FailureBeforeTheFirstWildcardIsNotFound) {
  EXPECT_EQ(Eval("$.missing[*]", R"({"a":1})"), "<none>");
  EXPECT_EQ(Eval("$.a.missing[*]", R"({"a":{}})"), "<none>");
  EXPECT_EQ(Eval("$.a[*]", "[1]"), "<none>");
  EXPECT_EQ(Eval("$.a[0][*]", R"({"a":{"0":[1]}})"), "<none>");
  // Past the first indefinite step, misses are skipped; an index out of range is skipped even before.
  EXPECT_EQ(Eval("$[*].missing", "[{},{}]"), "[]");
  EXPECT_EQ(Eval("$[*].a.b", R"([{"a":1},{"a":{"b":2}}])"), "[2]");
  EXPECT_EQ(Eval("$.a[5][*]", R"({"a":[[1]]})"), "[]");
}

// --- Classification ------------------------------------------------------------------------------

TEST(JsonPathClassify, ReferenceAndDefinitePaths) {
  struct Case {
    std::string_view path;
    bool reference;
    bool definite;
  };
  for (const Case& c : {Case{"$", true, true}, Case{"$$", true, true}, Case{"$.a.b", true, true},
                        Case{"$['a'][0][-1]", true, true}, Case{"$v.x", true, true},
                        Case{"$[*]", false, false}, Case{"$.*", false, false}, Case{"$..a", false, false},
                        Case{"$[0:1]", false, false}, Case{"$[0,1]", false, false},
                        Case{"$['a','b']", false, true}, Case{"$['a','b'].c", false, false},
                        Case{"$[?(@.a)]", false, false}}) {
    JsonPath path = MustParse(c.path);
    EXPECT_EQ(path.IsReferencePath(), c.reference) << c.path;
    EXPECT_EQ(path.IsDefinite(), c.definite) << c.path;
  }
}

// --- Parse errors --------------------------------------------------------------------------------

TEST(JsonPathParse, ErrorMessageNamesPathWhatAndOffset) {
  EXPECT_EQ(ParseError("$.a["), "invalid JSONPath '$.a[': unterminated '[' at offset 3");
  EXPECT_EQ(ParseError(""), "invalid JSONPath '': path must start with '$' at offset 0");
  EXPECT_EQ(ParseError("a.b"), "invalid JSONPath 'a.b': path must start with '$' at offset 0");
  EXPECT_EQ(ParseError("$."), "invalid JSONPath '$.': path must not end with '.' at offset 1");
  EXPECT_EQ(ParseError("$.a b"), "invalid JSONPath '$.a b': whitespace in a name (use ['...']) at offset 3");
}

TEST(JsonPathParse, Errors) {
  struct Case {
    std::string_view path;
    std::string_view what;
  };
  for (const Case& c : {
           Case{" $", "path must start with '$' at offset 0"},
           Case{"$.a.", "path must not end with '.' at offset 3"},
           Case{"$..", "path must not end with '.' at offset 1"},
           Case{"$...a", "unexpected '.' at offset 3"},
           Case{"$ ", "invalid character in variable name at offset 1"},
           Case{"$a-b", "invalid character in variable name at offset 2"},
           Case{"$.*a", "expected '.' or '[' after '*' at offset 3"},
           Case{"$[", "unterminated '[' at offset 1"},
           Case{"$['a", "unterminated string at offset 2"},
           Case{"$['a'", "unterminated '[' at offset 1"},
           Case{"$['a' x]", "expected ']' at offset 6"},
           Case{"$['a',]", "expected a quoted name at offset 6"},
           Case{"$['a',1]", "expected a quoted name at offset 6"},
           Case{"$[1", "unterminated '[' at offset 1"},
           Case{"$[1,]", "expected an integer at offset 4"},
           Case{"$[-]", "expected a digit at offset 3"},
           Case{"$[1.5]", "expected ']' at offset 3"},
           Case{"$[a]", "expected a quoted name, an index, a slice, '*' or a filter at offset 2"},
           Case{"$[]", "expected a quoted name, an index, a slice, '*' or a filter at offset 2"},
           Case{"$[*", "unterminated '[' at offset 1"},
           Case{"$[*x]", "expected ']' at offset 3"},
           Case{"$[1:2:0]", "slice step must not be 0"},
           Case{"$[1:2:3:4]", "expected ']' at offset 7"},
           Case{"$[99999999999999999999]", "integer out of range at offset 2"},
           Case{"$[?@.a]", "expected '(' after '?' at offset 3"},
           Case{"$[?(@.a == )]", "expected a value at offset 11"},
           Case{"$[?(@.a == 1]", "expected ')' at offset 12"},
           Case{"$[?(@.a == 1", "unterminated '(' at offset 3"},
           Case{"$[?(@.a == 1)", "unterminated '[' at offset 1"},
           Case{"$[?(1)]", "expected a comparison at offset 4"},
           Case{"$[?(@.a =~ 'x')]", "'=~' needs a /regex/ on its right at offset 11"},
           Case{"$[?(@.a == /x/)]", "'=~' needs a /regex/ on its right at offset 11"},
           Case{"$[?(@.a =~ /x)]", "unterminated regular expression at offset 11"},
           Case{"$[?(@.a =~ /[/)]", "invalid regular expression at offset 11"},
           Case{"$[?(@.a in ['x',)]", "expected a value at offset 16"},
           Case{"$[?(@.a == {\"k\":)]", "invalid JSON object at offset 11"},
           Case{"$[?(@.a == 'x)]", "unterminated string at offset 11"},
           Case{"$[?(@.a == abc)]", "expected a value at offset 11"},
           Case{"$[?(@.a == '\\u12')]", "invalid \\u escape at offset 14"},
           Case{"$.length()", "path functions are not supported at offset 8"},
           Case{"$.a(", "path functions are not supported at offset 3"},
           Case{"$a]", "invalid character in variable name at offset 2"},
       }) {
    EXPECT_THAT(ParseError(c.path), HasSubstr(std::string(c.what))) << c.path;
    EXPECT_THAT(ParseError(c.path), HasSubstr(absl::StrCat("'", std::string(c.path), "'"))) << c.path;
  }
}

// --- Assign (ResultPath) -------------------------------------------------------------------------

// Assigns JSON `value` at `path` in `target`; returns the new target, or "false:" + the unchanged one.
std::string Assign(std::string_view path, std::string_view target, std::string_view value) {
  json::value doc = json::parse(target);
  const bool ok = MustParse(path).Assign(doc, json::parse(value));
  return (ok ? "" : "false:") + json::serialize(doc);
}

TEST(JsonPathAssign, DollarReplacesTarget) {
  EXPECT_EQ(Assign("$", R"({"a":1})", "[1,2]"), "[1,2]");
  EXPECT_EQ(Assign("$", "\"s\"", R"({"b":2})"), J(R"({"b":2})"));
}

TEST(JsonPathAssign, SetsAndOverwritesFields) {
  EXPECT_EQ(Assign("$.result", R"({"a":1})", "2"), J(R"({"a":1,"result":2})"));
  EXPECT_EQ(Assign("$.a", R"({"a":1,"b":0})", R"({"x":true})"), J(R"({"a":{"x":true},"b":0})"));
  EXPECT_EQ(Assign("$['a b']", "{}", "null"), J(R"({"a b":null})"));
  EXPECT_EQ(Assign("$.detail.shipped_output", R"({"detail":{"k":1}})", "[]"),
            J(R"({"detail":{"k":1,"shipped_output":[]}})"));
}

TEST(JsonPathAssign, CreatesMissingIntermediateObjects) {
  EXPECT_EQ(Assign("$.a.b.c", "{}", "1"), J(R"({"a":{"b":{"c":1}}})"));
  EXPECT_EQ(Assign("$.a.b", R"({"a":{"x":0}})", "1"), J(R"({"a":{"x":0,"b":1}})"));
}

TEST(JsonPathAssign, ReplacesArrayElements) {
  EXPECT_EQ(Assign("$.arr[1]", R"({"arr":[1,2,3]})", "9"), J(R"({"arr":[1,9,3]})"));
  EXPECT_EQ(Assign("$.arr[-1].k", R"({"arr":[1,{}]})", "9"), J(R"({"arr":[1,{"k":9}]})"));
  EXPECT_EQ(Assign("$[0]", "[0]", "1"), "[1]");
}

TEST(JsonPathAssign, FailuresLeaveTargetUnchanged) {
  EXPECT_EQ(Assign("$.x", "\"str\"", "1"), "false:\"str\"");
  EXPECT_EQ(Assign("$.x", "[1]", "1"), "false:[1]");
  EXPECT_EQ(Assign("$.a.b", R"({"a":"s"})", "1"), "false:" + J(R"({"a":"s"})"));
  EXPECT_EQ(Assign("$.a.b", R"({"a":null})", "1"), "false:" + J(R"({"a":null})"));
  EXPECT_EQ(Assign("$.a.b.c", R"({"a":{"b":5}})", "1"), "false:" + J(R"({"a":{"b":5}})"));
  EXPECT_EQ(Assign("$.arr[3]", R"({"arr":[1]})", "1"), "false:" + J(R"({"arr":[1]})"));
  EXPECT_EQ(Assign("$.m.n[0]", "{}", "1"), "false:{}");
  EXPECT_EQ(Assign("$.arr[0]", R"({"arr":{"0":1}})", "1"), "false:" + J(R"({"arr":{"0":1}})"));
  EXPECT_EQ(Assign("$.a[*]", R"({"a":[1]})", "1"), "false:" + J(R"({"a":[1]})"));
  EXPECT_EQ(Assign("$..a", R"({"a":1})", "1"), "false:" + J(R"({"a":1})"));
  EXPECT_EQ(Assign("$$.a", "{}", "1"), "false:{}");
  EXPECT_EQ(Assign("$v.a", "{}", "1"), "false:{}");
}

// --- NormalizedPathText --------------------------------------------------------------------------

TEST(JsonPathNormalized, AwsBracketForm) {
  EXPECT_EQ(NormalizedPathText(MustParse("$.a.b[0]")), "$['a']['b'][0]");
  EXPECT_EQ(NormalizedPathText(MustParse("$")), "$");
  EXPECT_EQ(NormalizedPathText(MustParse("$$.Execution.Id")), "$$['Execution']['Id']");
  EXPECT_EQ(NormalizedPathText(MustParse("$x.a[-1]")), "$x['a'][-1]");
  EXPECT_EQ(NormalizedPathText(MustParse("$[\"a b\"]")), "$['a b']");
  EXPECT_EQ(NormalizedPathText(MustParse("$..a[*].*[1:][:2][0:4:2][0, 1]['p', 'q'][?(@.a)]")),
            "$..['a'][*][*][1:][:2][0:4:2][0,1]['p','q'][?]");
  EXPECT_EQ(NormalizedPathText(MustParse("$..[0]")), "$..[0]");
}

// --- Value semantics -----------------------------------------------------------------------------

TEST(JsonPathValue, CopiesAndMovesKeepTheParsedPath) {
  std::optional<JsonPath> copy;
  {
    JsonPath original = MustParse("$[?(@.a == 1)].b");
    copy.emplace(original);
    JsonPath assigned = MustParse("$");
    assigned = original;
    EXPECT_EQ(assigned.text(), "$[?(@.a == 1)].b");
    JsonPath moved(std::move(assigned));
    EXPECT_EQ(moved.text(), "$[?(@.a == 1)].b");
  }
  const json::value doc = json::parse(R"([{"a":1,"b":"x"},{"a":2,"b":"y"}])");
  PathScope scope{&doc};
  EXPECT_EQ(copy->Evaluate(scope), json::parse(R"(["x"])"));
}

TEST(JsonPathValue, EvaluateDoesNotModifyTheDocument) {
  const json::value doc = json::parse(kStore);
  const json::value before = doc;
  PathScope scope{&doc};
  for (std::string_view path :
       {"$.store.book[0]", "$..price", "$.store.book[?(@.price > 1)]", "$['store','x']"}) {
    ASSERT_TRUE(MustParse(path).Evaluate(scope).has_value()) << path;
  }
  EXPECT_EQ(doc, before);
}

TEST(JsonPathValue, LargeDocumentReferenceIsFast) {
  json::array big;
  for (int i = 0; i < 100000; ++i) {
    big.push_back(json::object{{"i", i}});
  }
  const json::value doc = json::object{{"items", std::move(big)}};
  PathScope scope{&doc};
  JsonPath path = MustParse("$.items[99999].i");
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(path.Evaluate(scope), json::value(99999));
  }
}

}  // namespace
}  // namespace stepflow::sm
