#pragma once
// RFC 3339 / ISO-8601 extended offset date-times, as Wait states accept them: "2016-03-14T01:59:00Z",
// fractional seconds and numeric offsets ("+01:00") allowed; no space separator, no missing offset.

#include <optional>
#include <string_view>

#include "common/clock.h"

namespace stepflow::sm {

// Milliseconds since the epoch, or std::nullopt when `text` is not a valid date-time (including
// out-of-range fields such as month 13 or hour 25).
std::optional<common::EpochMillis> ParseRfc3339(std::string_view text);

}  // namespace stepflow::sm
