#pragma once
// Task identity on the wire: the queue a Task state's Resource names, and the task token workers report
// with. Both are pure functions, so that the matcher, the API and recovery agree on them.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stepflow::engine {

// The worker queue of a Task state (design.md, "Interfaces"), so that AWS definitions run unchanged:
//   arn:aws:states:REGION:ACCOUNT:activity:NAME or activity:NAME          -> NAME
//   arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]              -> NAME
//   arn:aws:states:::lambda:invoke[.waitForTaskToken] with FunctionName  -> the function's name (from an ARN
//                                                                          or a plain name)
//   anything else                                                         -> `resource` itself
// `input` is the task's effective input (where lambda:invoke's FunctionName is).
std::string TaskQueueName(absl::string_view resource, const boost::json::value& input);

// The id of the dead letter of task `task_id` of execution `execution_id`: "<execution ARN>#<task id>". It
// names the entry for operators; it is not a task token (engine/task_tokens.h), which is signed.
std::string DeadLetterId(absl::string_view execution_id, std::uint64_t task_id);
// (execution id, task id). InvalidArgument ("InvalidToken: ...") when `id` is not a dead letter id.
absl::StatusOr<std::pair<std::string, std::uint64_t>> ParseDeadLetterId(absl::string_view id);

}  // namespace stepflow::engine
