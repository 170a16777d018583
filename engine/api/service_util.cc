#include "engine/api/service_util.h"

#include <grpc/grpc_security_constants.h>
#include <algorithm>
#include <grpcpp/security/auth_context.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace stepflow::api {
namespace {

// A deadline further away than this is "no deadline" (gRPC reports an infinite one as time_point::max()).
constexpr std::chrono::hours kNoDeadline{24 * 365 * 100};

constexpr std::string_view kBearerPrefix = "Bearer ";

}  // namespace

ForwardContext ForwardContextOf(const grpc::ServerContextBase& context) {
  ForwardContext from;
  from.bearer = CallerOf(context).bearer.value_or("");
  if (context.deadline() != std::chrono::system_clock::time_point::max()) {
    from.deadline = context.deadline();
  }
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find(kForwardHopsMetadata); it != metadata.end()) {
    int hops = 0;
    if (absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &hops) && hops > 0) {
      from.hops = std::min(hops, kMaxForwardHops);
    }
  }
  return from;
}

Caller CallerOf(const grpc::ServerContextBase& context) {
  Caller caller;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    std::string_view value(it->second.data(), it->second.size());
    if (value.size() >= kBearerPrefix.size() &&
        absl::EqualsIgnoreCase(absl::string_view(value.data(), kBearerPrefix.size()),
                               absl::string_view(kBearerPrefix.data(), kBearerPrefix.size()))) {
      value.remove_prefix(kBearerPrefix.size());
    }
    caller.bearer = std::string(value);
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr) {
    for (const grpc::string_ref& subject : auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME)) {
      caller.cert_subject.assign(subject.data(), subject.size());
    }
  }
  return caller;
}

CallGate::CallGate(ServiceEnv& env, const Caller* caller, Rpc rpc) : env_(env) {
  env_.active_calls.fetch_add(1);
  if (env_.authorizer != nullptr && caller != nullptr) {
    admission_ = env_.authorizer->Admit(*caller, rpc);
  }
}

absl::Status CallGate::AdmitQueue(std::string_view queue) const {
  return env_.authorizer == nullptr ? absl::OkStatus() : env_.authorizer->AdmitQueue(admission_, queue);
}

namespace {
std::optional<Caller> CallerIfAny(grpc::ServerContextBase* context) {
  return context == nullptr ? std::nullopt : std::optional<Caller>(CallerOf(*context));
}
}  // namespace

CallGuard::CallGuard(ServiceEnv& env, grpc::ServerContextBase* context, Rpc rpc)
    : context_(context), caller_(CallerIfAny(context)), gate_(env, caller_.has_value() ? &*caller_ : nullptr, rpc) {}

absl::Status LongWaitSlot::status() const {
  if (held_) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(absl::StrCat("ThrottlingException: ", env_.long_waits->max(),
                                                   " calls already wait for executions (StartSync, "
                                                   "WatchHistory); retry later"));
}

absl::Status RequireField(const std::string& value, const char* field) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: ", field, " is required"));
  }
  return absl::OkStatus();
}

absl::Status CheckTextLimit(const std::string& value, const char* field, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < value.size();) {
    unsigned char lead = static_cast<unsigned char>(value[i]);
    std::size_t n = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : (lead >> 3) == 0x1e ? 4 : 0;
    bool valid = n != 0 && i + n <= value.size();
    for (std::size_t k = 1; valid && k < n; ++k) {
      valid = (static_cast<unsigned char>(value[i + k]) & 0xc0) == 0x80;
    }
    if (!valid) {
      return absl::InvalidArgumentError(
          absl::StrCat("ValidationException: ", field, " is not valid UTF-8 (at byte ", i, ")"));
    }
    i += n;
    ++chars;
  }
  if (chars > max_chars) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: ", field, " is ", chars,
                                                   " characters long; the limit is ", max_chars));
  }
  return absl::OkStatus();
}

absl::Status CheckByteLimit(const std::string& value, const char* field, std::size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: ", field, " is ", value.size(),
                                                   " bytes long; the limit is ", max_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PageSize(int requested, int default_size) {
  if (requested < 0 || requested > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: page_size must be between 0 and ",
                                                   kMaxPageSize, ", not ", requested));
  }
  return requested == 0 ? default_size : requested;
}

absl::Status CheckNotStopping(const ServiceEnv& env) {
  if (env.stopping.load()) {
    return absl::UnavailableError("ServiceUnavailable: the server is shutting down");
  }
  return absl::OkStatus();
}

std::optional<common::EpochMillis> CallDeadline(const grpc::ServerContextBase& context) {
  auto deadline = context.deadline();
  auto now = std::chrono::system_clock::now();
  if (deadline - now > kNoDeadline) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline.time_since_epoch()).count();
}

common::EpochMillis NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace stepflow::api
