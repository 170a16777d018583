#include "statemachine/jsonata/jsonata.h"

#include <algorithm>
#include <cmath>
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

// ToJson(value) as a conversion, so that std::optional::emplace builds the result in its place instead of
// moving it there from a temporary.
struct JsonOf {
  const Value& value;
  operator boost::json::value() const { return ToJson(value); }  // NOLINT(google-explicit-constructor)
};

}  // namespace

// A direct expression (EvaluateDirect) as a tree of its terms.
struct DirectTerm {
  enum class Kind : std::uint8_t { kPath, kNumber, kArithmetic, kNegate };
  Kind kind = Kind::kNumber;
  std::vector<std::string> path;  // kPath: the variable, then the fields
  double number = 0;              // kNumber
  char op = 0;                    // kArithmetic: + - * / %
  std::unique_ptr<DirectTerm> lhs, rhs;
};

namespace {

// The direct form of `node`, or null. Recursion is bounded by the parser's nesting bound.
std::unique_ptr<DirectTerm> DirectOf(const Node& node) {
  if (!node.predicates.empty() || node.has_group || node.keep_array || !node.stages.empty()) {
    return nullptr;
  }
  auto term = std::make_unique<DirectTerm>();
  switch (node.type) {
    case NodeType::kPath:
    case NodeType::kVariable:
      term->kind = DirectTerm::Kind::kPath;
      term->path = PlainPathOf(node);
      return term->path.empty() ? nullptr : std::move(term);
    case NodeType::kNumber:
      term->number = node.literal.number();
      return term;
    case NodeType::kBlock:  // `( ... )` around one expression: that expression (direct ones bind nothing)
      return node.expressions.size() == 1 ? DirectOf(*node.expressions[0]) : nullptr;
    case NodeType::kNegate:
      term->kind = DirectTerm::Kind::kNegate;
      term->lhs = DirectOf(*node.lhs);
      return term->lhs == nullptr ? nullptr : std::move(term);
    case NodeType::kBinary:
      if (node.value.size() != 1 || std::string_view("+-*/%").find(node.value[0]) == std::string_view::npos) {
        return nullptr;
      }
      term->kind = DirectTerm::Kind::kArithmetic;
      term->op = node.value[0];
      term->lhs = DirectOf(*node.lhs);
      term->rhs = term->lhs == nullptr ? nullptr : DirectOf(*node.rhs);
      return term->rhs == nullptr ? nullptr : std::move(term);
    default:
      return nullptr;
  }
}

// A direct term's number: its value when it is a finite number (the evaluator's arithmetic takes finite numbers
// only; anything else is its error or undefined), otherwise nullopt.
std::optional<double> DirectNumber(const DirectTerm& term, PlainPathResolver resolve) {
  double d = 0;
  switch (term.kind) {
    case DirectTerm::Kind::kNumber:
      d = term.number;
      break;
    case DirectTerm::Kind::kPath: {
      const boost::json::value* json = resolve(term.path);
      if (json == nullptr || !json->is_number()) {
        return std::nullopt;
      }
      d = json->to_number<double>();
      break;
    }
    case DirectTerm::Kind::kNegate: {
      std::optional<double> v = DirectNumber(*term.lhs, resolve);
      if (!v) {
        return std::nullopt;
      }
      d = -*v;
      break;
    }
    case DirectTerm::Kind::kArithmetic: {
      std::optional<double> a = DirectNumber(*term.lhs, resolve);
      std::optional<double> b = a ? DirectNumber(*term.rhs, resolve) : std::nullopt;
      if (!b) {
        return std::nullopt;
      }
      d = ArithmeticResult(term.op, *a, *b);
      break;
    }
  }
  return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
}

}  // namespace

Expression::Expression(std::shared_ptr<const Node> root, std::string text)
    : root_(std::move(root)),
      text_(std::move(text)),
      reads_(FindVariableReads(*root_)),
      plain_path_(PlainPathOf(*root_)),
      direct_(DirectOf(*root_)) {}

std::optional<boost::json::value> EvaluateDirect(const Expression& expression, PlainPathResolver resolve) {
  const DirectTerm* term = expression.direct();
  if (term == nullptr) {
    return std::nullopt;
  }
  try {
    if (term->kind == DirectTerm::Kind::kPath) {
      const boost::json::value* json = resolve(term->path);
      if (json == nullptr || json->is_array()) {
        return std::nullopt;
      }
      return ToJson(FromJsonInPlace(*json));  // as the evaluator's result is converted
    }
    std::optional<double> d = DirectNumber(*term, resolve);
    return d ? std::optional<boost::json::value>(ToJson(Value::Number(*d))) : std::nullopt;
  } catch (JsonataException&) {
    return std::nullopt;  // e.g. a value nested too deep: the evaluator reports it
  }
}

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
      if (name != "$") {  // `$$` is the input
        root->Bind(name, FromJsonInPlace(value));
      }
    }
    // The context is an array input's sequence (made when first read); `$$` the input itself.
    const Value context = in.is_array() ? in.WrappedInSequence() : in;
    evaluator.SetRootInput(std::move(in));
    const Value out = evaluator.Eval(expression.root(), context, root);
    if (!out.undefined()) {
      result.value.emplace(JsonOf{out});
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
