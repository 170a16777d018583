#pragma once
// The engine's domain errors, constructed in one place (style.md habit 2). Every message starts with the
// AWS error name and ": ", so that the API layer can map it to the wire (AwsErrorName) without parsing
// anything else; the rest of the message is for people.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace stepflow::engine::errors {

// --- InvalidArgument: a bad definition, name, input, ARN or page token.
inline absl::Status InvalidDefinition(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("InvalidDefinition: ", detail));
}
inline absl::Status InvalidName(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("InvalidName: ", detail));
}
inline absl::Status InvalidExecutionInput(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("InvalidExecutionInput: ", detail));
}
inline absl::Status InvalidArn(absl::string_view arn) {
  return absl::InvalidArgumentError(absl::StrCat("InvalidArn: Invalid Arn: '", arn, "'"));
}
inline absl::Status InvalidToken(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("InvalidToken: ", detail));
}

inline absl::Status InvalidOutput(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("InvalidOutput: ", detail));
}

// --- NotFound: unknown state machine, execution, task or dead letter.
inline absl::Status TaskDoesNotExist(absl::string_view token) {
  return absl::NotFoundError(absl::StrCat("TaskDoesNotExist: Task Does Not Exist: '", token, "'"));
}
inline absl::Status DeadLetterDoesNotExist(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("DeadLetterDoesNotExist: Dead Letter Does Not Exist: '", id, "'"));
}
inline absl::Status StateMachineDoesNotExist(absl::string_view arn) {
  return absl::NotFoundError(absl::StrCat("StateMachineDoesNotExist: State Machine Does Not Exist: '", arn, "'"));
}
inline absl::Status ExecutionDoesNotExist(absl::string_view arn) {
  return absl::NotFoundError(absl::StrCat("ExecutionDoesNotExist: Execution Does Not Exist: '", arn, "'"));
}

// --- AlreadyExists: a duplicate name with different content.
inline absl::Status StateMachineAlreadyExists(absl::string_view arn) {
  return absl::AlreadyExistsError(absl::StrCat("StateMachineAlreadyExists: State Machine Already Exists: '", arn, "'"));
}
inline absl::Status ExecutionAlreadyExists(absl::string_view arn) {
  return absl::AlreadyExistsError(absl::StrCat("ExecutionAlreadyExists: Execution Already Exists: '", arn, "'"));
}

// --- FailedPrecondition: the execution is not running.
inline absl::Status ExecutionNotRunning(absl::string_view arn, absl::string_view status) {
  return absl::FailedPreconditionError(
      absl::StrCat("ExecutionNotRunning: Execution '", arn, "' is not running (status ", status, ")"));
}

// A report on a task that is no longer pending: it timed out, was cancelled, or its execution ended.
inline absl::Status TaskTimedOut(absl::string_view token, absl::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat("TaskTimedOut: Task Timed Out: '", token, "': ", why));
}
// A call that would drive a quarantined execution (engine/quarantine.h); only Stop (to end it) is allowed.
inline absl::Status ExecutionQuarantined(absl::string_view arn, absl::string_view reason) {
  return absl::FailedPreconditionError(
      absl::StrCat("ExecutionQuarantined: execution '", arn, "' is quarantined: ", reason));
}
inline absl::Status ExecutionNotRedrivable(absl::string_view arn, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("ExecutionNotRedrivable: Execution '", arn, "' cannot be redriven: ", why));
}

// --- DeadlineExceeded / Unavailable.
inline absl::Status WaitTimedOut(absl::string_view arn) {
  return absl::DeadlineExceededError(absl::StrCat("Timeout: execution '", arn, "' did not end before the deadline"));
}
inline absl::Status ShuttingDown() { return absl::UnavailableError("ServiceUnavailable: the engine is shutting down"); }
// The store refused the commit for lack of disk space (storage's ResourceExhausted); reads still work and
// writes succeed again once space is freed.
inline absl::Status DiskFull(absl::string_view detail) {
  return absl::ResourceExhaustedError(absl::StrCat("DiskFull: commit refused, nothing changed: ", detail));
}
inline absl::Status CommitFailed(absl::string_view detail) {
  return absl::UnavailableError(absl::StrCat("ServiceUnavailable: commit failed, nothing changed: ", detail));
}

// --- DataLoss: what was stored does not replay to what was stored.
inline absl::Status ReplayMismatch(absl::string_view arn, absl::string_view detail) {
  return absl::DataLossError(absl::StrCat("ReplayMismatch: execution '", arn, "': ", detail));
}

// An execution started under interpreter rules this binary cannot replay (engine/semantics_version.h).
inline absl::Status SemanticsVersionUnsupported(absl::string_view arn, int version, int oldest, int newest) {
  return absl::FailedPreconditionError(absl::StrCat(
      "SemanticsVersionUnsupported: execution '", arn, "' started under semantics version ", version,
      "; this binary replays versions ", oldest, " to ", newest));
}

// The AWS error name a status carries ("ExecutionDoesNotExist"), or "" when its message has none.
inline absl::string_view AwsErrorName(const absl::Status& status) {
  absl::string_view m = status.message();
  std::size_t colon = m.find(": ");
  if (colon == absl::string_view::npos || colon == 0) {
    return {};
  }
  for (char c : m.substr(0, colon)) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.')) {
      return {};
    }
  }
  return m.substr(0, colon);
}

// `status` unchanged when its message starts with an AWS error name, else with the generic name of its code
// put in front ("InternalFailure: ..."), so that every error a caller sees is named (e.g. each outcome of a
// bulk dead-letter call, which is reported in a message field rather than as the call's status).
inline absl::Status WithErrorName(const absl::Status& status) {
  if (status.ok() || !AwsErrorName(status).empty()) {
    return status;
  }
  absl::string_view name = "InternalFailure";
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      name = "ValidationException";
      break;
    case absl::StatusCode::kNotFound:
      name = "ResourceNotFound";
      break;
    case absl::StatusCode::kFailedPrecondition:
      name = "InvalidState";
      break;
    case absl::StatusCode::kUnavailable:
      name = "ServiceUnavailable";
      break;
    case absl::StatusCode::kDeadlineExceeded:
      name = "Timeout";
      break;
    default:
      break;
  }
  return absl::Status(status.code(), absl::StrCat(name, ": ", status.message()));
}

}  // namespace stepflow::engine::errors
