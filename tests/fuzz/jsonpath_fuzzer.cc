// "<JSONPath>\n<JSON document>": parse the path, parse the document as external JSON, evaluate under
// small bounds, and Assign for reference paths. No crash, no unbounded work, and every result is JSON
// that serializes to text that parses back.

#include <cstddef>
#include <cstdint>

#include "statemachine/json_parse.h"
#include "statemachine/json_path.h"
#include "statemachine/json_text.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepflow;
  const auto [path_text, doc_text] = fuzz::SplitFirstLine(fuzz::AsText(data, size));
  absl::StatusOr<sm::JsonPath> path = sm::JsonPath::Parse(path_text);
  if (!path.ok()) {
    return 0;
  }
  (void)sm::NormalizedPathText(*path);
  absl::StatusOr<boost::json::value> doc = sm::ParseJson(doc_text, "");
  if (!doc.ok()) {
    doc = boost::json::value(boost::json::object{{"a", boost::json::array{1, "x", nullptr}}});
  }
  boost::json::object variables{{"v", *doc}};
  sm::PathScope scope;
  scope.input = &*doc;
  scope.context = &*doc;
  scope.variables = &variables;
  sm::EvaluationLimits limits;
  limits.max_path_visits = 20000;
  limits.max_result_bytes = 1 << 20;
  sm::PathValue v = path->EvaluateBounded(scope, limits);
  if (v.ok() && v.value().has_value()) {
    if (!sm::ParseJson(sm::ToAwsJson(*v.value()), "").ok()) {
      fuzz::Violated("a JSONPath result serialized to text that does not parse");
    }
  }
  boost::json::value target = *doc;
  path->Assign(target, boost::json::value("assigned"));
  return 0;
}
