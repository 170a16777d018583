#pragma once
// Validation of a state machine definition, as AWS does at CreateStateMachine / ValidateStateMachine-
// Definition time. Reports every problem found, not just the first.

#include <boost/json.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

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

// AWS's limit on a definition: 1,048,576 characters (the CreateStateMachine quota). We count bytes.
inline constexpr std::size_t kMaxDefinitionBytes = 1 << 20;
// JSON nesting allowed in a definition. Boost.JSON's default (32) is too shallow for real definitions
// with nested Parallel/Map states and payload templates; this still bounds the recursion of everything
// that walks the parsed value (the validator separately bounds templates, choice rules and nested
// machines to 200 levels).
inline constexpr std::size_t kMaxDefinitionJsonDepth = 400;

struct ValidateOptions {
  // STANDARD or EXPRESS: EXPRESS rejects `.sync` and `.waitForTaskToken` integrations.
  // Default: STANDARD.
  bool express = false;
  // Definition text larger than this is refused (ValidateDefinitionText, ParseDefinitionText).
  // Default: kMaxDefinitionBytes (AWS's 1 MiB).
  std::size_t max_definition_bytes = kMaxDefinitionBytes;
  // Deeper JSON nesting is refused. Default: kMaxDefinitionJsonDepth.
  std::size_t max_json_depth = kMaxDefinitionJsonDepth;
};

// Validates a parsed definition. An empty result means valid; otherwise every problem found is
// reported, in definition order. Both query languages are understood (JSONata states are validated for
// structure and field legality; their expressions are not parsed). Unreachable states are errors, as
// on AWS. A non-object `definition` gives one INVALID_JSON_DESCRIPTION diagnostic.
std::vector<Diagnostic> ValidateDefinition(const boost::json::value& definition,
                                           const ValidateOptions& options = {});

// Parses `text` as JSON and validates it. Text that is not JSON (or JSON that is not an object, nests
// deeper than options.max_json_depth, holds a number outside the double range or repeats a key in one
// object) gives a single diagnostic with code "INVALID_JSON_DESCRIPTION" naming the line/column/offset
// (and, for a repeated key, its JSON pointer as the location). Text longer than
// options.max_definition_bytes gives one SCHEMA_VALIDATION_FAILED diagnostic. Never throws.
std::vector<Diagnostic> ValidateDefinitionText(std::string_view text, const ValidateOptions& options = {});

// The parse ValidateDefinitionText uses, for every path that turns definition text into a value (Create,
// Update, stored definitions, the CLI), so that they all accept and refuse the same texts.
// InvalidArgument holding FormatDiagnostic of the problem.
absl::StatusOr<boost::json::value> ParseDefinitionText(std::string_view text, const ValidateOptions& options = {});

// One line "location: CODE: message" (location "/" for the root), for the CLI.
std::string FormatDiagnostic(const Diagnostic& d);

}  // namespace stepflow::sm
