#include "engine/tasks.h"

#include <charconv>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/errors.h"

namespace stepflow::engine {

namespace {

// The function name in a Lambda function ARN or partial ARN ("arn:aws:lambda:R:A:function:NAME[:Q]",
// "A:function:NAME", "function:NAME"), or `name` itself when it is a plain name.
std::string LambdaFunctionName(absl::string_view name) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, ':');
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] == "function") {
      return std::string(parts[i + 1]);
    }
  }
  return std::string(name);
}

}  // namespace

std::string TaskQueueName(absl::string_view resource, const boost::json::value& input) {
  constexpr absl::string_view kLambdaInvoke = "arn:aws:states:::lambda:invoke";
  if (absl::StartsWith(resource, kLambdaInvoke) && input.is_object()) {
    if (const boost::json::value* fn = input.get_object().if_contains("FunctionName"); fn && fn->is_string()) {
      return LambdaFunctionName(absl::string_view(fn->get_string().data(), fn->get_string().size()));
    }
  }
  if (absl::StartsWith(resource, "activity:")) {
    return std::string(resource.substr(9));
  }
  if (absl::StartsWith(resource, "arn:")) {
    std::vector<absl::string_view> parts = absl::StrSplit(resource, ':');
    // arn:aws:states:REGION:ACCOUNT:activity:NAME
    if (parts.size() == 7 && parts[2] == "states" && parts[5] == "activity") {
      return std::string(parts[6]);
    }
    if (parts.size() >= 7 && parts[2] == "lambda" && parts[5] == "function") {
      return std::string(parts[6]);
    }
  }
  return std::string(resource);
}

std::string DeadLetterId(absl::string_view execution_id, std::uint64_t task_id) {
  return absl::StrCat(std::string(execution_id), "#", task_id);
}

absl::StatusOr<std::pair<std::string, std::uint64_t>> ParseDeadLetterId(absl::string_view id) {
  const std::size_t hash = id.rfind('#');
  if (hash == absl::string_view::npos || hash == 0 || hash + 1 == id.size() ||
      !absl::StartsWith(id, "arn:aws:states:")) {
    return errors::InvalidToken(absl::StrCat("'", std::string(id.substr(0, 200)), "' is not a dead letter id"));
  }
  std::uint64_t task_id = 0;
  absl::string_view digits = id.substr(hash + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), task_id);
  // Canonical decimal only, so that one entry has one id ("#02" is not "#2").
  if (ec != std::errc() || end != digits.data() + digits.size() || (digits.size() > 1 && digits[0] == '0')) {
    return errors::InvalidToken(absl::StrCat("'", std::string(id.substr(0, 200)), "' is not a dead letter id"));
  }
  return std::make_pair(std::string(id.substr(0, hash)), task_id);
}

}  // namespace stepflow::engine
