#pragma once
// Values that AWS makes up at run time. The statemachine module is pure, so the engine supplies them
// (and records them in history) through this interface; replaying a history replays the same values.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "statemachine/failure.h"

namespace stepflow::sm {

class RuntimeValues {
 public:
  virtual ~RuntimeValues() = default;
  // A random (version 4) UUID in canonical lower-case 8-4-4-4-12 form.
  virtual std::string NewUuid() = 0;
  // A uniformly distributed number in [0, 1).
  virtual double NextRandomUnit() = 0;
};

// What evaluating a path gives: the selected value, std::nullopt when the path selects nothing, or an ASL
// failure when the evaluation broke a bound (eval_limits.h).
using PathValue = Result<std::optional<boost::json::value>>;

// Resolves a path argument (`$...`, `$$...` or `$variable...`) against the current state's input,
// context object and variables. Returns std::nullopt when the path selects nothing. Paths that are
// not reference paths resolve to the JSON array of their matches. A failure (a broken evaluation bound)
// must fail the state.
using PathResolver = std::function<PathValue(std::string_view path)>;

}  // namespace stepflow::sm
