#pragma once
// The one step that turns a state machine definition into what executions run: Compile validates the
// text (validator.h, AWS's checks with their diagnostics) and builds the typed model (core/model.h) in
// which every expression is compiled once: JSONPath `.$` keys and `...Path` fields, InputPath /
// OutputPath / ResultPath / ItemsPath, Choice variables and operands, intrinsic function calls, and
// JSONata `{% ... %}` templates (compiled_template.h). The engine compiles a definition when it is
// created (and when a stored version is first loaded), `stepflow run` when it starts; executions only
// evaluate the compiled objects against their scope, and parse no expression text.
//
// Thread-safety: stateless functions; the model they return is immutable and may be shared by any number
// of executions on any threads.

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "statemachine/core/model.h"
#include "statemachine/validator.h"

namespace stepflow::sm {

struct CompileResult {
  // Every problem the validator found, in definition order; empty when the definition is valid.
  std::vector<Diagnostic> diagnostics;
  // The compiled model, shared by every execution of the definition. Null when `diagnostics` is not
  // empty, or when the definition is valid but this version cannot run it (model_status says why).
  std::shared_ptr<const StateMachine> model;
  // OK when `model` is set. Otherwise: FailedPrecondition when `diagnostics` is not empty; InvalidArgument (naming the JSON pointer) for a definition the validator
  // accepted but the model cannot represent (a bug: the two should agree).
  absl::Status model_status;

  bool ok() const { return model != nullptr; }
};

// Validates and compiles definition `text` under `options` (its size and depth limits, STANDARD or
// EXPRESS). Never throws.
CompileResult Compile(std::string_view text, const ValidateOptions& options = {});

// Compiles a stored definition, which passed validation when it was created: parses it as deep as the
// validator allows, without the checks added since, so that old versions keep loading. DataLoss when it
// is not JSON (it was stored valid); otherwise the model build's status (as CompileResult::model_status).
absl::StatusOr<std::shared_ptr<const StateMachine>> CompileStored(std::string_view text);

}  // namespace stepflow::sm
