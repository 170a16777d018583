#pragma once
// What a Task state's Resource makes of the history events of its work, as AWS records them: worked out once
// per state when the machine is built (ParseStateMachine) instead of on every event.

#include <cstdint>
#include <string>
#include <string_view>

namespace stepflow::sm {

struct TaskResource {
  // The events' names when the execution records resource events (ExecutionLimits::record_resource_events):
  // LambdaFunction* for a Lambda function ARN (the legacy Lambda resource; `arn:aws:states:::lambda:invoke` is
  // a service integration and records Task*), Activity* for an activity ARN, Task* for everything else
  // (service integrations, Stepflow's `activity:NAME` shorthand and plain queue names).
  enum class Family : std::uint8_t { kTask, kLambda, kActivity };
  Family family = Family::kTask;
  // AWS's (resourceType, resource) split of the Resource, the first two members of every Task* event's
  // details: "arn:aws:states:::lambda:invoke" -> ("lambda", "invoke"), "my-queue" -> ("task", "my-queue").
  std::string type;
  std::string name;
  // Those two members as the JSON text that opens the details, `{"resourceType":<type>,"resource":<name>`
  // (no closing brace), for the events written from it (TypedEventDetails::Shape::kTaskScheduled, kTaskStarted,
  // kTaskSucceeded).
  std::string details_prefix;
};

TaskResource DescribeTaskResource(std::string_view resource);

}  // namespace stepflow::sm
