#pragma once
// Shared by the gRPC services of engine/api (internal to engine/api): what every handler needs besides the
// engine, and the request checks every handler makes the same way.

#include <grpcpp/server_context.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/api/error_mapping.h"
#include "engine/engine.h"

namespace stepflow::api {

// How long one blocking engine wait (WaitForCompletion, WaitForHistory) may last before the handler looks
// again at cancellation and shutdown: the longest a cancelled or shut-down call lingers.
inline constexpr std::chrono::milliseconds kWaitSlice{250};

// Page sizes (proto/stepflow/v1/stepflow.proto).
inline constexpr int kDefaultListPageSize = 100;
inline constexpr int kDefaultHistoryPageSize = 1000;
inline constexpr int kMaxPageSize = 1000;

// What the services share. Thread-safe: the atomics are sequentially consistent (see CallGuard), the rest is
// set before the server starts.
struct ServiceEnv {
  engine::Engine* engine = nullptr;  // not owned
  std::atomic<bool> stopping{false};
  std::atomic<int> active_calls{0};  // handlers running now
};

// Counts a handler as running for its whole body. Every handler makes one first, before it looks at
// `stopping`: Server::Shutdown sets `stopping` and then waits for `active_calls` to drop to 0, so a handler
// either is waited for or sees `stopping` (both are seq_cst).
class CallGuard {
 public:
  explicit CallGuard(ServiceEnv& env) : env_(env) { env_.active_calls.fetch_add(1); }
  ~CallGuard() { env_.active_calls.fetch_sub(1); }
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;

 private:
  ServiceEnv& env_;
};

// InvalidArgument "ValidationException: FIELD is required" when `value` is empty.
absl::Status RequireField(const std::string& value, const char* field);

// `requested` (0 = `default_size`), or InvalidArgument when it is negative or above kMaxPageSize.
absl::StatusOr<int> PageSize(int requested, int default_size);

// Unavailable "ServiceUnavailable: the server is shutting down" once shutdown began, else OK.
absl::Status CheckNotStopping(const ServiceEnv& env);

// The call's deadline in epoch milliseconds, or nullopt when the call has none.
std::optional<common::EpochMillis> CallDeadline(const grpc::ServerContextBase& context);

// The current system time in epoch milliseconds.
common::EpochMillis NowMillis();

// Stores `result`'s value in `response` and answers OK, or answers with its error (ToGrpcStatus).
template <typename T>
grpc::Status Reply(grpc::ServerContextBase* context, absl::StatusOr<T> result, T* response) {
  if (!result.ok()) {
    return ToGrpcStatus(result.status(), context);
  }
  *response = std::move(result).value();
  return grpc::Status::OK;
}

}  // namespace stepflow::api
