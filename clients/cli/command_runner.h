#pragma once
// `stepflow worker`'s handler: runs a command for one task and turns what it did into a TaskResult.
//
// The command is run directly (posix_spawnp: PATH lookup, no shell) in a process group of its own (so a
// Ctrl-C meant for the worker does not reach it; the worker drains instead), with
//   stdin   the task's input, JSON text
//   env     the worker's, plus STEPFLOW_TASK_TOKEN, STEPFLOW_QUEUE, STEPFLOW_EXECUTION_ARN,
//           STEPFLOW_STATE_NAME and STEPFLOW_ATTEMPT
//   stderr  copied to the worker's stderr as it comes
// and its outcome becomes:
//   exit 0, stdout JSON          the output (stdout empty or only whitespace: {})
//   exit 0, stdout not JSON      Worker.InvalidOutput (cause: the parse error; also when stdout is larger
//                                than max_output_bytes)
//   exit N != 0                  the error and cause of the last stderr line when it is a JSON object
//                                {"error": "...", "cause": "..."} ("cause" optional), else Worker.ExitCode
//                                with the cause "the command exited with status N: LAST STDERR LINE"
//   killed by a signal           Worker.Signal (cause names the signal, and the cancellation if it was ours)
//   cannot be started            Worker.SpawnFailed (cause: the command and errno's text)
// When the task is cancelled (TaskContext), the command's process group gets SIGTERM, then SIGKILL after
// kill_grace.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "clients/cpp/worker.h"

namespace stepflow::cli {

struct CommandOptions {
  // Between SIGTERM and SIGKILL when the task is cancelled. Default: 5 s.
  std::chrono::milliseconds kill_grace{5000};
  // Largest stdout kept; more fails the task (Worker.InvalidOutput). Default: 8 MiB, the server's largest
  // message.
  std::size_t max_output_bytes = std::size_t{8} << 20;
  // Copy the command's stderr to the worker's stderr. Default: true.
  bool forward_stderr = true;
};

// Runs `argv` (argv[0] the program) for the task of `context`. Blocks until the command has exited and
// been reaped. Thread-safe: runs for many tasks at once. Ignores SIGPIPE in the process (once), so that a
// command that does not read its stdin cannot kill the worker.
client::TaskResult RunTaskCommand(const std::vector<std::string>& argv, client::TaskContext& context,
                                  const CommandOptions& options = {});

}  // namespace stepflow::cli
