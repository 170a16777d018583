// The compiled-expression seam: Compile is the one entry point (model + the validator's diagnostics), every
// expression of the model is compiled once, and executions evaluate the compiled objects.

#include "statemachine/compile.h"

#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "statemachine/compiled_template.h"
#include "statemachine/core/dataflow.h"
#include "statemachine/json_parse.h"
#include "statemachine/json_path.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

class ZeroRuntime : public RuntimeValues {
 public:
  std::string NewUuid() override { return "00000000-0000-4000-8000-000000000000"; }
  double NextRandomUnit() override { return 0; }
};

constexpr char kPassWithParameters[] = R"j({"StartAt":"P","States":{"P":{"Type":"Pass",
  "Parameters":{"fixed":{"a":[1,2]},"x.$":"$.x","n.$":"States.MathAdd($.n, 1)","deep":{"y.$":"$.y"}},
  "ResultPath":"$.out","End":true}}})j";


// A number means the same double in a definition (submitted or read back from storage), in a path's literal and in
// data: ParsePreciseJson and ParseJson read the nearest double (Boost.JSON 1.81 alone reads this one a unit off).
TEST(CompileTest, ADefinitionsNumbersAreTheNearestDoublesAsInData) {
  const std::string eights = "8.888888888888889E55";
  const std::string definition = R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":)" + eights +
                                 R"(,"End":true}}})";
  const double nearest = std::strtod(eights.c_str(), nullptr);
  CompileResult compiled = Compile(definition);
  ASSERT_TRUE(compiled.ok()) << compiled.model_status;
  EXPECT_EQ(compiled.model->Find("P")->result, boost::json::value(nearest));
  absl::StatusOr<std::shared_ptr<const StateMachine>> stored = CompileStored(definition);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ((*stored)->Find("P")->result, boost::json::value(nearest));
  absl::StatusOr<boost::json::value> data = ParseJson(eights, "");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, boost::json::value(nearest));
}

TEST(CompileTest, ValidDefinitionGivesTheModelAndNoDiagnostics) {
  CompileResult compiled = Compile(kPassWithParameters);
  EXPECT_TRUE(compiled.diagnostics.empty());
  ASSERT_TRUE(compiled.ok()) << compiled.model_status;
  const State* p = compiled.model->Find("P");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->parameters.present());
  EXPECT_EQ(p->result_path.kind, OptionalPath::Kind::kPath);
}

TEST(CompileTest, InvalidDefinitionGivesEveryDiagnosticAndNoModel) {
  CompileResult compiled =
      Compile(R"j({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"},"B":{"Type":"Succeed"}}})j");
  EXPECT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.model, nullptr);
  EXPECT_GE(compiled.diagnostics.size(), 2u);  // the missing target and the unreachable state
  EXPECT_TRUE(absl::IsFailedPrecondition(compiled.model_status));
  EXPECT_FALSE(Compile("not json").diagnostics.empty());
}

TEST(CompileTest, ValidJsonataDefinitionCompilesItsExpressions) {
  CompileResult compiled = Compile(R"j({"QueryLanguage":"JSONata","StartAt":"P","States":{
    "P":{"Type":"Pass","Output":{"a":"{% $states.input %}"},"End":true}}})j");
  EXPECT_TRUE(compiled.diagnostics.empty());
  ASSERT_TRUE(compiled.ok()) << compiled.model_status;
  const State* p = compiled.model->Find("P");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->language, QueryLanguage::kJsonata);
  ASSERT_TRUE(p->output.present());
  const TemplateNode& a = *p->output.root().members.at(0).node;
  ASSERT_EQ(a.kind, TemplateNode::Kind::kJsonata);
  EXPECT_NE(a.jsonata.program, nullptr);
  EXPECT_FALSE(a.jsonata.error.has_value());
}

TEST(CompileTest, JsonataSyntaxErrorIsADiagnosticWithItsLocation) {
  CompileResult compiled = Compile(R"j({"QueryLanguage":"JSONata","StartAt":"P","States":{
    "P":{"Type":"Pass","Output":["{% $states.input.( %}"],"End":true}}})j");
  ASSERT_EQ(compiled.diagnostics.size(), 1u);
  EXPECT_EQ(compiled.diagnostics[0].location, "/States/P/Output/0");
  EXPECT_FALSE(compiled.ok());
}

TEST(CompileTest, CompileStoredSkipsValidationButRefusesNonJson) {
  // Unreachable state B: refused by the validator, still loadable as a stored version.
  EXPECT_TRUE(CompileStored(R"j({"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}})j").ok());
  EXPECT_TRUE(absl::IsDataLoss(CompileStored("{").status()));
}

