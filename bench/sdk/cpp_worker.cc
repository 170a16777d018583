// The no-op W3 worker of the C++ SDK (clients/cpp/worker.h), run by task_bench --worker-command:
//   cpp_worker ADDRESS QUEUE CONCURRENCY
// Serves QUEUE with `concurrency` handler slots, each handler returning its input, prints "ready" once the
// worker polls, and drains on SIGTERM (Worker::Run). Exit status 0 when the drain reported every task.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "clients/cpp/client.h"
#include "clients/cpp/worker.h"

int main(int argc, char** argv) {
  if (argc != 4 || std::atoi(argv[3]) < 1) {
    std::fprintf(stderr, "usage: cpp_worker ADDRESS QUEUE CONCURRENCY (>= 1)\n");
    return 2;
  }
  auto client = stepflow::client::Client::Connect(argv[1], std::chrono::seconds(10));
  if (!client.ok()) {
    std::fprintf(stderr, "cpp_worker: %s\n", client.status().ToString().c_str());
    return 1;
  }
  stepflow::client::WorkerOptions options;
  options.concurrency = std::atoi(argv[3]);
  options.identity = "bench-cpp-sdk";
  stepflow::client::Worker worker(**client, options);
  absl::Status handled = worker.Handle(
      argv[2], [](stepflow::client::TaskContext&, const boost::json::value& input) -> stepflow::client::TaskResult {
        return input;
      });
  if (!handled.ok()) {
    std::fprintf(stderr, "cpp_worker: %s\n", handled.ToString().c_str());
    return 1;
  }
  // Run() starts polling before it waits; "ready" may precede the first poll by a moment, which the
  // benchmark's warmup covers.
  std::printf("ready\n");
  std::fflush(stdout);
  absl::Status s = worker.Run();
  if (!s.ok()) {
    std::fprintf(stderr, "cpp_worker: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
