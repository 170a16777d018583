#pragma once
// JSON text as AWS Step Functions writes it (Java/Jackson): compact, no whitespace, integers without a
// fraction and doubles as Java's Double.toString prints them ("1.5", "1.0E20", "1.0E-4"). Used for
// history event payloads, error causes that quote JSON, States.JsonToString and CLI output. Boost.JSON's
// own serializer would print 1.5 as "1.5E0".

#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace stepflow::sm {

// Java's Double.toString: plain notation for 1e-3 <= |d| < 1e7, "d.dddE[-]n" otherwise, always with at
// least one fractional digit, shortest digits that round-trip.
std::string JavaDoubleText(double d);

// Appends `s` as a quoted JSON string with the escapes Jackson uses. Bytes that are not UTF-8 become
// U+FFFD, so the result is always valid JSON text.
void AppendJsonString(std::string& out, std::string_view s);

// Appends / returns `v` as compact JSON text in AWS's form. Always valid JSON: a non-finite double (which
// ParseJson refuses and producers must turn into a States.Runtime failure) is written as `null`.
void AppendAwsJson(std::string& out, const boost::json::value& v);
void AppendAwsJson(std::string& out, const boost::json::object& o);
std::string ToAwsJson(const boost::json::value& v);

}  // namespace stepflow::sm
