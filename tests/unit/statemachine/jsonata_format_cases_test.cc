// Runs the jsonata-js 2.0.6 reference cases of the formatting functions ($formatNumber, $formatInteger,
// $parseInteger, $formatBase, $fromMillis, $toMillis and $string of a number) against the pure C++
// functions. testdata/jsonata_format_cases.jsonl is extracted from the shared JSONata case corpus by
// testdata/extract_jsonata_format_cases.py. Cases whose first argument is undefined, or whose argument is not
// a number where one is needed, belong to the evaluator (it returns undefined before calling these
// functions) and are counted as skipped here.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "statemachine/jsonata/datetime.h"
#include "statemachine/jsonata/js_number.h"
#include "statemachine/jsonata/number_format.h"

namespace stepflow::sm::jsonata {
namespace {

namespace json = boost::json;

// A call's outcome in JSONata terms.
struct Outcome {
  enum class Kind { kString, kNumber, kUndefined, kError, kSkipped } kind = Kind::kSkipped;
  std::string text;  // string result or error code
  double number = 0;
};

bool IsUndefined(const json::value& v) { return v.is_object() && v.as_object().contains("$undefined"); }

std::optional<std::string_view> OptionalString(const json::array& args, size_t i) {
  if (i >= args.size() || IsUndefined(args[i]) || !args[i].is_string()) {
    return std::nullopt;
  }
  return std::string_view(args[i].as_string());
}

Outcome FromStatus(const absl::Status& status) {
  std::string message(status.message());
  return Outcome{Outcome::Kind::kError, message.substr(0, message.find(':')), 0};
}

Outcome FromString(const absl::StatusOr<std::string>& result) {
  if (!result.ok()) {
    return FromStatus(result.status());
  }
  return Outcome{Outcome::Kind::kString, *result, 0};
}

Outcome FromNumber(const absl::StatusOr<std::optional<double>>& result) {
  if (!result.ok()) {
    return FromStatus(result.status());
  }
  if (!result->has_value()) {
    return Outcome{Outcome::Kind::kUndefined, "", 0};
  }
  return Outcome{Outcome::Kind::kNumber, "", **result};
}

Outcome Call(const std::string& fn, const json::array& args) {
  bool first_is_number = !args.empty() && args[0].is_double();
  bool first_is_string = !args.empty() && args[0].is_string();
  if (fn == "string" && args.size() == 1 && first_is_number) {
    return Outcome{Outcome::Kind::kString, JsonataNumberToString(args[0].as_double()), 0};
  }
  if (fn == "formatBase" && first_is_number) {
    double radix = args.size() > 1 && args[1].is_double() ? args[1].as_double() : 10;
    return FromString(FormatBase(args[0].as_double(), radix));
  }
  if (fn == "formatInteger" && first_is_number && args.size() == 2 && args[1].is_string()) {
    return FromString(FormatInteger(args[0].as_double(), args[1].as_string()));
  }
  if (fn == "parseInteger" && first_is_string && args.size() == 2 && args[1].is_string()) {
    return FromNumber(ParseInteger(args[0].as_string(), args[1].as_string()));
  }
  if (fn == "formatNumber" && first_is_number && args.size() >= 2 && args[1].is_string()) {
    DecimalFormat format;
    if (args.size() > 2 && args[2].is_object()) {
      absl::StatusOr<DecimalFormat> parsed = DecimalFormatFromOptions(args[2].as_object());
      if (!parsed.ok()) {
        return FromStatus(parsed.status());
      }
      format = *parsed;
    }
    return FromString(FormatNumber(args[0].as_double(), args[1].as_string(), format));
  }
  if (fn == "fromMillis" && first_is_number) {
    return FromString(FormatDateTime(args[0].as_double(), OptionalString(args, 1), OptionalString(args, 2)));
  }
  if (fn == "toMillis" && first_is_string) {
    return FromNumber(ParseDateTime(args[0].as_string(), OptionalString(args, 1)));
  }
  return Outcome{};
}

// Runs the calls of one case; the result of each feeds "$prev" arguments of the next.
Outcome RunCase(const json::array& calls) {
  Outcome last;
  for (const json::value& call : calls) {
    json::array args = call.at("args").as_array();
    for (json::value& arg : args) {
      if (arg.is_string() && arg.as_string() == "$prev") {
        if (last.kind == Outcome::Kind::kNumber) {
          arg = last.number;
        } else if (last.kind == Outcome::Kind::kString) {
          arg = json::string(last.text);
        } else {
          return last.kind == Outcome::Kind::kUndefined ? last : Outcome{};
        }
      }
    }
    last = Call(std::string(call.at("fn").as_string()), args);
    if (last.kind == Outcome::Kind::kError || last.kind == Outcome::Kind::kSkipped) {
      return last;
    }
  }
  return last;
}

std::string Describe(const Outcome& o) {
  switch (o.kind) {
    case Outcome::Kind::kString:
      return "\"" + o.text + "\"";
    case Outcome::Kind::kNumber:
      return JsNumberToString(o.number);
    case Outcome::Kind::kUndefined:
      return "undefined";
    case Outcome::Kind::kError:
      return "error " + o.text;
    case Outcome::Kind::kSkipped:
      break;
  }
  return "skipped";
}

bool Matches(const Outcome& actual, const json::object& expected) {
  if (expected.contains("error")) {
    return actual.kind == Outcome::Kind::kError && actual.text == expected.at("error").as_string();
  }
  if (expected.contains("undefined")) {
    return actual.kind == Outcome::Kind::kUndefined;
  }
  const json::value& result = expected.at("result");
  if (result.is_string()) {
    return actual.kind == Outcome::Kind::kString && actual.text == result.as_string();
  }
  if (result.is_number()) {
    return actual.kind == Outcome::Kind::kNumber && actual.number == result.to_number<double>();
  }
  return false;
}

void RunGroup(const std::string& group, int min_passed) {
  std::ifstream in(std::string(STEPFLOW_JSONATA_FORMAT_CASES));
  ASSERT_TRUE(in) << "cannot open " << STEPFLOW_JSONATA_FORMAT_CASES;
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  std::string line;
  while (std::getline(in, line)) {
    json::object c = json::parse(line).as_object();
    std::string id(c.at("id").as_string());
    if (id.rfind(group + "/", 0) != 0) {
      continue;
    }
    Outcome actual = RunCase(c.at("calls").as_array());
    if (actual.kind == Outcome::Kind::kSkipped) {
      ++skipped;
      continue;
    }
    if (Matches(actual, c.at("expected").as_object())) {
      ++passed;
    } else {
      ++failed;
      ADD_FAILURE() << id << ": got " << Describe(actual) << ", want " << json::serialize(c.at("expected"));
    }
  }
  std::cout << group << ": " << passed << " passed, " << failed << " failed, " << skipped
            << " skipped (evaluator-level)\n";
  EXPECT_GE(passed, min_passed);
}

TEST(JsonataFormatCases, String) { RunGroup("function-string", 8); }
TEST(JsonataFormatCases, FormatBase) { RunGroup("function-formatBase", 7); }
TEST(JsonataFormatCases, FormatInteger) { RunGroup("function-formatInteger", 64); }
TEST(JsonataFormatCases, ParseInteger) { RunGroup("function-parseInteger", 60); }
TEST(JsonataFormatCases, FormatNumber) { RunGroup("function-formatNumber", 36); }
TEST(JsonataFormatCases, FromMillis) { RunGroup("function-fromMillis", 90); }
TEST(JsonataFormatCases, ToMillis) { RunGroup("function-tomillis", 54); }

}  // namespace
}  // namespace stepflow::sm::jsonata
