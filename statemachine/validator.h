#pragma once
// Validation of a state machine definition, as AWS does at CreateStateMachine / ValidateStateMachine-
// Definition time. Reports every problem found, not just the first.

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace stepflow::sm {

struct Diagnostic {
  // JSON pointer of the offending node in the definition, e.g. "/States/A/Next" ("" for the root).
  std::string location;
  // AWS-style code: "SCHEMA_VALIDATION_FAILED", "MISSING_TRANSITION_TARGET", "UNREACHABLE_STATE",
  // "INVALID_JSON_DESCRIPTION", ...
  std::string code;
  // What is wrong, naming the field/state/value, e.g. "Missing 'Next' target: Foo".
  std::string message;
};

struct ValidateOptions {
  // STANDARD or EXPRESS: EXPRESS rejects `.sync` and `.waitForTaskToken` integrations.
  // Default: STANDARD.
  bool express = false;
};

// Validates a parsed definition. An empty result means valid; otherwise every problem found is
// reported, in definition order. Both query languages are understood (JSONata states are validated for
// structure and field legality; their expressions are not parsed). Unreachable states are errors, as
// on AWS. A non-object `definition` gives one INVALID_JSON_DESCRIPTION diagnostic.
std::vector<Diagnostic> ValidateDefinition(const boost::json::value& definition,
                                           const ValidateOptions& options = {});

// Parses `text` as JSON and validates it. Text that is not JSON (or JSON that is not an object, or nests
// deeper than 400 levels) gives a single diagnostic with code "INVALID_JSON_DESCRIPTION" naming the
// line/column/offset and the parse error. Never throws, whatever the input.
std::vector<Diagnostic> ValidateDefinitionText(std::string_view text, const ValidateOptions& options = {});

// One line "location: CODE: message" (location "/" for the root), for the CLI.
std::string FormatDiagnostic(const Diagnostic& d);

}  // namespace stepflow::sm