TEST(CompiledTemplateTest, LiteralSubtreesStayWholeAndExpressionsAreCompiled) {
  const CompiledTemplate t = CompiledTemplate::Compile(
      json::parse(R"j({"fixed":{"a":[1,{"b":2}]},"p.$":"$.x","i.$":"States.Array(1)","bad.$":"States.Nope(",
                      "np.$":"$.a[","num.$":5,"arr":[1,{"q.$":"$$.Execution.Id"}]})j"),
      QueryLanguage::kJsonPath);
  ASSERT_TRUE(t.present());
  const TemplateNode& root = t.root();
  ASSERT_EQ(root.kind, TemplateNode::Kind::kObject);
  ASSERT_EQ(root.members.size(), 7u);
  EXPECT_EQ(root.members[0].node->kind, TemplateNode::Kind::kLiteral);
  EXPECT_EQ(root.members[0].node->literal, json::parse(R"j({"a":[1,{"b":2}]})j"));
  EXPECT_EQ(root.members[1].key, "p");
  EXPECT_EQ(root.members[1].source_key, "p.$");
  EXPECT_EQ(root.members[1].node->expression.kind(), CompiledExpression::Kind::kPath);
  EXPECT_EQ(root.members[2].node->expression.kind(), CompiledExpression::Kind::kIntrinsic);
  EXPECT_EQ(root.members[3].node->expression.kind(), CompiledExpression::Kind::kInvalidIntrinsic);
  EXPECT_FALSE(root.members[3].node->expression.error().empty());
  EXPECT_EQ(root.members[4].node->expression.kind(), CompiledExpression::Kind::kInvalidPath);
  EXPECT_EQ(root.members[5].node->expression.kind(), CompiledExpression::Kind::kNotAString);
  ASSERT_EQ(root.members[6].node->kind, TemplateNode::Kind::kArray);
  EXPECT_EQ(root.members[6].node->items[1]->members[0].node->expression.path().root(), JsonPath::Root::kContext);
}

TEST(CompiledTemplateTest, JsonataTemplatesKeepTheirTextForTheEvaluatorHook) {
  const json::value source = json::parse(R"j({"a":"{% $states.input.x %}","b":[1,"{%2%}"],"c":"{% not closed"})j");
  const CompiledTemplate jsonata = CompiledTemplate::Compile(source, QueryLanguage::kJsonata);
  const TemplateNode& root = jsonata.root();
  ASSERT_EQ(root.members.size(), 3u);
  ASSERT_EQ(root.members[0].node->kind, TemplateNode::Kind::kJsonata);
  EXPECT_EQ(root.members[0].node->jsonata.expression, " $states.input.x ");
  EXPECT_EQ(root.members[1].node->items[1]->jsonata.expression, "2");
  EXPECT_EQ(root.members[2].node->kind, TemplateNode::Kind::kLiteral);
  // The same strings are plain literals in a JSONPath template.
  EXPECT_EQ(CompiledTemplate::Compile(source, QueryLanguage::kJsonPath).root().kind, TemplateNode::Kind::kLiteral);
}

// Every evaluation reads the same compiled path objects, owned by the model: nothing is parsed per
// execution, and all executions (threads) share one compiled template.
TEST(CompiledTemplateTest, EvaluationsShareTheCompiledPathsAcrossThreads) {
  CompileResult compiled = Compile(kPassWithParameters);
  ASSERT_TRUE(compiled.ok());
  const CompiledTemplate& parameters = compiled.model->Find("P")->parameters;
  const json::value input = json::parse(R"j({"x":"X","y":[true],"n":41})j");
  const std::string name = "P";
  auto evaluate = [&](std::set<const JsonPath*>* seen) {
    ZeroRuntime runtime;
    PathResolver resolve = [&](const JsonPath& path) -> PathValue {
      seen->insert(&path);
      PathScope scope;
      scope.input = &input;
      return path.EvaluateBounded(scope);
    };
    return ApplyTemplate(parameters, resolve, runtime, StateRef{name, 2});
  };
  std::set<const JsonPath*> first;
  Result<json::value> r = evaluate(&first);
  ASSERT_TRUE(r.ok()) << r.failure().cause;
  EXPECT_EQ(r.value(), json::parse(R"j({"fixed":{"a":[1,2]},"x":"X","n":42,"deep":{"y":[true]}})j"));
  EXPECT_EQ(first.size(), 3u);  // $.x, $.n (inside the intrinsic), $.y

  std::vector<std::set<const JsonPath*>> seen(4);
  std::vector<std::thread> threads;
  for (auto& s : seen) {
    threads.emplace_back([&evaluate, &s, &r] {
      for (int i = 0; i < 200; ++i) {
        Result<json::value> again = evaluate(&s);
        if (!again.ok() || again.value() != r.value()) {
          ADD_FAILURE() << "a concurrent evaluation differed";
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  for (const auto& s : seen) {
    EXPECT_EQ(s, first);  // the very same compiled objects
  }
}

TEST(CompiledTemplateTest, InvalidExpressionsFailAtRunTimeAsBefore) {
  const CompiledTemplate t =
      CompiledTemplate::Compile(json::parse(R"j({"n.$":5})j"), QueryLanguage::kJsonPath);
  ZeroRuntime runtime;
  const json::value input = json::object();
  PathResolver resolve = [&](const JsonPath& path) -> PathValue {
    PathScope scope;
    scope.input = &input;
    return path.EvaluateBounded(scope);
  };
  const std::string name = "S";
  Result<json::value> r = ApplyTemplate(t, resolve, runtime, StateRef{name, 2});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().error, "States.Runtime");
  EXPECT_THAT(r.failure().cause, HasSubstr("The value of the field 'n.$' must be a JSONPath or an intrinsic function"));
  const CompiledTemplate missing =
      CompiledTemplate::Compile(json::parse(R"j({"m.$":"$.missing"})j"), QueryLanguage::kJsonPath);
  Result<json::value> m = ApplyTemplate(missing, resolve, runtime, StateRef{name, 2});
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.failure().cause,
              HasSubstr("The JSONPath '$.missing' specified for the field 'm.$' could not be found in the input '{}'"));
}

}  // namespace
}  // namespace stepflow::sm
