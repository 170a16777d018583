// External JSON text (execution input, task output): ParseJson either refuses it or returns a value that
// ToAwsJson writes as valid JSON parsing back to an equal value (no `Infinity`, no `i.nfE0`).

#include <cstddef>
#include <cmath>
#include <cstdint>
#include <limits>

#include "statemachine/json_value.h"
#include "statemachine/json_parse.h"
#include "statemachine/json_text.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

// JSON equality in which doubles may differ by a few ulps.
bool NearlyEqual(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() || b.is_double()) {
    if (!a.is_number() || !b.is_number()) {
      return false;
    }
    const double x = a.to_number<double>();
    const double y = b.to_number<double>();
    return x == y || std::fabs(x - y) <= 4 * std::numeric_limits<double>::epsilon() * std::fabs(x);
  }
  if (a.is_array() && b.is_array()) {
    const boost::json::array& x = a.get_array();
    const boost::json::array& y = b.get_array();
    if (x.size() != y.size()) {
      return false;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!NearlyEqual(x[i], y[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_object() && b.is_object()) {
    if (a.get_object().size() != b.get_object().size()) {
      return false;
    }
    for (const auto& kv : a.get_object()) {
      const boost::json::value* other = b.get_object().if_contains(kv.key());
      if (other == nullptr || !NearlyEqual(kv.value(), *other)) {
        return false;
      }
    }
    return true;
  }
  return stepflow::sm::JsonEquals(a, b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepflow;
  const std::string_view text = fuzz::AsText(data, size);
  sm::JsonParseOptions options;
  options.refuse_duplicate_keys = size % 2 == 0;  // both modes, deterministically per input
  absl::StatusOr<boost::json::value> v = sm::ParseJson(text, "input", options);
  if (!v.ok()) {
    return 0;
  }
  if (!sm::AllNumbersFinite(*v)) {
    fuzz::Violated("ParseJson returned a non-finite number");
  }
  const std::string written = sm::ToAwsJson(*v);
  absl::StatusOr<boost::json::value> back = sm::ParseJson(written, "written");
  if (!back.ok()) {
    fuzz::Violated("ToAwsJson wrote text that does not parse");
  }
  // Boost.JSON 1.81 parses doubles to within an ulp, so a written double may come back one ulp away;
  // the written text itself is exact (json_parse_test LargeIntegerAsDoubleIsWrittenExactly).
  if (!NearlyEqual(*v, *back)) {
    fuzz::Violated("ToAwsJson does not round-trip");
  }
  return 0;
}
