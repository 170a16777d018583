// "<JSONata expression>\n<JSON document>": compile the expression, parse the document as external JSON
// (undefined input when it does not parse), evaluate under small bounds. No crash, no unbounded work; a
// result serializes to JSON text that parses back; errors carry a code.

#include <cstddef>
#include <cstdint>

#include "statemachine/json_parse.h"
#include "statemachine/json_text.h"
#include "statemachine/jsonata/jsonata.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepflow;
  const auto [expression_text, doc_text] = fuzz::SplitFirstLine(fuzz::AsText(data, size));
  sm::jsonata::CompileResult compiled = sm::jsonata::Compile(expression_text);
  if (compiled.error) {
    if (compiled.error->code.empty()) {
      fuzz::Violated("a JSONata compile error without a code");
    }
    return 0;
  }
  absl::StatusOr<boost::json::value> doc = sm::ParseJson(doc_text, "");
  sm::jsonata::EvaluationEnvironment environment;
  environment.now_millis = 1510067274972;
  environment.random = [] { return 0.5; };
  sm::jsonata::EvaluationLimits limits;
  limits.max_steps = 200000;
  limits.max_sequence_size = 100000;
  limits.max_string_bytes = 1 << 20;
  sm::jsonata::EvaluationResult result = sm::jsonata::Evaluate(
      *compiled.expression, doc.ok() ? &*doc : nullptr, {{"v", boost::json::value(1)}}, environment, limits);
  if (result.error && result.error->code.empty()) {
    fuzz::Violated("a JSONata evaluation error without a code");
  }
  // A JSONata string may hold a lone UTF-16 surrogate (as JavaScript's do), which ToJsonText writes as a
  // \udXXX escape the way JSON.stringify does, and which a strict JSON parser (ours) refuses. The invariant is
  // therefore checked on the form the engine stores and shows, ToAwsJson, which must always parse.
  if (result.value && !sm::ParseJson(sm::ToAwsJson(*result.value), "").ok()) {
    fuzz::Violated("a JSONata result serialized to text that does not parse");
  }
  return 0;
}
