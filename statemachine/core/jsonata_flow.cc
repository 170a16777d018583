#include "statemachine/core/jsonata_flow.h"

#include <cmath>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "statemachine/core/jsonata_aws_functions.h"
#include "statemachine/jsonata/evaluator.h"
#include "statemachine/jsonata/lexer.h"

namespace stepflow::sm {
namespace json = boost::json;

namespace {

// `location`: the field whose expression failed (empty when the failure is not one field's).
Failure QueryFailure(const StateRef& ref, const std::string& what, std::string_view location = {}) {
  return Failure{errors::kQueryEvaluationError, RuntimeCausePrefix(ref) + what, std::string(location)};
}

std::string Trimmed(const std::string& text) { return std::string(absl::StripAsciiWhitespace(text)); }

std::string ExpressionCause(const CompiledJsonata& jsonata, std::string_view field, std::string_view what) {
  return absl::StrCat("The JSONata expression '", Trimmed(jsonata.expression), "' specified for the field '", std::string(field),
                      "' ", std::string(what));
}

// Where in a template an expression sits ("Output/items/0"): spelled out only when a failure names it.
struct FieldPath {
  std::string_view name;  // the field (at the root), or this level's member key
  std::size_t index = 0;  // this level's array index, when `is_index`
  bool is_index = false;
  const FieldPath* parent = nullptr;

  std::string Text() const {
    std::string prefix = parent == nullptr ? std::string() : absl::StrCat(parent->Text(), "/");
    return is_index ? absl::StrCat(prefix, index) : prefix.append(name);
  }
};

// One evaluation scope, shared by every expression of a template. Each expression binds only the variables
// it mentions (VariableReads, found when it was compiled), read in place from `states` — no copy of the
// input or of the variables — and `$states.context` is built once, and only when an expression may read it.
class Scope {
 public:
  Scope(const JsonataStates& states, RuntimeValues& runtime, const StateRef& ref)
      : states_(states), runtime_(runtime), ref_(ref) {
    environment_.now_millis = static_cast<double>(states.now_millis);
    environment_.allow_eval = false;  // AWS refuses $eval in ASL: no expression text goes unseen
    environment_.random = [this] { return runtime_.NextRandomUnit(); };
    environment_.extra_functions = FindAwsJsonataFunction;
  }

  // Binds into `frame` what `reads` says the expression may read. The values read `states_` and
  // `context_` in place (both outlive the evaluation: the result is converted to JSON before it ends) and are
  // made once per scope, shared by its expressions.
  void Bind(const jsonata::VariableReads& reads, jsonata::Frame* frame) {
    if (reads.Mentions("states")) {
      frame->Bind("states", StatesValue(states_.context && reads.MayRead("states", "context")));
    }
    if (states_.variables != nullptr) {
      for (const std::string& name : reads.names) {
        if (name == "states") {
          continue;
        }
        auto known = variable_values_.find(name);
        if (known == variable_values_.end()) {
          const json::value* v = states_.variables->if_contains(name);
          known = variable_values_.emplace(name, v != nullptr ? jsonata::FromJsonInPlace(*v) : jsonata::Value()).first;
        }
        if (!known->second.undefined()) {
          frame->Bind(name, known->second);
        }
      }
    }
  }

  // `$states`: input, result and errorOutput where present, and the context when `with_context`.
  jsonata::Value StatesValue(bool with_context) {
    std::optional<jsonata::Value>& cached = with_context ? states_with_context_ : states_without_context_;
    if (!cached) {
      auto s = std::make_shared<jsonata::Object>();
      auto add = [&](const char* name, const json::value* v) {
        if (v != nullptr) {
          s->Set(name, jsonata::FromJsonInPlace(*v));
        }
      };
      add("input", states_.input);
      add("result", states_.result);
      add("errorOutput", states_.error_output);
      if (with_context) {
        if (!context_) {
          context_ = states_.context();
        }
        add("context", &*context_);
      }
      cached = jsonata::Value::FromObject(std::move(s));
    }
    return *cached;
  }

