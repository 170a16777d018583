// stepflow dlq list|show|redrive|discard: the dead letters of a running server.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/cli/cli_util.h"
#include "clients/cli/remote.h"

namespace stepflow::cli {
namespace {

const std::set<std::string> kFilterOptions = {"--queue", "--state-machine", "--error", "--after", "--before"};

// RFC 3339 ("2024-05-01T12:00:00Z", offsets allowed) or a date ("2024-05-01", midnight UTC).
absl::StatusOr<google::protobuf::Timestamp> ParseTimeOption(const std::string& option,
                                                            const std::string& text) {
  absl::Time time;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &err) &&
      !absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &time, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, " must be a time like 2024-05-01T12:00:00Z or a date like 2024-05-01, not '",
                     text, "'"));
  }
  google::protobuf::Timestamp t;
  t.set_seconds(absl::ToUnixSeconds(time));
  t.set_nanos(static_cast<int>((time - absl::FromUnixSeconds(t.seconds())) / absl::Nanoseconds(1)));
  return t;
}

bool HasFilter(const RemoteArgs& args) {
  for (const std::string& option : kFilterOptions) {
    if (args.Has(option)) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<v1::DeadLetterFilter> Filter(const RemoteArgs& args) {
  v1::DeadLetterFilter filter;
  filter.set_queue(args.Get("--queue"));
  filter.set_state_machine(args.Get("--state-machine"));
  filter.set_error(args.Get("--error"));
  for (const char* option : {"--after", "--before"}) {
    if (!args.Has(option)) {
      continue;
    }
    absl::StatusOr<google::protobuf::Timestamp> t = ParseTimeOption(option, args.Get(option));
    if (!t.ok()) {
      return t.status();
    }
    bool after = std::string(option) == "--after";
    *(after ? filter.mutable_created_after() : filter.mutable_created_before()) = *t;
  }
  return filter;
}

absl::Status CheckFilter(const RemoteArgs& args) { return Filter(args).status(); }

// redrive/discard: an ID, or --all with optional filters (never both, never neither).
absl::Status CheckSelection(const RemoteArgs& args) {
  bool all = args.Has("--all");
  if (all == !args.positionals.empty()) {
    return absl::InvalidArgumentError(
        "give one dead-letter ID, or --all (with optional filters) for every entry matching");
  }
  if (!all && HasFilter(args)) {
    return absl::InvalidArgumentError("filters go with --all, not with an ID");
  }
  if (args.Has("--input") && args.Has("--input-file")) {
    return absl::InvalidArgumentError("give --input JSON or --input-file FILE, not both");
  }
  if (args.Has("--input")) {
    if (absl::Status s = ParseJson(args.Get("--input"), "--input").status(); !s.ok()) {
      return s;
    }
  }
  return CheckFilter(args);
}

int List(const RemoteArgs& args, client::Client& client) {
  absl::StatusOr<v1::DeadLetterFilter> filter = Filter(args);  // checked by CheckFilter
  absl::StatusOr<std::vector<v1::DeadLetter>> all = client.ListAllDeadLetters(*filter);
  if (!all.ok()) {
    return ReportFailure(args.verb, all.status());
  }
  if (args.output == Output::kJson) {
    boost::json::array out;
    for (const v1::DeadLetter& d : *all) {
      out.push_back(ToJson(d));
    }
    PrintJson(out);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::DeadLetter& d : *all) {
    rows.push_back(
        {d.id(), d.queue(), d.state_name(), d.error(), FormatTime(d.created()), d.execution_arn()});
  }
  PrintTable({"ID", "QUEUE", "STATE", "ERROR", "CREATED", "EXECUTION"}, rows);
  return kExitOk;
}

int Show(const RemoteArgs& args, client::Client& client) {
  absl::StatusOr<v1::DeadLetter> d = client.GetDeadLetter(args.positionals[0]);
  if (!d.ok()) {
    return ReportFailure(args.verb, d.status());
  }
  if (args.output == Output::kJson) {
    PrintJson(ToJson(*d));
    return kExitOk;
  }
  PrintFields({{"id", d->id()},
               {"queue", d->queue()},
               {"execution", d->execution_arn()},
               {"state machine", d->state_machine_arn()},
               {"state", d->state_name()},
               {"created", FormatTime(d->created())},
               {"error", d->error()},
               {"cause", d->cause()},
               {"input", d->input()}});
  std::vector<std::vector<std::string>> rows;
  for (const v1::TaskAttempt& a : d->attempts()) {
    rows.push_back({std::to_string(a.attempt()), a.worker_identity().empty() ? "-" : a.worker_identity(),
                    a.has_started() ? FormatTime(a.started()) : "-",
                    a.has_ended() ? FormatTime(a.ended()) : "-", a.error(), a.cause()});
  }
  std::printf("attempts:\n");
  PrintTable({"ATTEMPT", "WORKER", "STARTED", "ENDED", "ERROR", "CAUSE"}, rows);
  return kExitOk;
}

// Prints the outcomes; exit 1 when any entry failed.
int Outcomes(const RemoteArgs& args,
             const google::protobuf::RepeatedPtrField<v1::DeadLetterOutcome>& outcomes) {
  int failed = 0;
  boost::json::array out;
  std::vector<std::vector<std::string>> rows;
  for (const v1::DeadLetterOutcome& o : outcomes) {
    failed += o.error().empty() ? 0 : 1;
    boost::json::object j;
    j["id"] = o.id();
    j["executionArn"] = o.execution_arn();
    if (!o.error().empty()) {
      j["error"] = o.error();
    }
    out.push_back(std::move(j));
    rows.push_back({o.id(), o.error().empty() ? "ok" : o.error(), o.execution_arn()});
  }
  if (args.output == Output::kJson) {
    PrintJson(out);
  } else {
    PrintTable({"ID", "RESULT", "EXECUTION"}, rows);
  }
  if (outcomes.empty()) {
    std::fprintf(stderr, "stepflow %s: no dead letter matched\n", args.verb.c_str());
  }
  if (failed > 0) {
    std::fprintf(stderr, "stepflow %s: %d of %d entries failed\n", args.verb.c_str(), failed,
                 outcomes.size());
    return kExitExecutionFailed;
  }
  return kExitOk;
}

int Redrive(const RemoteArgs& args, client::Client& client) {
  v1::RedriveDeadLettersRequest request;
  if (args.Has("--all")) {
    *request.mutable_filter() = *Filter(args);  // checked by CheckSelection
  } else {
    request.set_id(args.positionals[0]);
  }
  if (args.Has("--input")) {
    request.set_input(args.Get("--input"));
  } else if (args.Has("--input-file")) {
    absl::StatusOr<boost::json::value> input = ReadJsonFile(args.Get("--input-file"), kMaxInputFileBytes);
    if (!input.ok()) {
      return ReportUsage(args.verb, input.status());
    }
    request.set_input(boost::json::serialize(*input));
  }
  absl::StatusOr<v1::RedriveDeadLettersResponse> response = client.RedriveDeadLetters(request);
  if (!response.ok()) {
    return ReportFailure(args.verb, response.status());
  }
  return Outcomes(args, response->outcomes());
}

int Discard(const RemoteArgs& args, client::Client& client) {
  v1::DiscardDeadLettersRequest request;
  if (args.Has("--all")) {
    *request.mutable_filter() = *Filter(args);  // checked by CheckSelection
  } else {
    request.set_id(args.positionals[0]);
  }
  absl::StatusOr<v1::DiscardDeadLettersResponse> response = client.DiscardDeadLetters(request);
  if (!response.ok()) {
    return ReportFailure(args.verb, response.status());
  }
  return Outcomes(args, response->outcomes());
}

std::set<std::string> With(std::set<std::string> options, std::initializer_list<const char*> more) {
  options.insert(more.begin(), more.end());
  return options;
}

}  // namespace

int DlqCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    return ReportUsage("dlq", absl::InvalidArgumentError("missing verb: list, show, redrive or discard"));
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& verb = args[0];
  if (verb == "list") {
    return RunRemote({"dlq list", kFilterOptions, {}, 0, CheckFilter}, rest, List);
  }
  if (verb == "show") {
    return RunRemote({"dlq show", {}, {}, 1, nullptr}, rest, Show);
  }
  // redrive/discard take an ID or --all: the positional count follows --all.
  bool all = false;
  for (const std::string& arg : rest) {
    all = all || arg == "--all";
  }
  std::size_t positionals = all ? 0 : 1;
  if (verb == "redrive") {
    return RunRemote(
        {"dlq redrive", With(kFilterOptions, {"--input", "--input-file"}), {"--all"}, positionals,
         CheckSelection},
        rest, Redrive);
  }
  if (verb == "discard") {
    return RunRemote({"dlq discard", kFilterOptions, {"--all"}, positionals, CheckSelection}, rest, Discard);
  }
  return ReportUsage("dlq", absl::InvalidArgumentError(absl::StrCat("unknown verb '", verb, "'")));
}

}  // namespace stepflow::cli
