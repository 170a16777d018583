// stepflow worker --queue NAME [--concurrency N] [--identity ID] [--drain-timeout SECONDS]
//                 [--kill-grace SECONDS] -- COMMAND ARGS...
// Runs COMMAND once per task of the queue (clients/cli/command_runner.h says how), on the worker SDK.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/cli/cli_util.h"
#include "clients/cli/command_runner.h"
#include "clients/cli/remote.h"
#include "clients/cpp/worker.h"

namespace stepflow::cli {
namespace {

constexpr char kVerb[] = "worker";

absl::Status CheckPositiveSeconds(const RemoteArgs& args, const std::string& option, bool allow_zero) {
  int value = 0;
  if (args.Has(option) && (!absl::SimpleAtoi(args.Get(option), &value) || value < (allow_zero ? 0 : 1))) {
    const char* kind = allow_zero ? "non-negative" : "positive";
    return absl::InvalidArgumentError(
        absl::StrCat(option, " must be a ", kind, " integer, not '", args.Get(option), "'"));
  }
  return absl::OkStatus();
}

absl::Status CheckWorker(const RemoteArgs& args) {
  if (args.Get("--queue").empty()) {
    return absl::InvalidArgumentError("--queue NAME is required");
  }
  for (const auto& [option, zero] : {std::pair<const char*, bool>{"--concurrency", false},
                                     {"--drain-timeout", true},
                                     {"--kill-grace", true}}) {
    if (absl::Status s = CheckPositiveSeconds(args, option, zero); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

int IntOption(const RemoteArgs& args, const std::string& option, int fallback) {
  int value = fallback;
  if (args.Has(option)) {
    (void)absl::SimpleAtoi(args.Get(option), &value);  // checked by CheckWorker
  }
  return value;
}

// Log lines on stderr: "2024-01-02T03:04:05.678Z stepflow worker: message".
void LogLine(client::LogSeverity severity, const std::string& message) {
  std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  const char* level = severity == client::LogSeverity::kError     ? "error: "
                      : severity == client::LogSeverity::kWarning ? "warning: "
                                                                  : "";
  std::fprintf(stderr, "%s stepflow worker: %s%s\n", time.c_str(), level, message.c_str());
}

int Serve(const RemoteArgs& args, client::Client& client, const std::vector<std::string>& command) {
  client::WorkerOptions options;
  options.identity = args.Get("--identity");
  options.concurrency = IntOption(args, "--concurrency", 1);
  options.drain_timeout = std::chrono::seconds(IntOption(args, "--drain-timeout", 30));
  options.log = LogLine;
  CommandOptions command_options;
  command_options.kill_grace = std::chrono::seconds(IntOption(args, "--kill-grace", 5));
  client::Worker worker(client, options);
  const std::string queue = args.Get("--queue");
  absl::Status s = worker.Handle(queue, [&](client::TaskContext& context, const boost::json::value&) {
    return RunTaskCommand(command, context, command_options);
  });
  if (!s.ok()) {
    return ReportFailure(args.verb, s);
  }
  LogLine(client::LogSeverity::kInfo,
          absl::StrCat("polling queue ", queue, " on ", client.address(), " (concurrency ",
                       options.concurrency, ", command ", command[0], "); SIGTERM or Ctrl-C drains"));
  s = worker.Run();
  if (!s.ok()) {
    return ReportFailure(args.verb, s);
  }
  LogLine(client::LogSeverity::kInfo, "stopped");
  return kExitOk;
}

}  // namespace

int WorkerCommand(const std::vector<std::string>& args) {
  std::vector<std::string> options;
  std::vector<std::string> command;
  bool after_separator = false;
  for (const std::string& arg : args) {
    if (!after_separator && arg == "--") {
      after_separator = true;
    } else if (after_separator) {
      command.push_back(arg);
    } else {
      options.push_back(arg);
    }
  }
  if (command.empty()) {
    return ReportUsage(kVerb,
                       absl::InvalidArgumentError("missing '-- COMMAND ARGS...' (the command to run)"));
  }
  VerbSpec spec{kVerb, {"--queue", "--concurrency", "--identity", "--drain-timeout", "--kill-grace"}, {}, 0,
                CheckWorker};
  return RunRemote(spec, options, [&](const RemoteArgs& parsed, client::Client& client) {
    return Serve(parsed, client, command);
  });
}

}  // namespace stepflow::cli
