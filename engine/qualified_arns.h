#pragma once
// ARNs of published versions and aliases, as AWS Step Functions writes them: the state machine's ARN with a
// qualifier, a version number (arn:...:stateMachine:NAME:3) or an alias name (arn:...:stateMachine:NAME:prod).

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace stepflow::engine {

// The errors of versions and aliases, with AWS's names.
namespace errors {
inline absl::Status ResourceNotFound(absl::string_view arn) {
  return absl::NotFoundError(absl::StrCat("ResourceNotFound: Resource Not Found: '", arn, "'"));
}
inline absl::Status Conflict(absl::string_view detail) {
  return absl::FailedPreconditionError(absl::StrCat("ConflictException: ", detail));
}
inline absl::Status ServiceQuotaExceeded(absl::string_view detail) {
  return absl::ResourceExhaustedError(absl::StrCat("ServiceQuotaExceededException: ", detail));
}
inline absl::Status Validation(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("ValidationException: ", detail));
}
}  // namespace errors

// AWS's limits: versions per state machine, aliases per state machine, and a description's characters.
inline constexpr std::int64_t kMaxVersionsPerStateMachine = 1000;
inline constexpr std::size_t kMaxAliasesPerStateMachine = 100;
inline constexpr std::size_t kMaxDescriptionChars = 256;

std::string VersionArn(absl::string_view state_machine, std::int64_t version);
std::string AliasArn(absl::string_view state_machine, absl::string_view alias);

// What a qualified ARN names: a version (`version` > 0) or an alias (`alias` non-empty) of `state_machine`.
struct QualifiedArn {
  std::string state_machine;
  std::int64_t version = 0;
  std::string alias;
};

// True when `arn` has a qualifier (8 colon-separated parts, the 6th "stateMachine").
bool IsQualifiedArn(absl::string_view arn);
// Parses a version or alias ARN of this region and account. InvalidArgument "InvalidArn" when it is not one;
// NotFound `not_found` (the caller's error, e.g. ResourceNotFound) when it cannot name anything here (another
// account, an invalid name).
absl::StatusOr<QualifiedArn> ParseQualifiedArn(absl::string_view arn);
// OK when `name` can name an alias: a valid name (engine/names.h) that is not all digits (that would read as a
// version number). InvalidArgument "InvalidName" otherwise.
absl::Status ValidateAliasName(absl::string_view name);
// OK when `description` is at most kMaxDescriptionChars characters (UTF-8); InvalidArgument
// (ValidationException) otherwise.
absl::Status ValidateDescription(absl::string_view description);

}  // namespace stepflow::engine
