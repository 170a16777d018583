// W4's state machine and failure rule, shared by task_bench's worker threads and the C++ SDK's bench worker
// (bench/sdk/cpp_worker.cc w4-fail), so that both fail the same attempts.
#ifndef STEPFLOW_BENCH_W4_RULE_H_
#define STEPFLOW_BENCH_W4_RULE_H_

#include <cstdlib>
#include <string>

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

}  // namespace stepflow::bench

#endif  // STEPFLOW_BENCH_W4_RULE_H_
