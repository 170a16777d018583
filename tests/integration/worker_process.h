#pragma once
// Child processes for the worker integration tests and the crash test: `stepflow worker` processes (started
// with their stdout and stderr in a log file, stopped or killed by signal, killed when the test dies), and a
// free loopback port, so that a restarted server comes back where running workers poll.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stepflow::itest {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
absl::StatusOr<int> PickFreePort();
// `n` distinct such ports: all n sockets are bound before any is closed. (n calls of PickFreePort may answer
// the same port twice: the kernel may hand a port that was just closed out again.)
absl::StatusOr<std::vector<int>> PickFreePorts(int n);

// Writes an executable (0755) file.
absl::Status WriteExecutable(const std::string& path, const std::string& text);

// A child process running the stepflow binary. The destructor kills it (SIGKILL) if it still runs; it also
// gets SIGKILL when the test process dies (PR_SET_PDEATHSIG).
class StepflowProcess {
 public:
  // Runs `stepflow ARGS...` with `env` added to the environment; stdout and stderr are appended to
  // `log_path`.
  static absl::StatusOr<std::unique_ptr<StepflowProcess>> Spawn(const std::vector<std::string>& args,
                                                                const std::map<std::string, std::string>& env,
                                                                const std::string& log_path);
  ~StepflowProcess();
  StepflowProcess(const StepflowProcess&) = delete;
  StepflowProcess& operator=(const StepflowProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while it has not exited (reaps it when it has; exit_code() then tells how).
  bool Running();
  // The exit status once it exited (128 + signal when killed by one).
  std::optional<int> exit_code() const { return exit_code_; }
  // Sends `signal` without waiting.
  void Signal(int signal);
  // Sends `signal` and waits for the exit (at most `timeout`, then SIGKILL). Returns the exit status
  // (128 + signal when it died of one; -1 when it had to be killed after the timeout).
  int Stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Waits for the exit without signalling (at most `timeout`); the exit status, or nullopt if it still runs.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);
  // What it wrote so far.
  std::string log() const;

 private:
  StepflowProcess() = default;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

struct WorkerSpec {
  std::string server;                 // "127.0.0.1:PORT"
  std::string queue;
  std::string identity;               // --identity; "" = the worker's default
  int concurrency = 1;
  std::vector<std::string> command;   // COMMAND ARGS...
  std::vector<std::string> extra;     // more worker options (--kill-grace 1, ...)
  std::map<std::string, std::string> env;
};

// Starts `stepflow --server S worker --queue Q [--identity I] --concurrency N EXTRA... -- COMMAND...`.
absl::StatusOr<std::unique_ptr<StepflowProcess>> StartWorker(const WorkerSpec& spec, const std::string& log_path);

}  // namespace stepflow::itest
