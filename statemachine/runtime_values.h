#pragma once
// Values that AWS makes up at run time. The statemachine module is pure, so the engine supplies them
// (and records them in history) through this interface; replaying a history replays the same values.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "statemachine/failure.h"

namespace stepflow::sm {

class JsonPath;  // json_path.h

// Mints the task token of a task attempt (what a worker presents, and what $$.Task.Token shows). It must be
// deterministic: the same execution and task id always give the same token, so replay mints again and
// nothing is recorded. The engine signs tokens (engine/task_tokens.h). Thread-safe.
class TaskTokenMinter {
 public:
  virtual ~TaskTokenMinter() = default;
  virtual std::string Mint(std::string_view execution_arn, std::uint64_t task_id) const = 0;
};

// "<execution ARN>#<task id>": the unsigned token of the pure interpreter's own tests and tools.
inline std::string UnsignedTaskToken(std::string_view execution_arn, std::uint64_t task_id) {
  std::string token(execution_arn);
  token += '#';
  token += std::to_string(task_id);
  return token;
}

class RuntimeValues {
 public:
  virtual ~RuntimeValues() = default;
  // The token of task `task_id` of the execution. Default: "<execution ARN>#<task id>", unsigned, for the
  // pure interpreter's own tests and tools; the engine's values return signed tokens.
  virtual std::string TaskToken(std::string_view execution_arn, std::uint64_t task_id) {
    return UnsignedTaskToken(execution_arn, task_id);
  }
  // A random (version 4) UUID in canonical lower-case 8-4-4-4-12 form.
  virtual std::string NewUuid() = 0;
  // A uniformly distributed number in [0, 1).
  virtual double NextRandomUnit() = 0;
};

// What evaluating a path gives: the selected value, std::nullopt when the path selects nothing, or an ASL
// failure when the evaluation broke a bound (eval_limits.h).
using PathValue = Result<std::optional<boost::json::value>>;

// Evaluates a compiled path (`$...`, `$$...` or `$variable...`) against the current state's input,
// context object and variables: the scope an execution hands to compiled expressions. Returns std::nullopt when the path selects nothing. Paths that are
// not reference paths resolve to the JSON array of their matches. A failure (a broken evaluation bound)
// must fail the state.
using PathResolver = std::function<PathValue(const JsonPath& path)>;

}  // namespace stepflow::sm
