#include "engine/api/auth.h"

#include <openssl/evp.h>

#include <array>
#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace stepflow::api {
namespace {

// A token file larger than this is refused (a million tokens would still fit).
constexpr std::size_t kMaxTokenFileBytes = 64 << 20;
constexpr std::size_t kSha256HexLength = 64;

constexpr RpcPolicy kPolicies[] = {
    {Rpc::kCreateStateMachine, "/stepflow.v1.StateMachines/Create", Role::kAdmin, true},
    {Rpc::kUpdateStateMachine, "/stepflow.v1.StateMachines/Update", Role::kAdmin, true},
    {Rpc::kDescribeStateMachine, "/stepflow.v1.StateMachines/Describe", Role::kReader, false},
    {Rpc::kListStateMachines, "/stepflow.v1.StateMachines/List", Role::kReader, false},
    {Rpc::kDeleteStateMachine, "/stepflow.v1.StateMachines/Delete", Role::kAdmin, true},
    {Rpc::kValidateDefinition, "/stepflow.v1.StateMachines/Validate", Role::kReader, false},
    {Rpc::kStartExecution, "/stepflow.v1.Executions/Start", Role::kOperator, true},
    {Rpc::kStartSyncExecution, "/stepflow.v1.Executions/StartSync", Role::kOperator, true},
    {Rpc::kDescribeExecution, "/stepflow.v1.Executions/Describe", Role::kReader, false},
    {Rpc::kGetExecutionHistory, "/stepflow.v1.Executions/GetHistory", Role::kReader, false},
    {Rpc::kWatchExecutionHistory, "/stepflow.v1.Executions/WatchHistory", Role::kReader, false},
    {Rpc::kListExecutions, "/stepflow.v1.Executions/List", Role::kReader, false},
    {Rpc::kStopExecution, "/stepflow.v1.Executions/Stop", Role::kOperator, true},
    {Rpc::kDescribeStateMachineForExecution, "/stepflow.v1.Executions/DescribeStateMachineForExecution",
     Role::kReader, false},
    {Rpc::kRedriveExecution, "/stepflow.v1.Executions/Redrive", Role::kOperator, true},
    {Rpc::kPollTask, "/stepflow.v1.Tasks/Poll", Role::kWorker, true},
    {Rpc::kCompleteTask, "/stepflow.v1.Tasks/Complete", Role::kWorker, true},
    {Rpc::kFailTask, "/stepflow.v1.Tasks/Fail", Role::kWorker, true},
    {Rpc::kHeartbeatTask, "/stepflow.v1.Tasks/Heartbeat", Role::kWorker, false},
    {Rpc::kListDeadLetters, "/stepflow.v1.DeadLetters/List", Role::kOperator, false},
    {Rpc::kGetDeadLetter, "/stepflow.v1.DeadLetters/Get", Role::kOperator, false},
    {Rpc::kRedriveDeadLetters, "/stepflow.v1.DeadLetters/Redrive", Role::kOperator, true},
    {Rpc::kDiscardDeadLetters, "/stepflow.v1.DeadLetters/Discard", Role::kOperator, true},
    {Rpc::kHttpMetrics, "GET /metrics", Role::kReader, false},
    {Rpc::kPublishStateMachineVersion, "/stepflow.v1.StateMachines/PublishVersion", Role::kAdmin, true},
    {Rpc::kListStateMachineVersions, "/stepflow.v1.StateMachines/ListVersions", Role::kReader, false},
    {Rpc::kDescribeStateMachineVersion, "/stepflow.v1.StateMachines/DescribeVersion", Role::kReader, false},
    {Rpc::kDeleteStateMachineVersion, "/stepflow.v1.StateMachines/DeleteVersion", Role::kAdmin, true},
    {Rpc::kCreateStateMachineAlias, "/stepflow.v1.StateMachines/CreateAlias", Role::kAdmin, true},
    {Rpc::kUpdateStateMachineAlias, "/stepflow.v1.StateMachines/UpdateAlias", Role::kAdmin, true},
    {Rpc::kDescribeStateMachineAlias, "/stepflow.v1.StateMachines/DescribeAlias", Role::kReader, false},
    {Rpc::kListStateMachineAliases, "/stepflow.v1.StateMachines/ListAliases", Role::kReader, false},
    {Rpc::kDeleteStateMachineAlias, "/stepflow.v1.StateMachines/DeleteAlias", Role::kAdmin, true},
    {Rpc::kTestState, "/stepflow.v1.StateMachines/TestState", Role::kReader, false},
    {Rpc::kPollTaskBatch, "/stepflow.v1.Tasks/PollBatch", Role::kWorker, true},
    {Rpc::kReportTaskBatch, "/stepflow.v1.Tasks/ReportBatch", Role::kWorker, true},
};

// reader < operator < admin; worker is beside them (only worker and admin may make worker calls).
bool Grants(Role have, Role least) {
  if (have == Role::kAdmin) {
    return true;
  }
  if (least == Role::kWorker || have == Role::kWorker) {
    return have == least;
  }
  auto rank = [](Role r) { return r == Role::kReader ? 0 : r == Role::kOperator ? 1 : 2; };
  return rank(have) >= rank(least);
}

absl::StatusOr<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kReader, Role::kOperator, Role::kWorker, Role::kAdmin}) {
    if (RoleName(r) == name) {
      return r;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("role must be reader, operator, worker or admin, not '", std::string(name), "'"));
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<Principal> ParseEntry(const boost::json::value& v, std::string& hash, const std::string& where) {
  const boost::json::object* o = v.if_object();
  auto bad = [&](const std::string& why) { return absl::InvalidArgumentError(absl::StrCat(where, ": ", why)); };
  if (o == nullptr) {
    return bad("must be an object with name, sha256 and role");
  }
  for (const auto& [key, value] : *o) {
    if (key != "name" && key != "sha256" && key != "role" && key != "queues") {
      return bad(absl::StrCat("unknown key '", std::string(key), "'"));
    }
  }
  const boost::json::value* name = o->if_contains("name");
  const boost::json::value* sha = o->if_contains("sha256");
  const boost::json::value* role = o->if_contains("role");
  if (name == nullptr || !name->is_string() || name->as_string().empty()) {
    return bad("name must be a non-empty string");
  }
  if (sha == nullptr || !sha->is_string() || sha->as_string().size() != kSha256HexLength ||
      !IsLowerHex(sha->as_string())) {
    return bad("sha256 must be 64 lowercase hex digits (the SHA-256 of the token)");
  }
  if (role == nullptr || !role->is_string()) {
    return bad("role must be reader, operator, worker or admin");
  }
  Principal p;
  p.name = std::string(name->as_string());
  absl::StatusOr<Role> r = ParseRole(std::string_view(role->as_string()));
  if (!r.ok()) {
    return bad(std::string(r.status().message()));
  }
  p.role = *r;
  if (const boost::json::value* queues = o->if_contains("queues")) {
    if (p.role != Role::kWorker || !queues->is_array()) {
      return bad("queues must be an array of queue names, on a worker token only");
    }
    for (const boost::json::value& q : queues->as_array()) {
      if (!q.is_string() || q.as_string().empty()) {
        return bad("every queue must be a non-empty string");
      }
      p.queues.emplace_back(q.as_string());
    }
  } else if (p.role == Role::kWorker) {
    return bad("a worker token needs its queues (\"*\" for any)");
  }
  hash = std::string(sha->as_string());
  return p;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kOperator:
      return "operator";
    case Role::kWorker:
      return "worker";
    case Role::kAdmin:
      return "admin";
  }
  return "reader";
}

