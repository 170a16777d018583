#pragma once
// Values as text, as jsonata-js prints them (internal): $string, `&`, object keys.

#include <string>
#include <string_view>

#include "statemachine/jsonata/value.h"

namespace stepflow::sm::jsonata {

class Evaluator;

// A number as $string prints it: Number(d.toPrecision(15)) in JavaScript's Number#toString form.
// REQUIRES: finite.
std::string NumberText(double d);
// $string(v, prettify): strings as they are, functions "", everything else JSON.stringify with numbers
// rounded to 15 significant digits. D3001 for a non-finite number. `ev` (may be null) bounds the work.
std::string Stringify(const Value& v, bool prettify, Evaluator* ev);
// JSON string literal of `s` as JSON.stringify writes it.
void AppendJsonString(std::string& out, std::string_view s);
// JavaScript's string order (UTF-16 code units).
int CompareStrings(std::string_view a, std::string_view b);

}  // namespace stepflow::sm::jsonata
