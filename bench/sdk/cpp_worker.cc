// The C++ SDK's bench worker (clients/cpp/worker.h), run by task_bench --worker-command:
//   cpp_worker ADDRESS QUEUE CONCURRENCY [w4-fail | w4-complete]
// Serves QUEUE with `concurrency` handler slots, prints "ready" once the worker polls, and drains on SIGTERM
// (Worker::Run). Exit status 0 when the drain reported every task.
// Without a mode (W3, W2): each handler returns its input.
// w4-fail: each handler fails the attempts of bench/w4_rule.h (error kW4FailError) and returns its input
// otherwise; w4-complete returns its input always (W4's run without failures). In both W4 modes the worker
// prints "ended" when it has handled the last report of an execution (a last step's completion, a last
// attempt's failure), and, as its last line once the drain is over, "w4 attempts=N retries=M delays1=MS,...
// delays2=MS,...": each retry's delay from the failed attempt's handler call (which fails it at once) to the
// retry's (bench::W4Attempts).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/w4_rule.h"
#include "clients/cpp/client.h"
#include "clients/cpp/worker.h"

namespace {

namespace bench = stepflow::bench;
namespace sdk = stepflow::client;

// The worker's last line: "w4 attempts=N retries=M delays1=MS,... delays2=MS,...".
std::string W4Line(const bench::W4Attempts& counts) {
  auto ms = [](std::string* out, double d) { absl::StrAppend(out, static_cast<long>(d + 0.5)); };
  return absl::StrCat("w4 attempts=", counts.attempts(), " retries=", counts.retries(),
                      " delays1=", absl::StrJoin(counts.delays_ms(1), ",", ms),
                      " delays2=", absl::StrJoin(counts.delays_ms(2), ",", ms));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 5 ? argv[4] : "";
  if (argc < 4 || argc > 5 || std::atoi(argv[3]) < 1 || (argc == 5 && mode != "w4-fail" && mode != "w4-complete")) {
    std::fprintf(stderr, "usage: cpp_worker ADDRESS QUEUE CONCURRENCY (>= 1) [w4-fail | w4-complete]\n");
    return 2;
  }
  auto client = sdk::Client::Connect(argv[1], std::chrono::seconds(10));
  if (!client.ok()) {
    std::fprintf(stderr, "cpp_worker: %s\n", client.status().ToString().c_str());
    return 1;
  }
  sdk::WorkerOptions options;
  options.concurrency = std::atoi(argv[3]);
  options.identity = "bench-cpp-sdk";
  sdk::Worker worker(**client, options);
  bench::W4Attempts counts;
  const bool w4 = !mode.empty();
  const bool failures = mode == "w4-fail";
  absl::Status handled = worker.Handle(
      argv[2], [&](sdk::TaskContext& ctx, const boost::json::value& input) -> sdk::TaskResult {
        if (!w4) {
          return input;
        }
        const bool fail = counts.Attempt(ctx.execution_arn(), ctx.state_name(), ctx.attempt(), failures);
        if (bench::W4EndsExecution(ctx.state_name(), ctx.attempt(), fail)) {
          std::printf("ended\n");
          std::fflush(stdout);
        }
        if (fail) {
          return sdk::TaskError{bench::kW4FailError, "cpp_worker fails this attempt on purpose"};
        }
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
  if (w4) {
    std::printf("%s\n", W4Line(counts).c_str());
    std::fflush(stdout);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "cpp_worker: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
