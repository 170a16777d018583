#pragma once
// JSONata 2.0.6's date/time functions $fromMillis and $toMillis as pure functions, matching jsonata-js
// (XPath F&O fn:format-dateTime picture strings, with jsonata-js's extensions [X] and [x] and its
// quirks). No clock, locale or I/O: the current time, which $toMillis uses for components a picture
// leaves out, is an argument. Thread-safe.
//
// Failures are InvalidArgument whose message starts with JSONata's error code and ": " (D3110, D3130 to
// D3136, ...). A picture, width modifier or timestamp that would take more than 1 Mi characters or
// unbounded work fails with "U1001: ...". Callers handle JSONata's `undefined` arguments before calling.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace stepflow::sm::jsonata {

// $fromMillis(millis, picture, timezone). No picture: "2017-11-07T15:07:54.972Z" (jsonata-js's ISO 8601
// picture "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]"). `timezone` is "±HHMM" (read with
// JavaScript's parseInt, as jsonata-js reads it); T0410 when it has no digits. D1001 when the instant is
// outside JavaScript's Date range (±8.64e15 ms).
absl::StatusOr<std::string> FormatDateTime(double millis, std::optional<std::string_view> picture,
                                           std::optional<std::string_view> timezone);

// $toMillis(timestamp, picture) with `now_millis` (JSONata's $now() of this evaluation) filling the
// components left of the most significant one the picture gives. No picture: an ISO 8601 timestamp of
// the forms jsonata-js accepts (YYYY[-MM[-DD]][THH:mm:ss[.fff]][Z|±HH[:]mm]; without an offset it is
// read as UTC), else D3110. With a picture: nullopt (JSONata's undefined) when the timestamp does not
// match the picture or the picture has no components, or the date is not a number; D3132/D3133 for bad
// components, D3136 when the picture's components leave a gap.
absl::StatusOr<std::optional<double>> ParseDateTime(std::string_view timestamp,
                                                    std::optional<std::string_view> picture, double now_millis);

// As above with the current time taken as the Unix epoch (1970-01-01T00:00:00Z): for callers without a
// clock, or pictures that give the year. The evaluator passes $now() to the overload above.
absl::StatusOr<std::optional<double>> ParseDateTime(std::string_view timestamp,
                                                    std::optional<std::string_view> picture);

}  // namespace stepflow::sm::jsonata
