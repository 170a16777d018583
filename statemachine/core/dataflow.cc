#include "statemachine/core/dataflow.h"

#include <string>
#include <unordered_map>
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

// Parsed intrinsic calls keyed by their text. A cache only: parsing is deterministic.
const IntrinsicCall* CachedIntrinsic(const std::string& text, std::string* error) {
  thread_local std::unordered_map<std::string, IntrinsicCall> cache;
  auto it = cache.find(text);
  if (it != cache.end()) {
    return &it->second;
  }
  auto parsed = IntrinsicCall::Parse(text);
  if (!parsed.ok()) {
    *error = std::string(parsed.status().message());
    return nullptr;
  }
  if (cache.size() > 4096) {
    cache.clear();
  }
  return &cache.emplace(text, std::move(parsed).value()).first->second;
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

bool EndsWithDollar(std::string_view key) { return key.size() >= 2 && key.substr(key.size() - 2) == ".$"; }

Result<json::value> EvaluateDollarField(std::string_view key, const json::value& v, const PathResolver& resolve,
                                        RuntimeValues& runtime, const StateRef& ref) {
  if (!v.is_string()) {
    return RuntimeFailure(ref, absl::StrCat("The value of the field '", std::string(key),
                                            "' must be a JSONPath or an intrinsic function"));
  }
  return ResolvePathOrIntrinsic(std::string(v.get_string()), resolve, runtime, ref, std::string(key));
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
  PathValue selected = resolve(path.text());
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

// Evaluates `tmpl`, counting the bytes of every evaluated `.$` field in `bytes`: a template of many
// fields that each copy `$` would otherwise build gigabytes from one payload.
Result<json::value> ApplyTemplateCounted(const json::value& tmpl, const PathResolver& resolve,
                                         RuntimeValues& runtime, const StateRef& ref, std::size_t& bytes) {
  if (tmpl.is_array()) {
    json::array out;
    out.reserve(tmpl.get_array().size());
    for (const json::value& e : tmpl.get_array()) {
      Result<json::value> r = ApplyTemplateCounted(e, resolve, runtime, ref, bytes);
      if (!r.ok()) {
        return r.failure();
      }
      out.push_back(std::move(r).value());
    }
    return json::value(std::move(out));
  }
  if (!tmpl.is_object()) {
    return tmpl;
  }
  json::object out;
  for (const auto& [key, v] : tmpl.get_object()) {
    if (EndsWithDollar(key)) {
      Result<json::value> r = EvaluateDollarField(key, v, resolve, runtime, ref);
      if (!r.ok()) {
        return r.failure();
      }
      bytes += ApproxJsonBytes(r.value(), kDefaultMaxResultBytes);
      if (bytes > kDefaultMaxResultBytes) {
        return ResultTooLarge(absl::StrCat(RuntimeCausePrefix(ref), "The payload template"), kDefaultMaxResultBytes);
      }
      out[key.substr(0, key.size() - 2)] = std::move(r).value();
      continue;
    }
    Result<json::value> r = ApplyTemplateCounted(v, resolve, runtime, ref, bytes);
    if (!r.ok()) {
      return r.failure();
    }
    out[key] = std::move(r).value();
  }
  return json::value(std::move(out));
}

}  // namespace

Result<json::value> ApplyTemplate(const json::value& tmpl, const PathResolver& resolve, RuntimeValues& runtime,
                                  const StateRef& ref) {
  std::size_t bytes = 0;
  return ApplyTemplateCounted(tmpl, resolve, runtime, ref, bytes);
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

Result<bool> ApplyAssign(const json::value& assign, const PathResolver& resolve, RuntimeValues& runtime,
                         const StateRef& ref, json::object& variables) {
  if (!assign.is_object()) {
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

Result<json::value> ResolvePathOrIntrinsic(const std::string& text, const PathResolver& resolve,
                                           RuntimeValues& runtime, const StateRef& ref, const std::string& field) {
  if (LooksLikeIntrinsic(text)) {
    std::string error;
    const IntrinsicCall* call = CachedIntrinsic(text, &error);
    if (call == nullptr) {
      return RuntimeFailure(ref, error);
    }
    return AsRuntimeFailure(call->Evaluate(resolve, runtime), ref);
  }
  PathValue selected = resolve(text);
  if (!selected.ok()) {
    return Failure{selected.failure().error, RuntimeCausePrefix(ref) + selected.failure().cause};
  }
  std::optional<json::value>& found = selected.value();
  if (!found) {
    std::string input_text = "null";
    if (PathValue whole = resolve("$"); whole.ok() && whole.value()) {
      input_text = ToCompactJson(*whole.value());
    }
    return RuntimeFailure(ref, absl::StrCat("The JSONPath '", text, "' specified for the field '", field,
                                            "' could not be found in the input '", input_text, "'"));
  }
  return std::move(*found);
}

}  // namespace stepflow::sm
