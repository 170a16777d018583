#pragma once
// The JSONata standard library (internal). Each builtin receives its arguments already checked against
// its signature (see functions_registry.cc) and returns a Value (undefined allowed) or throws
// JsonataException with JSONata's code.

#include <vector>

#include "statemachine/jsonata/evaluator.h"

namespace stepflow::sm::jsonata::fn {

using Args = std::vector<Value>;

// Strings (functions_string.cc)
Value String(Evaluator& ev, Args& a, const Value& input);
Value Substring(Evaluator& ev, Args& a, const Value& input);
Value SubstringBefore(Evaluator& ev, Args& a, const Value& input);
Value SubstringAfter(Evaluator& ev, Args& a, const Value& input);
Value Lowercase(Evaluator& ev, Args& a, const Value& input);
Value Uppercase(Evaluator& ev, Args& a, const Value& input);
Value Length(Evaluator& ev, Args& a, const Value& input);
Value Trim(Evaluator& ev, Args& a, const Value& input);
Value Pad(Evaluator& ev, Args& a, const Value& input);
Value Join(Evaluator& ev, Args& a, const Value& input);
Value Base64Encode(Evaluator& ev, Args& a, const Value& input);
Value Base64Decode(Evaluator& ev, Args& a, const Value& input);
Value EncodeUrlComponent(Evaluator& ev, Args& a, const Value& input);
Value EncodeUrl(Evaluator& ev, Args& a, const Value& input);
Value DecodeUrlComponent(Evaluator& ev, Args& a, const Value& input);
Value DecodeUrl(Evaluator& ev, Args& a, const Value& input);

// Regular-expression functions (functions_regex.cc)
Value Match(Evaluator& ev, Args& a, const Value& input);
Value Contains(Evaluator& ev, Args& a, const Value& input);
Value Replace(Evaluator& ev, Args& a, const Value& input);
Value Split(Evaluator& ev, Args& a, const Value& input);

// Numbers and aggregation (functions_numeric.cc)
Value Number(Evaluator& ev, Args& a, const Value& input);
Value Abs(Evaluator& ev, Args& a, const Value& input);
Value Floor(Evaluator& ev, Args& a, const Value& input);
Value Ceil(Evaluator& ev, Args& a, const Value& input);
Value Round(Evaluator& ev, Args& a, const Value& input);
Value Sqrt(Evaluator& ev, Args& a, const Value& input);
Value Power(Evaluator& ev, Args& a, const Value& input);
Value Random(Evaluator& ev, Args& a, const Value& input);
Value Sum(Evaluator& ev, Args& a, const Value& input);
Value Max(Evaluator& ev, Args& a, const Value& input);
Value Min(Evaluator& ev, Args& a, const Value& input);
Value Average(Evaluator& ev, Args& a, const Value& input);
Value Count(Evaluator& ev, Args& a, const Value& input);
Value FormatNumber(Evaluator& ev, Args& a, const Value& input);
Value FormatBase(Evaluator& ev, Args& a, const Value& input);
Value FormatInteger(Evaluator& ev, Args& a, const Value& input);
Value ParseInteger(Evaluator& ev, Args& a, const Value& input);
Value Now(Evaluator& ev, Args& a, const Value& input);
Value Millis(Evaluator& ev, Args& a, const Value& input);
Value FromMillis(Evaluator& ev, Args& a, const Value& input);
Value ToMillis(Evaluator& ev, Args& a, const Value& input);

// Arrays and objects (functions_array.cc)
Value Append(Evaluator& ev, Args& a, const Value& input);
Value Reverse(Evaluator& ev, Args& a, const Value& input);
Value Sort(Evaluator& ev, Args& a, const Value& input);
Value Shuffle(Evaluator& ev, Args& a, const Value& input);
Value Distinct(Evaluator& ev, Args& a, const Value& input);
Value Zip(Evaluator& ev, Args& a, const Value& input);
Value Keys(Evaluator& ev, Args& a, const Value& input);
Value Lookup(Evaluator& ev, Args& a, const Value& input);
Value Spread(Evaluator& ev, Args& a, const Value& input);
Value Merge(Evaluator& ev, Args& a, const Value& input);
Value Clone(Evaluator& ev, Args& a, const Value& input);

// Higher-order and others (functions_hof.cc)
Value Map(Evaluator& ev, Args& a, const Value& input);
Value Filter(Evaluator& ev, Args& a, const Value& input);
Value Single(Evaluator& ev, Args& a, const Value& input);
Value Reduce(Evaluator& ev, Args& a, const Value& input);
Value Sift(Evaluator& ev, Args& a, const Value& input);
Value Each(Evaluator& ev, Args& a, const Value& input);
Value Boolean(Evaluator& ev, Args& a, const Value& input);
Value Not(Evaluator& ev, Args& a, const Value& input);
Value Exists(Evaluator& ev, Args& a, const Value& input);
Value Type(Evaluator& ev, Args& a, const Value& input);
Value Error(Evaluator& ev, Args& a, const Value& input);
Value Assert(Evaluator& ev, Args& a, const Value& input);
Value Eval(Evaluator& ev, Args& a, const Value& input);

// $boolean's rules (undefined for undefined).
Value ToBoolean(const Value& v);

}  // namespace stepflow::sm::jsonata::fn
