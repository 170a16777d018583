#include "engine/names.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/errors.h"

namespace stepflow::engine {
namespace {

constexpr absl::string_view kForbiddenAscii = "<>{}[]?*\"#%\\^|~`$&,;:/";

// Decodes the UTF-8 code point at `s[i]` and advances `i`; false for malformed UTF-8.
bool NextCodePoint(absl::string_view s, std::size_t& i, std::uint32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t b0 = byte(i);
  int extra = 0;
  if (b0 < 0x80) {
    cp = b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    cp = b0 & 0x1F;
    extra = 1;
  } else if ((b0 & 0xF0) == 0xE0) {
    cp = b0 & 0x0F;
    extra = 2;
  } else if ((b0 & 0xF8) == 0xF0) {
    cp = b0 & 0x07;
    extra = 3;
  } else {
    return false;
  }
  if (i + static_cast<std::size_t>(extra) >= s.size()) {
    return false;  // truncated sequence
  }
  for (int k = 1; k <= extra; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return false;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return false;  // overlong, out of range or a surrogate
  }
  i += static_cast<std::size_t>(extra) + 1;
  return true;
}

bool IsControl(std::uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

bool IsWhitespace(std::uint32_t cp) {
  return cp == ' ' || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

}  // namespace

absl::Status ValidateName(absl::string_view name, absl::string_view what) {
  if (name.empty()) {
    return errors::InvalidName(absl::StrCat("the ", what, " name must not be empty"));
  }
  std::size_t chars = 0;
  for (std::size_t i = 0; i < name.size();) {
    std::uint32_t cp = 0;
    if (!NextCodePoint(name, i, cp)) {
      return errors::InvalidName(absl::StrCat("the ", what, " name is not valid UTF-8"));
    }
    ++chars;
    if (IsControl(cp)) {
      return errors::InvalidName(absl::StrCat("the ", what, " name contains a control character"));
    }
    if (IsWhitespace(cp)) {
      return errors::InvalidName(absl::StrCat("the ", what, " name contains whitespace"));
    }
    if (cp < 0x80 && kForbiddenAscii.find(static_cast<char>(cp)) != absl::string_view::npos) {
      return errors::InvalidName(
          absl::StrCat("the ", what, " name contains '", std::string(1, static_cast<char>(cp)), "'"));
    }
  }
  if (chars > kMaxNameChars) {
    return errors::InvalidName(
        absl::StrCat("the ", what, " name is ", chars, " characters long; at most ", kMaxNameChars, " are allowed"));
  }
  return absl::OkStatus();
}

std::string StateMachineArn(absl::string_view name) { return absl::StrCat(kArnPrefix, "stateMachine:", name); }

std::string ExecutionArn(absl::string_view state_machine, absl::string_view name) {
  return absl::StrCat(kArnPrefix, "execution:", state_machine, ":", name);
}

std::string ExpressExecutionArn(absl::string_view state_machine, absl::string_view name, absl::string_view uuid) {
  return absl::StrCat(kArnPrefix, "express:", state_machine, ":", name, ":", uuid);
}

absl::StatusOr<std::string> StateMachineNameOf(absl::string_view name_or_arn) {
  if (name_or_arn.substr(0, 4) != "arn:") {
    if (!ValidateName(name_or_arn, "state machine").ok()) {
      return errors::StateMachineDoesNotExist(StateMachineArn(name_or_arn));
    }
    return std::string(name_or_arn);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(name_or_arn, ':');
  if (parts.size() != 7 || parts[2] != "states" || parts[5] != "stateMachine" || parts[6].empty() ||
      name_or_arn.find('\0') != absl::string_view::npos) {
    return errors::InvalidArn(name_or_arn);
  }
  if (name_or_arn.substr(0, kArnPrefix.size()) != kArnPrefix || !ValidateName(parts[6], "state machine").ok()) {
    return errors::StateMachineDoesNotExist(name_or_arn);
  }
  return std::string(parts[6]);
}

absl::Status ValidateExecutionArn(absl::string_view arn) {
  std::vector<absl::string_view> parts = absl::StrSplit(arn, ':');
  const bool standard = parts.size() == 8 && parts[5] == "execution";
  const bool express = parts.size() == 9 && parts[5] == "express";
  if (!(standard || express) || parts[0] != "arn" || parts[2] != "states" || parts[6].empty() || parts[7].empty() ||
      arn.find('\0') != absl::string_view::npos) {
    return errors::InvalidArn(arn);
  }
  return absl::OkStatus();
}

}  // namespace stepflow::engine