  // The JSON a plain path (Expression::plain_path: `$states.input.a.b`, `$myVariable.x`) selects, or
  // nullptr when the evaluator must decide (a missing field, an array on the way or at the end, a name
  // this scope does not hold as JSON, `$states.context`, which is built on demand). For EvaluateDirect.
  const json::value* ResolvePlainPath(const std::vector<std::string>& path) const {
    const json::value* v = nullptr;
    std::size_t next = 1;
    if (path[0] == "states") {
      if (path.size() < 2) {
        return nullptr;
      }
      next = 2;
      if (path[1] == "input") {
        v = states_.input;
      } else if (path[1] == "result") {
        v = states_.result;
      } else if (path[1] == "errorOutput") {
        v = states_.error_output;
      }
    } else if (states_.variables != nullptr) {
      v = states_.variables->if_contains(path[0]);
    }
    for (; v != nullptr && next < path.size(); ++next) {
      const json::object* o = v->if_object();
      v = o == nullptr ? nullptr : o->if_contains(path[next]);
    }
    return v == nullptr || v->is_array() ? nullptr : v;
  }

  Result<json::value> Evaluate(const CompiledJsonata& jsonata, const FieldPath& path) {
    const auto failure = [&](std::string_view what) {
      const std::string field = path.Text();
      return QueryFailure(ref_, ExpressionCause(jsonata, field, what), field);
    };
    if (jsonata.program == nullptr) {
      std::string message = jsonata.error ? absl::StrCat(jsonata.error->code, ": ", jsonata.error->message) : "";
      return failure(absl::StrCat("could not be compiled: ", message));
    }
    AwsJsonataRuntimeScope runtime_scope(&runtime_);
    try {
      // A plain path or arithmetic over plain paths (`$states.input.step + 1`) taken from the JSON directly.
      if (std::optional<json::value> direct = jsonata::EvaluateDirect(
              *jsonata.program, [this](const std::vector<std::string>& p) { return ResolvePlainPath(p); })) {
        return *std::move(direct);
      }
      jsonata::Evaluator evaluator(environment_, limits_);  // both outlive the evaluator
      Bind(jsonata.program->reads(), evaluator.root());
      jsonata::Value out = evaluator.Eval(jsonata.program->root(), jsonata::Value(), evaluator.root());
      if (out.undefined()) {
        return failure("returned nothing (undefined).");
      }
      if (out.is_function()) {
        return failure("returned an unsupported result type.");
      }
      return jsonata::ToJson(out);
    } catch (jsonata::JsonataException& e) {
      // AWS: "... threw an error during evaluation. T1006: Attempted to invoke a non-function".
      return failure(absl::StrCat("threw an error during evaluation. ", e.error.code, ": ", e.error.message));
    } catch (const std::bad_alloc&) {
      return failure("ran out of memory during evaluation.");
    }
  }

  // Recursion is bounded by the definition's JSON depth (the template is part of the definition).
  Result<json::value> Walk(const TemplateNode& node, const FieldPath& path) {
    switch (node.kind) {
      case TemplateNode::Kind::kLiteral:
        return node.literal;
      case TemplateNode::Kind::kJsonata:
        return Evaluate(node.jsonata, path);
      case TemplateNode::Kind::kExpression:  // JSONPath-only; never built for a JSONata template
        return QueryFailure(ref_, "A JSONPath expression cannot be evaluated in a JSONata state");
      case TemplateNode::Kind::kArray: {
        json::array out;
        out.reserve(node.items.size());
        for (std::size_t i = 0; i < node.items.size(); ++i) {
          Result<json::value> v = Walk(*node.items[i], FieldPath{{}, i, true, &path});
          if (!v.ok()) {
            return v.failure();
          }
          out.push_back(std::move(v).value());
        }
        return json::value(std::move(out));
      }
      case TemplateNode::Kind::kObject: {
        json::object out(node.members.size());
        for (const TemplateNode::Member& m : node.members) {
          Result<json::value> v = Walk(*m.node, FieldPath{m.key, 0, false, &path});
          if (!v.ok()) {
            return v.failure();
          }
          out[m.key] = std::move(v).value();
        }
        return json::value(std::move(out));
      }
    }
    return json::value();
  }

