#include "statemachine/core/dataflow.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "statemachine/eval_limits.h"
#include "statemachine/intrinsics.h"
#include "statemachine/json_text.h"

namespace stepflow::sm {
namespace json = boost::json;

namespace {

Failure RuntimeFailure(const StateRef& ref, const std::string& what) {
  return Failure{errors::kRuntime, RuntimeCausePrefix(ref) + what};
}

// AWS reports a failed intrinsic function (bad arguments, a path argument that selects nothing) as
// States.Runtime with the state's prefix, not as States.IntrinsicFailure: executions recorded against AWS
// show "An error occurred while executing the state ... Invalid arguments in States.MathAdd".
Result<json::value> AsRuntimeFailure(Result<json::value> r, const StateRef& ref) {
  if (r.ok()) {
    return r;
  }
  if (r.failure().error == errors::kDataLimitExceeded) {  // a broken size bound keeps its name
    return Failure{errors::kDataLimitExceeded, RuntimeCausePrefix(ref) + r.failure().cause};
  }
  return RuntimeFailure(ref, r.failure().cause);
}

}  // namespace

std::string RuntimeCausePrefix(const StateRef& ref) {
  return absl::StrCat("An error occurred while executing the state '", ref.name, "' (entered at the event id #",
                      ref.entered_event_id, "). ");
}

std::string ToCompactJson(const json::value& v) { return ToAwsJson(v); }

Result<json::value> ApplySelectPath(const OptionalPath& p, const json::value& value, const PathResolver& resolve,
                                    const StateRef& ref) {
  switch (p.kind) {
    case OptionalPath::Kind::kDefault:
      return value;
    case OptionalPath::Kind::kNull:
      return json::value(json::object());
    case OptionalPath::Kind::kPath:
      break;
  }
  return SelectPath(*p.path, resolve, ref);
}

Result<json::value> SelectPath(const JsonPath& path, const PathResolver& resolve, const StateRef& ref) {
  PathValue selected = resolve(path);
  if (!selected.ok()) {
    return Failure{selected.failure().error, RuntimeCausePrefix(ref) + selected.failure().cause};
  }
  std::optional<json::value>& found = selected.value();
  if (!found) {
    return RuntimeFailure(ref, absl::StrCat("Invalid path '", path.text(), "' : No results for path: ",
                                            NormalizedPathText(path)));
  }
  return std::move(*found);
}

namespace {

// Evaluates `node`, counting the bytes of every evaluated expression in `bytes`: a template of many
// fields that each copy `$` would otherwise build gigabytes from one payload.
Result<json::value> ApplyTemplateCounted(const TemplateNode& node, const PathResolver& resolve,
                                         RuntimeValues& runtime, const StateRef& ref, std::size_t& bytes) {
  switch (node.kind) {
    case TemplateNode::Kind::kLiteral:
      return node.literal;
    case TemplateNode::Kind::kExpression:
    case TemplateNode::Kind::kJsonata:
      // Expressions are evaluated by their object member (below); a JSONata string only appears in a
      // JSONata state, which the model does not build yet (compiled_template.h, JSONATA HOOK).
      return RuntimeFailure(ref, "A JSONata expression cannot be evaluated in a JSONPath state");
    case TemplateNode::Kind::kArray: {
      json::array out;
      out.reserve(node.items.size());
      for (const TemplateNode* item : node.items) {
        Result<json::value> r = ApplyTemplateCounted(*item, resolve, runtime, ref, bytes);
        if (!r.ok()) {
          return r.failure();
        }
        out.push_back(std::move(r).value());
      }
      return json::value(std::move(out));
    }
    case TemplateNode::Kind::kObject:
      break;
  }
  json::object out;
  out.reserve(node.members.size());
  for (const TemplateNode::Member& member : node.members) {
    if (member.node->kind == TemplateNode::Kind::kExpression) {
      Result<json::value> r =
          ResolvePathOrIntrinsic(member.node->expression, resolve, runtime, ref, member.source_key);
      if (!r.ok()) {
        return r.failure();
      }
      bytes += ApproxJsonBytes(r.value(), kDefaultMaxResultBytes);
      if (bytes > kDefaultMaxResultBytes) {
        return ResultTooLarge(absl::StrCat(RuntimeCausePrefix(ref), "The payload template"), kDefaultMaxResultBytes);
      }
      out[member.key] = std::move(r).value();
      continue;
    }
    Result<json::value> r = ApplyTemplateCounted(*member.node, resolve, runtime, ref, bytes);
    if (!r.ok()) {
      return r.failure();
    }
    out[member.key] = std::move(r).value();
  }
  return json::value(std::move(out));
}

}  // namespace

Result<json::value> ApplyTemplate(const CompiledTemplate& tmpl, const PathResolver& resolve, RuntimeValues& runtime,
                                  const StateRef& ref) {
  std::size_t bytes = 0;
  return ApplyTemplateCounted(tmpl.root(), resolve, runtime, ref, bytes);
}

Result<json::value> ApplyResultPath(const OptionalPath& p, const json::value& input, json::value result,
                                    const StateRef& ref) {
  switch (p.kind) {
    case OptionalPath::Kind::kDefault:
      return result;
    case OptionalPath::Kind::kNull:
      return input;
    case OptionalPath::Kind::kPath:
      break;
  }
  json::value out = input;
  if (!p.path->Assign(out, std::move(result))) {
    return Failure{errors::kResultPathMatchFailure,
                   absl::StrCat("Unable to apply ResultPath \"", p.path->text(), "\" to input \"",
                                ToCompactJson(input), "\"")};
  }
  return out;
}

Result<bool> ApplyAssign(const CompiledTemplate& assign, const PathResolver& resolve, RuntimeValues& runtime,
                         const StateRef& ref, json::object& variables) {
  if (!assign.present() || !assign.source().is_object()) {
    return true;
  }
  Result<json::value> evaluated = ApplyTemplate(assign, resolve, runtime, ref);
  if (!evaluated.ok()) {
    return evaluated.failure();
  }
  for (auto& [name, v] : evaluated.value().get_object()) {
    variables[name] = std::move(v);
  }
  return true;
}

Result<json::value> ResolvePathOrIntrinsic(const CompiledExpression& expression, const PathResolver& resolve,
                                           RuntimeValues& runtime, const StateRef& ref, const std::string& field) {
  switch (expression.kind()) {
    case CompiledExpression::Kind::kNotAString:
      return RuntimeFailure(ref, absl::StrCat("The value of the field '", field,
                                              "' must be a JSONPath or an intrinsic function"));
    case CompiledExpression::Kind::kInvalidIntrinsic:
      return RuntimeFailure(ref, expression.error());
    case CompiledExpression::Kind::kIntrinsic:
      return AsRuntimeFailure(expression.intrinsic().Evaluate(resolve, runtime), ref);
    case CompiledExpression::Kind::kPath:
    case CompiledExpression::Kind::kInvalidPath:  // selects nothing, as an unparsable path always did
      break;
  }
  std::optional<json::value> found;
  if (expression.kind() == CompiledExpression::Kind::kPath) {
    PathValue selected = resolve(expression.path());
    if (!selected.ok()) {
      return Failure{selected.failure().error, RuntimeCausePrefix(ref) + selected.failure().cause};
    }
    found = std::move(selected).value();
  }
  if (!found) {
    std::string input_text = "null";
    if (PathValue whole = resolve(JsonPath::WholeInput()); whole.ok() && whole.value()) {
      input_text = ToCompactJson(*whole.value());
    }
    return RuntimeFailure(ref, absl::StrCat("The JSONPath '", expression.text(), "' specified for the field '", field,
                                            "' could not be found in the input '", input_text, "'"));
  }
  return std::move(*found);
}

}  // namespace stepflow::sm