const RpcPolicy& PolicyOf(Rpc rpc) {
  for (const RpcPolicy& p : kPolicies) {
    if (p.rpc == rpc) {
      return p;
    }
  }
  return kPolicies[0];  // unreachable: every Rpc has a row
}

const RpcPolicy* PolicyOfMethod(std::string_view method) {
  for (const RpcPolicy& p : kPolicies) {
    if (method == p.method) {
      return &p;
    }
  }
  return nullptr;
}

std::string Sha256Hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

absl::StatusOr<TokenTable> TokenTable::Parse(std::string_view text, const std::string& source) {
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(text, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": invalid JSON: ", ec.message()));
  }
  const boost::json::object* root = json.if_object();
  const boost::json::value* tokens = root == nullptr ? nullptr : root->if_contains("tokens");
  if (tokens == nullptr || !tokens->is_array() || root->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": must be a JSON object {\"tokens\": [{\"name\", \"sha256\", \"role\"}, ...]}"));
  }
  TokenTable table;
  std::set<std::string> names;
  for (std::size_t i = 0; i < tokens->as_array().size(); ++i) {
    std::string hash;
    std::string where = absl::StrCat(source, ": tokens[", i, "]");
    absl::StatusOr<Principal> p = ParseEntry(tokens->as_array()[i], hash, where);
    if (!p.ok()) {
      return p.status();
    }
    if (!names.insert(p->name).second || table.by_hash_.count(hash) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": duplicate name or sha256 ('", p->name, "')"));
    }
    table.by_hash_.emplace(std::move(hash), std::move(*p));
  }
  return table;
}

