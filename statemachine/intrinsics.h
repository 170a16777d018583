#pragma once
// ASL intrinsic functions (JSONPath dialect): the 18 `States.*` functions, nested calls (depth <= 10),
// arguments that are string literals ('...' with \' \{ \} \\ escapes), numbers, true/false/null,
// paths ($..., $$..., $variable...) and nested calls.
//
// Thread-safety: a parsed IntrinsicCall is immutable and may be shared between threads.

#include <memory>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "statemachine/eval_limits.h"
#include "statemachine/failure.h"
#include "statemachine/runtime_values.h"

namespace stepflow::sm {

// True when `text` is written as an intrinsic function call (`States.Name(...)`), i.e. a payload
// template `.$` value that must be parsed with ParseIntrinsic rather than as a JSONPath.
bool LooksLikeIntrinsic(std::string_view text);

class IntrinsicCall {
 public:
  // Parses a call. Unknown function names, wrong argument counts known at parse time, bad literals,
  // unbalanced parentheses and nesting deeper than 10 give InvalidArgument with a message naming the
  // function and the problem. Path arguments are compiled with JsonPath::Parse, once, here.
  static absl::StatusOr<IntrinsicCall> Parse(std::string_view text);

  IntrinsicCall(const IntrinsicCall&);
  IntrinsicCall(IntrinsicCall&&) noexcept;
  IntrinsicCall& operator=(const IntrinsicCall&);
  IntrinsicCall& operator=(IntrinsicCall&&) noexcept;
  ~IntrinsicCall();

  const std::string& text() const;

  // Evaluates the call; arguments are evaluated left to right and the first failure wins.
  // - Argument type/range errors give a Failure with error States.IntrinsicFailure and AWS's cause
  //   "Invalid arguments in States.<Name>" (e.g. a bad Format template or placeholder count, an index
  //   out of range, a Base64/Hash input longer than 10000 characters, ArrayRange over 1000 items).
  // - A path argument that selects nothing gives States.IntrinsicFailure with cause
  //   "The JsonPath argument for the field '<path>' could not be found in the input '<input>'", where
  //   <input> is `resolve(JsonPath::WholeInput())` as compact JSON.
  // Numbers print as AWS (Java) prints them: integers without a fraction, doubles as Double.toString
  // (1.1, 1.0E20). `runtime` supplies States.UUID and unseeded States.MathRandom values; seeded
  // MathRandom is a pure function of its seed (java.util.Random). `resolve` is called once per path
  // argument, plus once with `$` when a path selects nothing.
  // Every argument and every (nested) call's result counts against limits.max_result_bytes; passing it
  // gives States.DataLimitExceeded naming the call. A path argument's failure (a broken JSONPath bound)
  // is returned as it is.
  Result<boost::json::value> Evaluate(const PathResolver& resolve, RuntimeValues& runtime,
                                      const EvaluationLimits& limits = {}) const;

  struct Impl;

 private:
  explicit IntrinsicCall(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace stepflow::sm
