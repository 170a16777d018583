#pragma once
// The JSONPath data-flow pipeline of a state: InputPath -> Parameters -> (work) -> ResultSelector ->
// ResultPath -> OutputPath, payload templates (`.$` keys) and Assign. Every function is pure: paths read
// only what the resolver exposes, and failures are ASL `Failure`s with AWS's error names and causes.

#include <string>

#include <boost/json.hpp>

#include "statemachine/core/model.h"
#include "statemachine/failure.h"
#include "statemachine/runtime_values.h"

namespace stepflow::sm {

// Identifies the state in error causes: "An error occurred while executing the state 'S' (entered at
// the event id #N). ".
struct StateRef {
  const std::string& name;
  std::int64_t entered_event_id;
};
std::string RuntimeCausePrefix(const StateRef& ref);

// Serializes compactly, as AWS prints JSON inside causes and history ("{\"a\":1}").
std::string ToCompactJson(const boost::json::value& v);

// InputPath / OutputPath: default `$` keeps `value`, null gives {}, a path selects; a path that selects
// nothing is States.Runtime ("Invalid path '<p>' : No results for path: <normalized>").
Result<boost::json::value> ApplySelectPath(const OptionalPath& p, const boost::json::value& value,
                                           const PathResolver& resolve, const StateRef& ref);

// Resolves `path`; one that selects nothing is States.Runtime ("Invalid path '<p>' : No results for
// path: <normalized>"), as AWS reports for InputPath, OutputPath, ItemsPath and SecondsPath.
Result<boost::json::value> SelectPath(const JsonPath& path, const PathResolver& resolve, const StateRef& ref);

// Evaluates a payload template (Parameters, ItemSelector, ResultSelector, Assign): keys ending in `.$`
// take the value of their path or intrinsic call (the key loses its `.$`), others are copied, nested
// objects and arrays are evaluated recursively. `field` names the template in causes ("Parameters").
// REQUIRES: tmpl.present().
Result<boost::json::value> ApplyTemplate(const CompiledTemplate& tmpl, const PathResolver& resolve,
                                         RuntimeValues& runtime, const StateRef& ref);

// ResultPath: default `$` returns `result`, null returns `input`, a path writes `result` into a copy of
// `input`; States.ResultPathMatchFailure when it cannot be written.
Result<boost::json::value> ApplyResultPath(const OptionalPath& p, const boost::json::value& input,
                                           boost::json::value result, const StateRef& ref);

// Evaluates an Assign template (nothing when absent) and writes the variables into `variables`. All expressions read the
// values from before this assignment (they are evaluated first, then written).
Result<bool> ApplyAssign(const CompiledTemplate& assign, const PathResolver& resolve, RuntimeValues& runtime,
                         const StateRef& ref, boost::json::object& variables);

// Evaluates a compiled `.$` value or a Fail ErrorPath/CausePath (path or intrinsic call); `field` names
// it in causes.
Result<boost::json::value> ResolvePathOrIntrinsic(const CompiledExpression& expression, const PathResolver& resolve,
                                                  RuntimeValues& runtime, const StateRef& ref,
                                                  const std::string& field);

}  // namespace stepflow::sm