const Principal* TokenTable::Find(std::string_view token) const {
  auto it = by_hash_.find(Sha256Hex(token));
  return it == by_hash_.end() ? nullptr : &it->second;
}

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::FromFile(const std::string& token_file) {
  auto authorizer = std::make_unique<Authorizer>();
  authorizer->token_file_ = token_file;
  if (absl::Status s = authorizer->Reload(); !s.ok()) {
    return s;
  }
  return authorizer;
}

absl::Status Authorizer::Reload() {
  std::ifstream in(token_file_, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(token_file_, ": cannot read the token file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxTokenFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(token_file_, ": larger than ", kMaxTokenFileBytes, " bytes"));
  }
  absl::StatusOr<TokenTable> table = TokenTable::Parse(text.str(), token_file_);
  if (!table.ok()) {
    return table.status();
  }
  auto fresh = std::make_shared<const TokenTable>(std::move(*table));
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(fresh);
  return absl::OkStatus();
}

std::size_t Authorizer::token_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_ == nullptr ? 0 : table_->size();
}

Admission Authorizer::Admit(const Caller& caller, Rpc rpc) const {
  Admission a;
  a.who = caller.cert_subject.empty() ? "anonymous" : caller.cert_subject;
  if (!enforcing()) {
    return a;
  }
  std::shared_ptr<const TokenTable> table;
  {
    std::lock_guard<std::mutex> lock(mu_);
    table = table_;
  }
  const RpcPolicy& policy = PolicyOf(rpc);
  if (!caller.bearer.has_value() || caller.bearer->empty()) {
    a.status = absl::UnauthenticatedError(absl::StrCat(
        "UnrecognizedClientException: ", policy.method, " needs a bearer token (authorization: Bearer TOKEN)"));
    return a;
  }
  const Principal* p = table->Find(*caller.bearer);
  if (p == nullptr) {
    a.status = absl::UnauthenticatedError("UnrecognizedClientException: the bearer token is not recognized");
    return a;
  }
  a.who = p->name;
  a.principal = *p;
  if (!Grants(p->role, policy.least)) {
    a.status = absl::PermissionDeniedError(absl::StrCat("AccessDeniedException: token '", p->name, "' (role ",
                                                        std::string(RoleName(p->role)), ") may not call ", policy.method));
  }
  return a;
}

absl::Status Authorizer::AdmitQueue(const Admission& admission, std::string_view queue) const {
  if (!enforcing() || !admission.principal.has_value() || admission.principal->role != Role::kWorker) {
    return absl::OkStatus();
  }
  for (const std::string& q : admission.principal->queues) {
    if (q == "*" || q == queue) {
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(absl::StrCat("AccessDeniedException: token '", admission.principal->name,
                                                  "' may not poll this queue (its queues are listed in the "
                                                  "token file)"));
}

std::string CallerName(const Authorizer* authorizer, const Caller& caller) {
  if (authorizer != nullptr && authorizer->enforcing() && caller.bearer.has_value()) {
    Admission a = authorizer->Admit(caller, Rpc::kDescribeExecution);
    if (a.principal.has_value()) {
      return a.principal->name;
    }
  }
  return caller.cert_subject.empty() ? "anonymous" : caller.cert_subject;
}

}  // namespace stepflow::api
