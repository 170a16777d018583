#include "statemachine/core/task_resource.h"

#include "statemachine/json_text.h"

namespace stepflow::sm {
namespace {

constexpr std::string_view kServicePrefix = "arn:aws:states:::";

// True when `resource` is an ARN `arn:<partition>:<service>:<region>:<account>:<type>:<name>...` of
// `service` and resource `type` (e.g. lambda/function, states/activity) with a region, an account and a
// name (`arn:aws:states:::activity:x` is a service-integration form, not an activity ARN).
bool IsArnOf(std::string_view resource, std::string_view service, std::string_view type) {
  constexpr int kParts = 7;  // the last one keeps any further ':'
  std::string_view parts[kParts];
  int n = 0;
  for (; n < kParts - 1; ++n) {
    const std::size_t colon = resource.find(':');
    if (colon == std::string_view::npos) {
      break;
    }
    parts[n] = resource.substr(0, colon);
    resource.remove_prefix(colon + 1);
  }
  parts[n++] = resource;
  return n == kParts && parts[0] == "arn" && parts[2] == service && !parts[3].empty() && !parts[4].empty() &&
         parts[5] == type && !parts[6].empty();
}

}  // namespace

TaskResource DescribeTaskResource(std::string_view resource) {
  TaskResource r;
  if (IsArnOf(resource, "lambda", "function")) {
    r.family = TaskResource::Family::kLambda;
  } else if (IsArnOf(resource, "states", "activity")) {
    r.family = TaskResource::Family::kActivity;
  }
  if (resource.starts_with(kServicePrefix)) {
    const std::string_view rest = resource.substr(kServicePrefix.size());
    const std::size_t last = rest.rfind(':');
    r.type = std::string(rest.substr(0, last));
    r.name = last == std::string_view::npos ? std::string() : std::string(rest.substr(last + 1));
  } else if (resource.find(":activity:") != std::string_view::npos || resource.starts_with("activity:")) {
    r.type = "activity";
    r.name = std::string(resource);
  } else if (resource.find(":lambda:") != std::string_view::npos) {
    r.type = "lambda";
    r.name = std::string(resource);
  } else {
    r.type = "task";
    r.name = std::string(resource);
  }
  r.details_prefix = "{\"resourceType\":";
  AppendJsonString(r.details_prefix, r.type);
  r.details_prefix += ",\"resource\":";
  AppendJsonString(r.details_prefix, r.name);
  return r;
}

}  // namespace stepflow::sm
