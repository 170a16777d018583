// W4's state machine, failure rule and attempt counts, shared by task_bench's worker threads and the C++ SDK's
// bench worker (bench/sdk/cpp_worker.cc w4-fail), so that both fail the same attempts and count them alike.
#ifndef STEPFLOW_BENCH_W4_RULE_H_
#define STEPFLOW_BENCH_W4_RULE_H_

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace stepflow::bench {

// The Task states of a W4 execution, T0 to T9.
inline constexpr int kW4Steps = 10;
// W4's Retry MaxAttempts: a task's attempts are numbered 0 to this; the failure of the last ends its execution
// (the definition has no Catch).
inline constexpr int kW4MaxAttempts = 2;

// The error name of the attempts the workers fail on purpose.
inline constexpr char kW4FailError[] = "Bench.Failure";

// 1% of the tasks always fail: state T9 of every 10th execution.
inline bool W4AlwaysFails(int execution, int step) { return (execution * kW4Steps + step) % 100 == 99; }

// The execution's number: its name is "x<i>", what follows the ARN's last ':'.
inline int W4Execution(const std::string& execution_arn) {
  const std::size_t colon = execution_arn.rfind(':');
  const std::string name = colon == std::string::npos ? execution_arn : execution_arn.substr(colon + 1);
  return std::atoi(name.c_str() + (name.empty() ? 0 : 1));
}

// The step of state "T<s>".
inline int W4Step(const std::string& state_name) {
  return std::atoi(state_name.c_str() + (state_name.empty() ? 0 : 1));
}

// Whether an attempt fails in a run with failures: every task's first attempt, and every attempt of the 1%.
inline bool W4AttemptFails(const std::string& execution_arn, const std::string& state_name, int attempt) {
  return attempt == 0 || W4AlwaysFails(W4Execution(execution_arn), W4Step(state_name));
}

// Whether a task's report ends its execution: a last attempt's failure, or the last step's completion.
inline bool W4EndsExecution(const std::string& state_name, int attempt, bool failed) {
  return failed ? attempt == kW4MaxAttempts : W4Step(state_name) == kW4Steps - 1;
}

// W4's attempts as a worker sees them (task_bench's worker threads, the C++ SDK's bench worker): how many, how
// many were retries, and each retry's delay from the moment its task's previous attempt was failed. Thread-safe.
class W4Attempts {
 public:
  using Clock = std::chrono::steady_clock;

  // Counts an attempt of (execution_arn, state_name); true when it is to fail (with `failures`: the attempts of
  // W4AttemptFails). The caller fails it at once: its retry's delay counts from this call.
  bool Attempt(const std::string& execution_arn, const std::string& state_name, int attempt, bool failures) {
    const Clock::time_point now = Clock::now();
    const std::string key = execution_arn + "/" + state_name;
    const bool fails = failures && W4AttemptFails(execution_arn, state_name, attempt);
    std::lock_guard<std::mutex> lock(mu_);
    ++attempts_;
    if (attempt > 0) {
      ++retries_;
      auto it = failed_at_.find(key);
      if (it != failed_at_.end() && attempt <= kW4MaxAttempts) {
        delays_ms_[attempt].push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      }
    }
    if (fails) {
      failed_at_[key] = now;
    }
    return fails;
  }

  long attempts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_;
  }
  long retries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return retries_;
  }
  // The delays in ms of the retries numbered `retry` (1 to kW4MaxAttempts), in the order they came.
  std::vector<double> delays_ms(int retry) const {
    std::lock_guard<std::mutex> lock(mu_);
    return retry >= 1 && retry <= kW4MaxAttempts ? delays_ms_[retry] : std::vector<double>();
  }

 private:
  mutable std::mutex mu_;
  long attempts_ = 0;                                   // guarded by mu_
  long retries_ = 0;                                    // guarded by mu_
  std::map<std::string, Clock::time_point> failed_at_;  // guarded by mu_: "arn/state" -> its last failed attempt
  std::vector<double> delays_ms_[kW4MaxAttempts + 1];   // guarded by mu_: by retry number
};

}  // namespace stepflow::bench

#endif  // STEPFLOW_BENCH_W4_RULE_H_
