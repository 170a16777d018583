#pragma once
// Who may do what (issue 9, section 5): bearer tokens with roles, read from a file of hashed secrets, and
// the one decision every gRPC handler and the HTTP listener ask for. No gRPC or HTTP type appears here.
//
// The token file is a JSON object (README "Security"):
//   {"tokens": [
//     {"name": "ci",      "sha256": "<64 hex digits: SHA-256 of the token>", "role": "operator"},
//     {"name": "billing", "sha256": "...", "role": "worker", "queues": ["charge-card", "refund"]}
//   ]}
// Roles: reader (describe, list, history, validate, /metrics), operator (reader's, plus start, stop,
// redrive and every dead-letter call), worker (the Tasks calls; Poll only on its "queues", "*" = any),
// admin (everything, state machines included). Names must be unique, hashes too.
//
// Thread-safety: every method may be called from any thread; Reload swaps the tokens atomically.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace stepflow::api {

enum class Role { kReader, kOperator, kWorker, kAdmin };
std::string_view RoleName(Role role);

// Every call the server answers, with the least role that may make it. `mutating` calls are audited.
enum class Rpc {
  kCreateStateMachine, kUpdateStateMachine, kDescribeStateMachine, kListStateMachines, kDeleteStateMachine,
  kValidateDefinition,
  kStartExecution, kStartSyncExecution, kDescribeExecution, kGetExecutionHistory, kWatchExecutionHistory,
  kListExecutions, kStopExecution, kDescribeStateMachineForExecution, kRedriveExecution,
  kPollTask, kCompleteTask, kFailTask, kHeartbeatTask,
  kListDeadLetters, kGetDeadLetter, kRedriveDeadLetters, kDiscardDeadLetters,
  kHttpMetrics,
  // Versions and aliases (issue 12).
  kPublishStateMachineVersion, kListStateMachineVersions, kDescribeStateMachineVersion, kDeleteStateMachineVersion,
  kCreateStateMachineAlias, kUpdateStateMachineAlias, kDescribeStateMachineAlias, kListStateMachineAliases,
  kDeleteStateMachineAlias,
  // TestState (issue 12): runs one state, stores nothing.
  kTestState,
  // The batched worker calls (issue 13): worker role, as the unary Tasks calls.
  kPollTaskBatch, kReportTaskBatch,
};

struct RpcPolicy {
  Rpc rpc;
  const char* method;  // gRPC method path "/stepflow.v1.Executions/Start"; "GET /metrics" for HTTP
  Role least;          // reader < operator < admin; worker only for the Tasks calls (admin may too)
  bool mutating;       // changes state: audited when accepted as well as when refused
};
const RpcPolicy& PolicyOf(Rpc rpc);
// The policy of a gRPC method path; nullptr for methods outside stepflow.v1 (health, reflection).
const RpcPolicy* PolicyOfMethod(std::string_view method);

// A caller known by its token.
struct Principal {
  std::string name;
  Role role = Role::kReader;
  std::vector<std::string> queues;  // worker only; "*" = every queue
};

// Lowercase hex SHA-256 of `text`.
std::string Sha256Hex(std::string_view text);

// The tokens of one token file.
class TokenTable {
 public:
  // Parses the file's text; InvalidArgument naming the entry and what is wrong.
  static absl::StatusOr<TokenTable> Parse(std::string_view text, const std::string& source);
  // The principal of `token` (the secret itself), or nullptr.
  const Principal* Find(std::string_view token) const;
  std::size_t size() const { return by_hash_.size(); }

 private:
  std::map<std::string, Principal> by_hash_;
};

// What the server knows of a caller: its token (bearer), and its client certificate's subject (mTLS).
struct Caller {
  std::optional<std::string> bearer;  // the token after "Bearer "; nullopt when no authorization header
  std::string cert_subject;           // "" when none
};

// The decision on one call.
struct Admission {
  absl::Status status;  // OK, or Unauthenticated (UnrecognizedClientException) / PermissionDenied
                        // (AccessDeniedException) with the AWS-style name
  std::string who;      // token name, else the certificate subject, else "anonymous"
  std::optional<Principal> principal;  // when a known token was given
};

// The server's access policy: with no token file every call is allowed (as before tokens existed).
class Authorizer {
 public:
  // No token file: everything allowed.
  Authorizer() = default;
  // Reads `token_file`. InvalidArgument when it cannot be read or parsed.
  static absl::StatusOr<std::unique_ptr<Authorizer>> FromFile(const std::string& token_file);

  // Re-reads the token file. On error the tokens in force stay, and the error is returned.
  absl::Status Reload();
  bool enforcing() const { return !token_file_.empty(); }
  std::size_t token_count() const;

  // May `caller` make `rpc`? (For Poll, also call AdmitQueue once the queue is known.)
  Admission Admit(const Caller& caller, Rpc rpc) const;
  // PermissionDenied unless the admitted caller may poll `queue` (workers: their queues; admin: any).
  absl::Status AdmitQueue(const Admission& admission, std::string_view queue) const;

 private:
  std::string token_file_;
  mutable std::mutex mu_;
  std::shared_ptr<const TokenTable> table_;  // guarded by mu_ (the pointer; the table is immutable)
};

// Who a caller is for the audit log and messages, without a decision (token name, subject, "anonymous").
std::string CallerName(const Authorizer* authorizer, const Caller& caller);

}  // namespace stepflow::api
