// Definition text -> validator -> model: whatever the bytes, no crash, no leak, no undefined behaviour,
// and the validator and the parser that Create uses agree on what they accept.

#include <cstddef>
#include <cstdint>

#include "statemachine/core/model.h"
#include "statemachine/validator.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepflow;
  const std::string_view text = fuzz::AsText(data, size);
  const std::vector<sm::Diagnostic> problems = sm::ValidateDefinitionText(text);
  absl::StatusOr<boost::json::value> parsed = sm::ParseDefinitionText(text);
  if (problems.empty()) {
    if (!parsed.ok()) {
      fuzz::Violated("ValidateDefinitionText accepted what ParseDefinitionText refused");
    }
    // May refuse features this release cannot run, but must not crash.
    sm::ParseStateMachine(*parsed).IgnoreError();
  }
  for (const sm::Diagnostic& d : problems) {
    (void)sm::FormatDiagnostic(d);
  }
  return 0;
}
