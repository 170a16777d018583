// stepflow exec start|describe|history|list|stop|describe-sm|redrive: executions on a running server.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clients/cli/cli_util.h"
#include "clients/cli/remote.h"

namespace stepflow::cli {
namespace {

// StartSync's wait when --timeout is not given: AWS's limit for synchronous (EXPRESS) executions.
constexpr int kDefaultSyncTimeoutSeconds = 300;

// Prints the execution, or reports the error.
int Answer(const RemoteArgs& args, const absl::StatusOr<v1::Execution>& e) {
  if (!e.ok()) {
    return ReportFailure(args.verb, e.status());
  }
  PrintExecution(args, *e);
  return kExitOk;
}

absl::Status CheckStart(const RemoteArgs& args) {
  if (args.Has("--input") && args.Has("--input-json")) {
    return absl::InvalidArgumentError("give --input FILE or --input-json TEXT, not both");
  }
  int seconds = 0;
  if (args.Has("--timeout") && (!absl::SimpleAtoi(args.Get("--timeout"), &seconds) || seconds <= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout must be a positive number of seconds, not '", args.Get("--timeout"), "'"));
  }
  if (args.Has("--timeout") && !args.Has("--sync")) {
    return absl::InvalidArgumentError("--timeout goes with --sync");
  }
  return absl::OkStatus();
}

int Start(const RemoteArgs& args, client::Client& client) {
  std::string input = args.Get("--input-json");
  if (args.Has("--input")) {
    absl::StatusOr<std::string> text = ReadFile(args.Get("--input"), kMaxInputFileBytes);
    if (!text.ok()) {
      return ReportUsage(args.verb, text.status());
    }
    input = *text;
  }
  const std::string& sm = args.positionals[0];
  std::string name = args.Get("--name");
  if (!args.Has("--sync")) {
    return Answer(args, client.StartExecution(sm, input, name));
  }
  int seconds = kDefaultSyncTimeoutSeconds;
  if (args.Has("--timeout")) {
    (void)absl::SimpleAtoi(args.Get("--timeout"), &seconds);  // checked by CheckStart
  }
  absl::StatusOr<v1::Execution> e = client.StartSyncExecution(sm, input, name, std::chrono::seconds(seconds));
  int status = Answer(args, e);
  if (status == kExitOk && e->status() != v1::SUCCEEDED) {
    std::fprintf(stderr, "stepflow %s: the execution ended %s\n", args.verb.c_str(),
                 StatusName(e->status()).c_str());
    return kExitExecutionFailed;
  }
  return status;
}

// `exec describe ARN`, or `exec describe --state-machine SM NAME` (by name, without the ARN).
int Describe(const RemoteArgs& args, client::Client& client) {
  if (args.Has("--state-machine")) {
    return Answer(args, client.DescribeExecutionByName(args.Get("--state-machine"), args.positionals[0]));
  }
  return Answer(args, client.DescribeExecution(args.positionals[0]));
}

absl::Status CheckHistory(const RemoteArgs& args) {
  if (args.Has("--reverse") && args.Has("--follow")) {
    return absl::InvalidArgumentError("--reverse and --follow do not go together");
  }
  return absl::OkStatus();
}

// Follows a running execution: table rows or JSON lines as the events come.
int Follow(const RemoteArgs& args, client::Client& client) {
  // Rows are printed as they come, so the columns have fixed widths.
  auto print_row = [](const std::vector<std::string>& row) {
    std::printf("%-6s %-34s %-24s %s\n", row[0].c_str(), row[1].c_str(), row[2].c_str(), row[3].c_str());
  };
  if (args.output == Output::kTable) {
    print_row({"ID", "TYPE", "TIMESTAMP", "DETAILS"});
  }
  absl::Status s = client.WatchExecutionHistory(args.positionals[0], 0, [&](const v1::HistoryEvent& event) {
    if (args.output == Output::kJson) {
      PrintJson(ToJson(event));
    } else {
      print_row(HistoryRow(event));
    }
    std::fflush(stdout);
    return true;
  });
  if (!s.ok()) {
    return ReportFailure(args.verb, s);
  }
  return kExitOk;
}

int History(const RemoteArgs& args, client::Client& client) {
  if (args.Has("--follow")) {
    return Follow(args, client);
  }
  absl::StatusOr<std::vector<v1::HistoryEvent>> events =
      client.GetExecutionHistory(args.positionals[0], args.Has("--reverse"));
  if (!events.ok()) {
    return ReportFailure(args.verb, events.status());
  }
  if (args.output == Output::kJson) {
    boost::json::array out;
    for (const v1::HistoryEvent& event : *events) {
      out.push_back(ToJson(event));
    }
    PrintJson(out);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::HistoryEvent& event : *events) {
    rows.push_back(HistoryRow(event));
  }
  PrintTable({"ID", "TYPE", "TIMESTAMP", "DETAILS"}, rows);
  return kExitOk;
}

absl::Status CheckList(const RemoteArgs& args) {
  v1::ExecutionStatus status;
  if (args.Has("--status") && !v1::ExecutionStatus_Parse(args.Get("--status"), &status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--status must be RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or QUARANTINED, not '",
                     args.Get("--status"), "'"));
  }
  return absl::OkStatus();
}

int List(const RemoteArgs& args, client::Client& client) {
  v1::ListExecutionsRequest request;
  request.set_state_machine(args.Get("--state-machine"));
  if (args.Has("--status")) {
    v1::ExecutionStatus status = v1::EXECUTION_STATUS_UNSPECIFIED;
    v1::ExecutionStatus_Parse(args.Get("--status"), &status);  // checked by CheckList
    request.set_status(status);
  }
  absl::StatusOr<std::vector<v1::Execution>> all = client.ListAllExecutions(request);
  if (!all.ok()) {
    return ReportFailure(args.verb, all.status());
  }
  if (args.output == Output::kJson) {
    boost::json::array out;
    for (const v1::Execution& e : *all) {
      out.push_back(ToJson(e));
    }
    PrintJson(out);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::Execution& e : *all) {
    rows.push_back({e.name(), StatusName(e.status()), FormatTime(e.start_date()),
                    e.has_stop_date() ? FormatTime(e.stop_date()) : "-", e.arn()});
  }
  PrintTable({"NAME", "STATUS", "STARTED", "STOPPED", "ARN"}, rows);
  return kExitOk;
}

int Stop(const RemoteArgs& args, client::Client& client) {
  return Answer(args, client.StopExecution(args.positionals[0], args.Get("--error"), args.Get("--cause")));
}

int DescribeStateMachine(const RemoteArgs& args, client::Client& client) {
  absl::StatusOr<v1::StateMachine> sm = client.DescribeStateMachineForExecution(args.positionals[0]);
  if (!sm.ok()) {
    return ReportFailure(args.verb, sm.status());
  }
  PrintStateMachine(args, *sm, /*with_definition=*/true);
  return kExitOk;
}

int Redrive(const RemoteArgs& args, client::Client& client) {
  return Answer(args, client.RedriveExecution(args.positionals[0]));
}

}  // namespace

int ExecCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    return ReportUsage("exec", absl::InvalidArgumentError("missing verb: start, describe, history, list, "
                                                          "stop, describe-sm or redrive"));
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& verb = args[0];
  if (verb == "start") {
    return RunRemote(
        {"exec start", {"--name", "--input", "--input-json", "--timeout"}, {"--sync"}, 1, CheckStart}, rest,
        Start);
  }
  if (verb == "describe") {
    return RunRemote({"exec describe", {"--state-machine"}, {}, 1, nullptr}, rest, Describe);
  }
  if (verb == "history") {
    return RunRemote({"exec history", {}, {"--reverse", "--follow"}, 1, CheckHistory}, rest, History);
  }
  if (verb == "list") {
    return RunRemote({"exec list", {"--state-machine", "--status"}, {}, 0, CheckList}, rest, List);
  }
  if (verb == "stop") {
    return RunRemote({"exec stop", {"--error", "--cause"}, {}, 1, nullptr}, rest, Stop);
  }
  if (verb == "describe-sm") {
    return RunRemote({"exec describe-sm", {}, {}, 1, nullptr}, rest, DescribeStateMachine);
  }
  if (verb == "redrive") {
    return RunRemote({"exec redrive", {}, {}, 1, nullptr}, rest, Redrive);
  }
  return ReportUsage("exec", absl::InvalidArgumentError(absl::StrCat("unknown verb '", verb, "'")));
}

}  // namespace stepflow::cli
