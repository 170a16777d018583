// "<intrinsic call>\n<JSON document>": parse the call, evaluate it with path arguments resolved against
// the document under small bounds. No crash, no unbounded work or memory.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "statemachine/intrinsics.h"
#include "statemachine/json_parse.h"
#include "statemachine/json_path.h"
#include "statemachine/json_text.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

class FixedRuntime : public stepflow::sm::RuntimeValues {
 public:
  std::string NewUuid() override { return "123e4567-e89b-42d3-a456-426614174000"; }
  double NextRandomUnit() override { return 0.25; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepflow;
  const auto [call_text, doc_text] = fuzz::SplitFirstLine(fuzz::AsText(data, size));
  absl::StatusOr<sm::IntrinsicCall> call = sm::IntrinsicCall::Parse(call_text);
  if (!call.ok()) {
    return 0;
  }
  absl::StatusOr<boost::json::value> doc = sm::ParseJson(doc_text, "");
  if (!doc.ok()) {
    doc = boost::json::value(boost::json::object{{"s", "a,b"}, {"n", 3}, {"a", boost::json::array{1, 2, 2}}});
  }
  sm::EvaluationLimits limits;
  limits.max_path_visits = 20000;
  limits.max_result_bytes = 1 << 20;
  auto resolve = [&doc, &limits](const sm::JsonPath& path) -> sm::PathValue {  // compiled with the call
    sm::PathScope scope;
    scope.input = &*doc;
    scope.context = &*doc;
    return path.EvaluateBounded(scope, limits);
  };
  FixedRuntime runtime;
  sm::Result<boost::json::value> r = call->Evaluate(resolve, runtime, limits);
  if (r.ok() && !sm::ParseJson(sm::ToAwsJson(r.value()), "", {.max_depth = 10000}).ok()) {
    fuzz::Violated("an intrinsic result serialized to text that does not parse");
  }
  return 0;
}
