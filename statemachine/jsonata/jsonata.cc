#include "statemachine/jsonata/jsonata.h"

#include <algorithm>
#include <new>

#include "statemachine/jsonata/evaluator.h"
#include "statemachine/jsonata/parser.h"
#include "statemachine/jsonata/unicode.h"

namespace stepflow::sm::jsonata {
namespace {

// The parser and the evaluator locate errors by byte offset in the UTF-8 text; jsonata-js reports the
// index in the JavaScript string, i.e. in UTF-16 code units. Offsets past the end (an unterminated
// expression) keep their excess.
void ReportPositionInUtf16(std::string_view text, JsonataError& error) {
  if (error.position <= 0) {
    return;
  }
  const std::size_t bytes = static_cast<std::size_t>(error.position);
  const std::size_t within = std::min(bytes, text.size());
  error.position = Utf16Length(text.substr(0, within)) + static_cast<std::int64_t>(bytes - within);
}

// Expression::plain_path of `root`.
std::vector<std::string> PlainPathOf(const Node& root) {
  const bool plain_node = root.predicates.empty() && !root.has_group && !root.keep_array && root.stages.empty();
  const auto named_variable = [](const Node& n) {
    return n.type == NodeType::kVariable && !n.value.empty() && n.value != "$";
  };
  if (root.type == NodeType::kVariable && plain_node && named_variable(root)) {
    return {root.value};
  }
  if (root.type != NodeType::kPath || !IsPlainPath(root) || root.steps.empty() || !named_variable(*root.steps[0])) {
    return {};
  }
  std::vector<std::string> path;
  for (const NodePtr& step : root.steps) {
    path.push_back(step->value);
  }
  return path;
}

}  // namespace

Expression::Expression(std::shared_ptr<const Node> root, std::string text)
    : root_(std::move(root)),
      text_(std::move(text)),
      reads_(FindVariableReads(*root_)),
      plain_path_(PlainPathOf(*root_)) {}

CompileResult Compile(std::string_view text) {
  CompileResult result;
  if (text.size() > kMaxExpressionBytes) {
    result.error = JsonataError{"U1001", "The expression is longer than the limit", 0, {}};
    return result;
  }
  try {
    NodePtr root = ParseExpression(text);
    result.expression = std::make_shared<const Expression>(std::shared_ptr<const Node>(std::move(root)),
                                                           std::string(text));
  } catch (JsonataException& e) {
    result.error = std::move(e.error);
    ReportPositionInUtf16(text, *result.error);
  }
  return result;
}

EvaluationResult Evaluate(const Expression& expression, const boost::json::value* input,
                          const std::map<std::string, boost::json::value>& bindings,
                          const EvaluationEnvironment& environment, const EvaluationLimits& limits) {
  EvaluationResult result;
  try {
    Evaluator evaluator(environment, limits);
    Frame* root = evaluator.root();
    Value in = input == nullptr ? Value() : FromJsonInPlace(*input);
    for (const auto& [name, value] : bindings) {
      root->Bind(name, FromJsonInPlace(value));
    }
    root->Bind("$", in);
    if (in.is_array()) {
      Value wrapped = MakeSequence({in});
      wrapped.array().outer_wrapper = true;
      in = wrapped;
    }
    Value out = evaluator.Eval(expression.root(), in, root);
    if (!out.undefined()) {
      result.value = ToJson(out);
    }
  } catch (JsonataException& e) {
    result.error = std::move(e.error);
    ReportPositionInUtf16(expression.text(), *result.error);
  } catch (const std::bad_alloc&) {
    result.error = JsonataError{"U1001", "The evaluation ran out of memory", -1, {}};
  }
  return result;
}

}  // namespace stepflow::sm::jsonata
