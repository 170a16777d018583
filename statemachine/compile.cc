#include "statemachine/compile.h"

#include <optional>
#include <string>
#include <utility>

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/precise_json.h"

namespace stepflow::sm {

CompileResult Compile(std::string_view text, const ValidateOptions& options) {
  CompileResult result;
  result.diagnostics = ValidateDefinitionText(text, options);
  if (!result.diagnostics.empty()) {
    result.model_status = absl::FailedPreconditionError(
        absl::StrCat("the definition has ", result.diagnostics.size(), " problem(s)"));
    return result;
  }
  // The validator's own parse (same depth and size limits), so that what validates compiles.
  absl::StatusOr<boost::json::value> parsed = ParseDefinitionText(text, options);
  if (!parsed.ok()) {
    result.model_status = parsed.status();
    return result;
  }
  absl::StatusOr<std::shared_ptr<const StateMachine>> model = ParseStateMachine(*parsed);
  if (!model.ok()) {
    result.model_status = model.status();
    return result;
  }
  result.model = *std::move(model);
  return result;
}

absl::StatusOr<std::shared_ptr<const StateMachine>> CompileStored(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse_options parse_options;
  parse_options.max_depth = kMaxDefinitionJsonDepth;
  std::optional<boost::json::value> parsed = common::ParsePreciseJson(text, ec, parse_options);
  if (!parsed) {
    return absl::DataLossError(absl::StrCat("not JSON: ", ec.message()));  // it was stored valid
  }
  return ParseStateMachine(*parsed);
}

}  // namespace stepflow::sm
