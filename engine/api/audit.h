#pragma once
// The audit log (README "Security"): one JSON line for every mutating call (accepted or not) and for every
// call refused for want of rights, with who made it, what it was (the RPC and the resource it named: an
// ARN, a name, a queue or a dead-letter id, never an input), when, and the result.
//
//   {"time":"2024-05-01T12:00:00.123Z","who":"ci","rpc":"/stepflow.v1.Executions/Start",
//    "resource":"orders","result":"OK"}
//   {"time":"...","who":"anonymous","rpc":"/stepflow.v1.StateMachines/Delete","resource":"orders",
//    "result":"UNAUTHENTICATED","error":"UnrecognizedClientException"}
//
// The lines go to the file given to SetUpAuditLog (appended, flushed at every line), else to the server's
// log (stderr) as "audit {json}" lines at info level.
//
// Thread-safety: WriteAuditLine may be called from any thread once SetUpAuditLog returned.

#include <string>

#include "absl/status/status.h"

namespace stepflow::api {

struct AuditRecord {
  std::string who;       // token name, certificate subject, or "anonymous"
  std::string rpc;       // "/stepflow.v1.Executions/Start", "GET /metrics"
  std::string resource;  // "" when the call names none
  std::string result;    // the gRPC code name ("OK", "PERMISSION_DENIED", ...) or the HTTP status
  std::string error;     // the AWS-style error name, "" when OK
};

// Sends audit lines to `path` ("" = the server's log). InvalidArgument when the file cannot be opened.
absl::Status SetUpAuditLog(const std::string& path);

// Writes one line.
void WriteAuditLine(const AuditRecord& record);

// The JSON line of `record` at `time_ms` (epoch milliseconds), without the newline (exposed for tests). Strings are
// escaped as in history events (sm::AppendJsonString): bytes that are not UTF-8 become U+FFFD, so a line is always
// valid JSON whatever a certificate subject or a name holds.
std::string FormatAuditLine(long long time_ms, const AuditRecord& record);

}  // namespace stepflow::api
