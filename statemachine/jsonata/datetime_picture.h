#pragma once
// Internal: F&O date/time picture strings as jsonata-js 2.0.6 analyses them (literals and variable
// markers [component presentation1 presentation2 , width]).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "statemachine/jsonata/integer_picture.h"

namespace stepflow::sm::jsonata::internal {

struct DateTimeMarker {
  char32_t component = 0;
  std::string presentation1;
  char presentation2 = 0;  // 'a', 't', 'c', 'o' or 0
  std::optional<long long> width_min, width_max;
  bool has_width = false;
  std::optional<LetterCase> names;              // N, n, Nn presentations
  std::optional<IntegerPicture> integer_format;  // integer presentations (and every Z / z)
  int n = -1;  // Y, M, D: the digits kept (year modulo 10^n) and read
};

struct DateTimePart {
  bool literal = true;
  std::string text;  // literal text (UTF-8)
  DateTimeMarker marker;
};

// D3135 for a marker without ']', D3132 for a marker without a known component or presentation, D3131
// from integer pictures, U1001 for a width beyond kMaxFormattedChars.
absl::StatusOr<std::vector<DateTimePart>> AnalyseDateTimePicture(std::string_view picture);

}  // namespace stepflow::sm::jsonata::internal
