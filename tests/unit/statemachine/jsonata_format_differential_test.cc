// Random calls of the formatting functions with the answers jsonata-js 2.0.6 gave
// (testdata/jsonata_format_differential.jsonl; testdata/differential/ says how it was made). Answers that
// are NaN in JavaScript are JSONata's undefined here (nullopt), except for $toMillis without a picture,
// which reports D3110 for a timestamp Date.parse cannot read.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <string>

#include "statemachine/jsonata/datetime.h"
#include "statemachine/jsonata/js_number.h"
#include "statemachine/jsonata/number_format.h"

namespace stepflow::sm::jsonata {
namespace {

namespace json = boost::json;

json::object FromText(const absl::StatusOr<std::string>& r) {
  if (!r.ok()) {
    std::string message(r.status().message());
    return {{"error", message.substr(0, message.find(':'))}};
  }
  return {{"result", *r}};
}

json::object FromNumber(const absl::StatusOr<std::optional<double>>& r) {
  if (!r.ok()) {
    std::string message(r.status().message());
    return {{"error", message.substr(0, message.find(':'))}};
  }
  if (!r->has_value()) {
    return {{"undefined", true}};
  }
  return {{"result", **r}};
}

json::object RunCall(const json::object& c) {
  std::string fn(c.at("fn").as_string());
  const json::array& a = c.at("args").as_array();
  auto number = [&](size_t i) { return a[i].to_number<double>(); };
  auto text = [&](size_t i) { return std::string(a[i].as_string()); };
  double now = c.contains("now") ? c.at("now").to_number<double>() : 0;
  if (fn == "formatNumber") {
    return FromText(FormatNumber(number(0), text(1), DecimalFormat{}));
  }
  if (fn == "formatInteger") {
    return FromText(FormatInteger(number(0), text(1)));
  }
  if (fn == "parseInteger") {
    return FromNumber(ParseInteger(text(0), text(1)));
  }
  if (fn == "formatBase") {
    return FromText(FormatBase(number(0), number(1)));
  }
  if (fn == "string") {
    return FromText(JsonataNumberToString(number(0)));
  }
  if (fn == "fromMillis") {
    std::optional<std::string> zone;
    if (a.size() > 2) {
      zone = text(2);
    }
    return FromText(FormatDateTime(number(0), text(1), zone ? std::optional<std::string_view>(*zone) : std::nullopt));
  }
  if (fn == "toMillis") {
    return FromNumber(ParseDateTime(text(0), std::nullopt, now));
  }
  if (fn == "formatNumberOpt") {
    absl::StatusOr<DecimalFormat> format = DecimalFormatFromOptions(a[2].as_object());
    return format.ok() ? FromText(FormatNumber(number(0), text(1), *format)) : FromText(format.status());
  }
  if (fn == "toMillisPic") {
    return FromNumber(ParseDateTime(text(0), text(1), now));
  }
  absl::StatusOr<std::string> formatted = FormatDateTime(number(0), text(1), std::nullopt);  // roundtrip
  if (!formatted.ok()) {
    return FromText(formatted);
  }
  return FromNumber(ParseDateTime(*formatted, text(1), now));
}

bool Same(const json::object& expected, const json::object& actual, const std::string& fn) {
  if (expected.contains("nan")) {
    return fn == "toMillis" ? actual.contains("error") && actual.at("error") == "D3110" : actual.contains("undefined");
  }
  if (expected.contains("result") && expected.at("result").is_number()) {
    return actual.contains("result") && actual.at("result").is_number() &&
           expected.at("result").to_number<double>() == actual.at("result").to_number<double>();
  }
  return expected == actual;
}

TEST(JsonataFormatDifferential, MatchesJsonataJs206) {
  std::ifstream in(std::string(STEPFLOW_JSONATA_FORMAT_DIFFERENTIAL));
  ASSERT_TRUE(in) << "cannot open " << STEPFLOW_JSONATA_FORMAT_DIFFERENTIAL;
  std::map<std::string, std::pair<int, int>> per_function;  // passed, failed
  std::string line;
  while (std::getline(in, line)) {
    json::object c = json::parse(line).as_object();
    std::string fn(c.at("fn").as_string());
    json::object actual = RunCall(c);
    if (Same(c.at("expected").as_object(), actual, fn)) {
      ++per_function[fn].first;
    } else {
      ++per_function[fn].second;
      ADD_FAILURE() << line << "\n  got " << json::serialize(actual);
    }
  }
  int total = 0;
  for (const auto& [fn, counts] : per_function) {
    std::cout << fn << ": " << counts.first << " passed, " << counts.second << " failed\n";
    total += counts.first + counts.second;
  }
  EXPECT_GT(total, 6000);
}

}  // namespace
}  // namespace stepflow::sm::jsonata
