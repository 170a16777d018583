// stepflow sm create|update|list|describe|delete: state machines on a running server.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cli/cli_util.h"
#include "clients/cli/remote.h"

namespace stepflow::cli {
namespace {

// Prints the state machine, or reports the error.
int Answer(const RemoteArgs& args, const absl::StatusOr<v1::StateMachine>& sm, bool with_definition = false) {
  if (!sm.ok()) {
    return ReportFailure(args.verb, sm.status());
  }
  PrintStateMachine(args, *sm, with_definition);
  return kExitOk;
}

absl::Status CheckType(const RemoteArgs& args) {
  std::string type = args.Get("--type", "STANDARD");
  if (type != "STANDARD" && type != "EXPRESS") {
    return absl::InvalidArgumentError(absl::StrCat("--type must be STANDARD or EXPRESS, not '", type, "'"));
  }
  return absl::OkStatus();
}

int Create(const RemoteArgs& args, client::Client& client) {
  std::string type = args.Get("--type", "STANDARD");
  absl::StatusOr<std::string> definition = ReadFile(args.positionals[1], kMaxDefinitionFileBytes);
  if (!definition.ok()) {
    return ReportUsage(args.verb, definition.status());
  }
  return Answer(args, client.CreateStateMachine(args.positionals[0], *definition,
                                                type == "EXPRESS" ? v1::EXPRESS : v1::STANDARD));
}

int Update(const RemoteArgs& args, client::Client& client) {
  absl::StatusOr<std::string> definition = ReadFile(args.positionals[1], kMaxDefinitionFileBytes);
  if (!definition.ok()) {
    return ReportUsage(args.verb, definition.status());
  }
  return Answer(args, client.UpdateStateMachine(args.positionals[0], *definition));
}

int List(const RemoteArgs& args, client::Client& client) {
  absl::StatusOr<std::vector<v1::StateMachine>> all = client.ListAllStateMachines();
  if (!all.ok()) {
    return ReportFailure(args.verb, all.status());
  }
  if (args.output == Output::kJson) {
    boost::json::array out;
    for (const v1::StateMachine& sm : *all) {
      out.push_back(ToJson(sm));
    }
    PrintJson(out);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::StateMachine& sm : *all) {
    rows.push_back({sm.name(), TypeName(sm.type()), std::to_string(sm.version()),
                    FormatTime(sm.update_date()), sm.arn()});
  }
  PrintTable({"NAME", "TYPE", "VERSION", "UPDATED", "ARN"}, rows);
  return kExitOk;
}

int Describe(const RemoteArgs& args, client::Client& client) {
  return Answer(args, client.DescribeStateMachine(args.positionals[0]), /*with_definition=*/true);
}

int Delete(const RemoteArgs& args, client::Client& client) {
  if (absl::Status s = client.DeleteStateMachine(args.positionals[0]); !s.ok()) {
    return ReportFailure(args.verb, s);
  }
  if (args.output == Output::kJson) {
    PrintJson(boost::json::object{{"deleted", args.positionals[0]}});
  } else {
    std::printf("deleted %s\n", args.positionals[0].c_str());
  }
  return kExitOk;
}

}  // namespace

int SmCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    return ReportUsage("sm",
                       absl::InvalidArgumentError("missing verb: create, update, list, describe, delete, publish, versions, "
                                                   "describe-version or delete-version"));
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& verb = args[0];
  if (verb == "create") {
    return RunRemote({"sm create", {"--type"}, {}, 2, CheckType}, rest, Create);
  }
  if (verb == "update") {
    return RunRemote({"sm update", {}, {}, 2, nullptr}, rest, Update);
  }
  if (verb == "list") {
    return RunRemote({"sm list", {}, {}, 0, nullptr}, rest, List);
  }
  if (verb == "describe") {
    return RunRemote({"sm describe", {}, {}, 1, nullptr}, rest, Describe);
  }
  if (verb == "delete") {
    return RunRemote({"sm delete", {}, {}, 1, nullptr}, rest, Delete);
  }
  if (IsSmVersionVerb(verb)) {
    return SmVersionCommand(verb, rest);
  }
  return ReportUsage("sm", absl::InvalidArgumentError(absl::StrCat("unknown verb '", verb, "'")));
}

}  // namespace stepflow::cli
