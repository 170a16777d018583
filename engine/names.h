#pragma once
// Names and ARNs of state machines and executions, as AWS Step Functions writes them. Stepflow serves one
// region and one account, so every ARN it makes starts with kArnPrefix.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stepflow::engine {

inline constexpr absl::string_view kArnPrefix = "arn:aws:states:us-east-1:123456789012:";
inline constexpr absl::string_view kRoleArn = "arn:aws:iam::123456789012:role/stepflow";
// AWS's limit on state machine and execution names, in characters.
inline constexpr std::size_t kMaxNameChars = 80;

// OK when `name` is 1-80 characters (UTF-8 code points) with no whitespace, none of
// < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : / and no control characters. Otherwise InvalidArgument
// "InvalidName: ..." naming `what` ("state machine" / "execution") and the problem.
absl::Status ValidateName(absl::string_view name, absl::string_view what);

std::string StateMachineArn(absl::string_view name);
// arn:...:execution:SM:NAME
std::string ExecutionArn(absl::string_view state_machine, absl::string_view name);
// arn:...:express:SM:NAME:UUID
std::string ExpressExecutionArn(absl::string_view state_machine, absl::string_view name, absl::string_view uuid);

// The state machine name that `name_or_arn` names. A plain name is returned as is; an ARN must be a
// stateMachine ARN (InvalidArgument "InvalidArn: ..." otherwise). NotFound (StateMachineDoesNotExist) for a
// name that cannot exist here (not a valid name, another region or account).
absl::StatusOr<std::string> StateMachineNameOf(absl::string_view name_or_arn);

// OK when `arn` has the form of an execution ARN (standard or express); InvalidArgument "InvalidArn" else.
absl::Status ValidateExecutionArn(absl::string_view arn);

}  // namespace stepflow::engine
