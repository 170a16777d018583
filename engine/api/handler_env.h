#pragma once
// What the transport-neutral handlers (handlers.h) share, and the request checks every handler makes the
// same way (internal to engine/api). No gRPC or HTTP type appears here: both transports include it.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/api/auth.h"
#include "engine/api/long_waits.h"
#include "engine/engine.h"

namespace stepflow::api {

// How long one blocking engine wait (WaitForCompletion, WaitForHistory) may last before the handler looks
// again at cancellation and shutdown: the longest a cancelled or shut-down call lingers.
inline constexpr std::chrono::milliseconds kWaitSlice{250};

// Page sizes (proto/stepflow/v1/stepflow.proto).
inline constexpr int kDefaultListPageSize = 100;
inline constexpr int kDefaultHistoryPageSize = 1000;
inline constexpr int kMaxPageSize = 1000;

class PollPump;
class Forwarder;

// What the services share. Thread-safe: the atomics are sequentially consistent (see CallGuard), the rest is
// set before the server starts.
struct ServiceEnv {
  engine::Engine* engine = nullptr;  // not owned
  const Authorizer* authorizer = nullptr;  // not owned; nullptr = every call allowed
  PollPump* poll_pump = nullptr;     // not owned; parks long polls (poll_pump.h)
  // Cluster mode: sends calls served by another node there (forwarding.h); nullptr = never forwarded.
  std::shared_ptr<Forwarder> forwarder;
  std::atomic<bool> stopping{false};
  std::atomic<int> active_calls{0};  // handlers running now
  // Calls that wait for an execution (StartSync, WatchHistory) hold a thread each while they wait: at most
  // long_waits->max() at once, whatever the transport; more are refused with ResourceExhausted
  // (ThrottlingException). Not owned: the server's shared budget, or own_long_waits.
  LongWaitBudget* long_waits = nullptr;
  std::unique_ptr<LongWaitBudget> own_long_waits;
  // Uses `shared` when given, else a budget of its own of `max` places.
  void SetLongWaits(LongWaitBudget* shared, int max) {
    if (shared == nullptr) {
      own_long_waits = std::make_unique<LongWaitBudget>(max);
      shared = own_long_waits.get();
    }
    long_waits = shared;
  }
};

// The one gate of every call, whatever its transport: counts the call as running for the gate's whole life,
// and decides whether `caller` may make `rpc` (env.authorizer; auth.h). Every handler makes one first, before
// it looks at `stopping`: Server::Shutdown sets `stopping` and then waits for `active_calls` to drop to 0, so
// a handler either is waited for or sees `stopping` (both are seq_cst). A refused call must answer the refusal
// at once, before it reads or changes anything. `caller` nullptr = not checked (in-process use).
class CallGate {
 public:
  CallGate(ServiceEnv& env, const Caller* caller, Rpc rpc);
  ~CallGate() { env_.active_calls.fetch_sub(1); }
  CallGate(const CallGate&) = delete;
  CallGate& operator=(const CallGate&) = delete;

  bool admitted() const { return admission_.status.ok(); }
  const Admission& admission() const { return admission_; }
  // PermissionDenied unless the caller may poll `queue` (worker tokens name their queues).
  absl::Status AdmitQueue(std::string_view queue) const;

 private:
  ServiceEnv& env_;
  Admission admission_;
};

// A place in env.long_waits for a call that waits for an execution; released by the destructor.
class LongWaitSlot {
 public:
  explicit LongWaitSlot(ServiceEnv& env) : env_(env), held_(env_.long_waits->TryAcquire()) {}
  ~LongWaitSlot() {
    if (held_) {
      env_.long_waits->Release();
    }
  }
  LongWaitSlot(const LongWaitSlot&) = delete;
  LongWaitSlot& operator=(const LongWaitSlot&) = delete;
  // OK, or ResourceExhausted "ThrottlingException: ..." when the bound is reached.
  absl::Status status() const;

 private:
  ServiceEnv& env_;
  bool held_;
};

// InvalidArgument "ValidationException: FIELD is required" when `value` is empty.
absl::Status RequireField(const std::string& value, const char* field);

// Limits of the text a caller reports (README "Limits"): AWS's for a task's error and cause (also
// StopExecution's), and a documented one for the worker identity (AWS's workerName is shorter, 80).
inline constexpr std::size_t kMaxErrorNameChars = 256;
inline constexpr std::size_t kMaxCauseBytes = 32 * 1024;
inline constexpr std::size_t kMaxWorkerIdentityChars = 256;
inline constexpr std::size_t kMaxQueueNameBytes = 1024;

// InvalidArgument "ValidationException: FIELD is N characters long; the limit is MAX" when `value` has
// more than `max_chars` characters (UTF-8 code points), or "... is not valid UTF-8".
absl::Status CheckTextLimit(const std::string& value, const char* field, std::size_t max_chars);
// The same in bytes.
absl::Status CheckByteLimit(const std::string& value, const char* field, std::size_t max_bytes);

// `requested` (0 = `default_size`), or InvalidArgument when it is negative or above kMaxPageSize.
absl::StatusOr<int> PageSize(int requested, int default_size);

// Unavailable "ServiceUnavailable: the server is shutting down" once shutdown began, else OK.
absl::Status CheckNotStopping(const ServiceEnv& env);

// The current system time in epoch milliseconds.
common::EpochMillis NowMillis();

}  // namespace stepflow::api
