#pragma once
// Internal: matching a timestamp against the parts of a date/time picture the way jsonata-js's
// generated regular expression does (case-insensitive, greedy, backtracking), without a regex engine:
// each part lists its candidate ends in the regex's order of preference, and a memoised search finds
// the first overall match. Work is bounded (U1001 beyond kMaxMatchSteps).

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stepflow::sm::jsonata::internal {

inline constexpr long long kMaxMatchSteps = 2'000'000;
// Pictures with more parts than this are refused for parsing (the search recurses once per part).
inline constexpr size_t kMaxMatchParts = 1000;

struct MatchPart {
  enum class Kind { kLiteral, kDigits, kLetters, kRoman, kWords, kName, kTimezone } kind = Kind::kLiteral;
  std::u32string literal;     // kLiteral
  int min_digits = 1;         // kDigits: [0-9]{min,max}; max < 0 means unbounded (+)
  int max_digits = -1;
  bool ordinal = false;       // kDigits: followed by th|st|nd|rd
  bool gmt = false;           // kTimezone: "GMT" first
  std::optional<char32_t> separator;  // kTimezone: hours, separator, minutes
};

// The captured text of every part, or nullopt when `text` does not match.
absl::StatusOr<std::optional<std::vector<std::u32string>>> MatchParts(const std::u32string& text,
                                                                      const std::vector<MatchPart>& parts);

}  // namespace stepflow::sm::jsonata::internal
