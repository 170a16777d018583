#pragma once
// Child processes for the integration tests: the real `stepflow server` (started, read for its listening
// line, stopped by signal, killed when a test fails or the test binary dies) and one-shot CLI runs.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stepflow::itest {

// The stepflow binary under test (set by CMake).
std::string StepflowBinary();

// A fresh directory under the test temp dir; removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A running `stepflow server`. The destructor kills it (SIGKILL) if it is still running; the child also gets
// SIGKILL if the test process dies (PR_SET_PDEATHSIG), so no server outlives its test.
class ServerProcess {
 public:
  // Starts `stepflow server --data-dir DATA_DIR --grpc-address 127.0.0.1:0 --http-address 127.0.0.1:0
  // EXTRA...` with `env` added to the environment, and waits (at most `timeout`) for "stepflow server
  // listening on ADDR" and then "stepflow server http on ADDR" on its stdout.
  // stderr goes to DATA_DIR/../server-N.log (see log()).
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& data_dir, const std::vector<std::string>& extra_args = {},
      const std::map<std::string, std::string>& env = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~ServerProcess();

  const std::string& address() const { return address_; }        // gRPC, "127.0.0.1:PORT"
  const std::string& http_address() const { return http_address_; }  // HTTP, "127.0.0.1:PORT"
  pid_t pid() const { return pid_; }

  // Sends `signal` and waits for the exit (at most `timeout`, then SIGKILL). Returns the exit status, or
  // 128 + signal number when it died of a signal; -1 when it had to be killed.
  int Stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The server's stderr so far.
  std::string log() const;
  // Waits until the log holds `text` (a line logged after the server listens, such as the end of recovery);
  // false when `timeout` passed first.
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

 private:
  ServerProcess() = default;

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string address_;
  std::string http_address_;
  std::string log_path_;
};

struct CliResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs `stepflow ARGS...` to its end (at most `timeout`, then SIGKILL), capturing stdout and stderr.
CliResult RunCli(const std::vector<std::string>& args,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace stepflow::itest
