#pragma once
// Timestamps as AWS Step Functions reads them (Choice Timestamp* comparators, IsTimestamp, Wait Timestamp
// and TimestampPath): ISO-8601 extended offset date-times in the form of Java's ISO_OFFSET_DATE_TIME,
// YYYY-MM-DDTHH:MM[:SS[.fraction of up to 9 digits]] followed by Z or +-HH:MM[:SS]; 'T' and 'Z' in either
// case; calendar ranges checked (no month 13, no Feb 30, no hour 24). One parser for every user.

#include <compare>
#include <optional>
#include <string_view>

namespace stepflow::sm {

struct Timestamp {
  long long epoch_seconds = 0;  // seconds since 1970-01-01T00:00:00Z (UTC), floor
  int nanos = 0;                // [0, 999'999'999]
  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;

  long long EpochMillis() const { return epoch_seconds * 1000 + nanos / 1'000'000; }
};

// std::nullopt when `text` is not such a timestamp.
std::optional<Timestamp> ParseTimestamp(std::string_view text);

}  // namespace stepflow::sm
