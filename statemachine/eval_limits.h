#pragma once
// Bounds on the work and memory of one expression evaluation (a JSONPath, an intrinsic function call),
// so that a hostile path or call over a small document fails the state instead of exhausting the server:
// `$..*..*..*..*..*..*..*..*..*..*` over a 200-byte, 30-level document would otherwise copy gigabytes.
//
// Breaking a bound is an ASL failure, not an error:
// - too many nodes visited -> States.Runtime ("... visited more than N JSON nodes");
// - results too large      -> States.DataLimitExceeded ("... produced more than N bytes").
//
// The defaults are part of the interpreter's semantics (a replay must break the same bound at the same
// place), so they change only with a new semantics version.

#include <cstddef>
#include <string>

#include <boost/json.hpp>

#include "statemachine/failure.h"

namespace stepflow::sm {

// Nodes one JSONPath evaluation may visit, counting every node a segment is applied to (deep scans,
// wildcards, slices, filters and the paths inside filters). A `$..x` over a 256 KiB document visits at
// most ~100,000 nodes; this leaves room for ten such scans in one path.
inline constexpr std::size_t kDefaultMaxPathVisits = 1'000'000;
// Bytes (measured as compact JSON text, approximately) one JSONPath evaluation or one intrinsic call may
// produce, counting every intermediate result. 64 times AWS's 256 KiB payload limit: anything larger
// cannot become a state's input or output anyway.
inline constexpr std::size_t kDefaultMaxResultBytes = 16 * 1024 * 1024;

struct EvaluationLimits {
  // Default: kDefaultMaxPathVisits.
  std::size_t max_path_visits = kDefaultMaxPathVisits;
  // Default: kDefaultMaxResultBytes.
  std::size_t max_result_bytes = kDefaultMaxResultBytes;
};

// The size of `v` as compact JSON text, approximately (numbers count 8 bytes), or a value > `cap` as soon
// as it passes `cap` (so measuring a huge value costs O(cap), not O(size)).
std::size_t ApproxJsonBytes(const boost::json::value& v, std::size_t cap);

// The failures for a broken bound; `what` names the expression, e.g. "The JSONPath '$..*'".
Failure TooManyVisits(const std::string& what, std::size_t limit);
Failure ResultTooLarge(const std::string& what, std::size_t limit);

}  // namespace stepflow::sm