 private:
  const JsonataStates& states_;
  RuntimeValues& runtime_;
  const StateRef& ref_;
  std::optional<json::value> context_;  // $states.context, once an expression may read it
  // Values made (in place) for the expressions of this scope.
  std::optional<jsonata::Value> states_without_context_;
  std::optional<jsonata::Value> states_with_context_;
  std::map<std::string, jsonata::Value, std::less<>> variable_values_;  // undefined: no such variable
  jsonata::EvaluationEnvironment environment_;
  jsonata::EvaluationLimits limits_;  // the evaluator's runaway guard (its documented defaults)
};

const char* JsonTypeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
    default: return "number";
  }
}

}  // namespace

Result<json::value> EvaluateJsonata(const CompiledTemplate& tmpl, const JsonataStates& states,
                                    RuntimeValues& runtime, const StateRef& ref, std::string_view field) {
  Scope scope(states, runtime, ref);
  return scope.Walk(tmpl.root(), FieldPath{field});
}

Result<bool> AssignJsonata(const CompiledTemplate& assign, const JsonataStates& states, RuntimeValues& runtime,
                           const StateRef& ref, json::object& variables) {
  if (!assign.present()) {
    return true;
  }
  Result<json::value> evaluated = EvaluateJsonata(assign, states, runtime, ref, "Assign");
  if (!evaluated.ok()) {
    return evaluated.failure();
  }
  if (!evaluated.value().is_object()) {
    return QueryFailure(ref, "The field 'Assign' must be an object");
  }
  for (auto& [name, v] : evaluated.value().get_object()) {
    variables[name] = std::move(v);
  }
  return true;
}

std::string JsonataTemplateText(const CompiledTemplate& tmpl) {
  if (tmpl.present() && tmpl.root().kind == TemplateNode::Kind::kJsonata) {
    return Trimmed(tmpl.root().jsonata.expression);
  }
  return ToCompactJson(tmpl.source());
}

Failure JsonataTypeFailure(const CompiledTemplate& tmpl, const StateRef& ref, std::string_view field,
                           std::string_view expected, const json::value& value) {
  return QueryFailure(ref, absl::StrCat("The JSONata expression '", JsonataTemplateText(tmpl),
                                        "' specified for the field '", std::string(field),
                                        "' returned an unexpected result type. Expected '", std::string(expected),
                                        "', but was '", JsonTypeName(value), "' for value: ", ToCompactJson(value)),
                      field);
}

Result<double> JsonataNumber(const CompiledTemplate& tmpl, const JsonataStates& states, RuntimeValues& runtime,
                             const StateRef& ref, std::string_view field, double min, double max,
                             bool allow_fraction) {
  Result<json::value> v = EvaluateJsonata(tmpl, states, runtime, ref, field);
  if (!v.ok()) {
    return v.failure();
  }
  const json::value& value = v.value();
  if (!value.is_number()) {
    return JsonataTypeFailure(tmpl, ref, field, allow_fraction ? "number" : "integer", value);
  }
  double d = value.to_number<double>();
  if (!allow_fraction && std::trunc(d) != d) {
    return JsonataTypeFailure(tmpl, ref, field, "integer", value);
  }
  if (!(d >= min && d <= max)) {
    return QueryFailure(ref, absl::StrCat("The JSONata expression '", JsonataTemplateText(tmpl),
                                          "' specified for the field '", std::string(field), "' returned ", ToCompactJson(value),
                                          ", which is outside the allowed range [", min, ", ", max, "]"),
                        field);
  }
  return d;
}

}  // namespace stepflow::sm
