#pragma once
// The JSONata data flow of a state (QueryLanguage "JSONata"): evaluates compiled templates (Arguments,
// Output, Assign, Items, ItemSelector, Condition, numeric fields) against `$states` and the execution's
// variables, with AWS's extra functions ($partition, $range, $hash, $random, $uuid, $parse) and $eval
// refused. Failures are States.QueryEvaluationError with AWS's causes.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/clock.h"
#include "statemachine/compiled_template.h"
#include "statemachine/core/dataflow.h"
#include "statemachine/failure.h"
#include "statemachine/runtime_values.h"

namespace stepflow::sm {

// What `$states` and the variables hold for one evaluation. Pointers are borrowed; null members are
// absent from `$states` (e.g. `result` outside Output/Assign of a state that produced one).
struct JsonataStates {
  const boost::json::value* input = nullptr;         // $states.input
  const boost::json::value* result = nullptr;        // $states.result
  const boost::json::value* error_output = nullptr;  // $states.errorOutput (Catch)
  std::function<boost::json::value()> context;       // $states.context, built when the state evaluates
  const boost::json::object* variables = nullptr;    // the variables in scope
  // The time `$now()` and `$millis()` report: when the state's step ran (deterministic on replay).
  common::EpochMillis now_millis = 0;
};

// Evaluates a template whose `{% %}` strings are JSONata (nested objects and arrays included): literal
// parts are copied, each expression's value replaces its string. An expression that returns nothing
// (undefined) fails with "... specified for the field '<field>/<key>' returned nothing (undefined).";
// one that returns a function with "... returned an unsupported result type."; one that throws with
// its JSONata error. `$random()` and `$uuid()` draw from `runtime` (recorded, so a replay repeats them).
// REQUIRES: tmpl.present().
Result<boost::json::value> EvaluateJsonata(const CompiledTemplate& tmpl, const JsonataStates& states,
                                           RuntimeValues& runtime, const StateRef& ref, std::string_view field);

// An Assign of a JSONata state: every value is evaluated first (all reading the variables from before the
// assignment), then written into `variables`. Absent: nothing changes.
Result<bool> AssignJsonata(const CompiledTemplate& assign, const JsonataStates& states, RuntimeValues& runtime,
                           const StateRef& ref, boost::json::object& variables);

// The text that names the template in causes: the root expression's text, trimmed (or the source as JSON).
std::string JsonataTemplateText(const CompiledTemplate& tmpl);

// A States.QueryEvaluationError for a value of the wrong type: "The JSONata expression '<expr>' specified
// for the field '<field>' returned an unexpected result type. Expected '<expected>', but was '<type>' for
// value: <value>".
Failure JsonataTypeFailure(const CompiledTemplate& tmpl, const StateRef& ref, std::string_view field,
                           std::string_view expected, const boost::json::value& value);

// A numeric field (TimeoutSeconds, HeartbeatSeconds, Wait Seconds, MaxConcurrency, ToleratedFailure*)
// given as JSONata: the value must be a number, an integer unless `allow_fraction`, within [min, max].
Result<double> JsonataNumber(const CompiledTemplate& tmpl, const JsonataStates& states, RuntimeValues& runtime,
                             const StateRef& ref, std::string_view field, double min, double max,
                             bool allow_fraction = false);

}  // namespace stepflow::sm
