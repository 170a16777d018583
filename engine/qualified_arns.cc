#include "engine/qualified_arns.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/errors.h"
#include "engine/names.h"

namespace stepflow::engine {

std::string VersionArn(absl::string_view state_machine, std::int64_t version) {
  return absl::StrCat(StateMachineArn(state_machine), ":", version);
}

std::string AliasArn(absl::string_view state_machine, absl::string_view alias) {
  return absl::StrCat(StateMachineArn(state_machine), ":", alias);
}

bool IsQualifiedArn(absl::string_view arn) {
  std::vector<absl::string_view> parts = absl::StrSplit(arn, ':');
  return parts.size() == 8 && parts[0] == "arn" && parts[5] == "stateMachine";
}

namespace {

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return !s.empty();
}

}  // namespace

absl::StatusOr<QualifiedArn> ParseQualifiedArn(absl::string_view arn) {
  std::vector<absl::string_view> parts = absl::StrSplit(arn, ':');
  if (!IsQualifiedArn(arn) || parts[2] != "states" || parts[6].empty() || parts[7].empty() ||
      arn.find('\0') != absl::string_view::npos) {
    return errors::InvalidArn(arn);
  }
  if (arn.substr(0, kArnPrefix.size()) != kArnPrefix || !ValidateName(parts[6], "state machine").ok()) {
    return errors::ResourceNotFound(arn);
  }
  QualifiedArn q;
  q.state_machine = std::string(parts[6]);
  if (AllDigits(parts[7])) {
    if (!absl::SimpleAtoi(parts[7], &q.version) || q.version < 1) {
      return errors::InvalidArn(arn);
    }
    return q;
  }
  if (!ValidateName(parts[7], "alias").ok()) {
    return errors::InvalidArn(arn);
  }
  q.alias = std::string(parts[7]);
  return q;
}

absl::Status ValidateDescription(absl::string_view description) {
  std::size_t chars = 0;
  for (char c : description) {
    chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;  // count the first byte of each character
  }
  if (chars > kMaxDescriptionChars) {
    return errors::Validation(absl::StrCat("the description is ", chars, " characters; at most ",
                                           kMaxDescriptionChars, " are allowed"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAliasName(absl::string_view name) {
  if (AllDigits(name)) {
    return errors::InvalidName(absl::StrCat("the alias name '", name, "' is all digits, which names a version"));
  }
  return ValidateName(name, "alias");
}

}  // namespace stepflow::engine
