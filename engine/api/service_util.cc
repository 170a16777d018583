#include "engine/api/service_util.h"

#include "absl/strings/str_cat.h"

namespace stepflow::api {
namespace {

// A deadline further away than this is "no deadline" (gRPC reports an infinite one as time_point::max()).
constexpr std::chrono::hours kNoDeadline{24 * 365 * 100};

}  // namespace

absl::Status RequireField(const std::string& value, const char* field) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: ", field, " is required"));
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
