// stepflow sm publish|versions|describe-version|delete-version and stepflow alias
// create|update|describe|list|delete: published versions and aliases on a running server.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clients/cli/cli_util.h"
#include "clients/cli/remote.h"

namespace stepflow::cli {
namespace json = boost::json;

namespace {

// An alias has at most two routes (the server checks the rest: weights summing to 100, distinct versions).
constexpr std::size_t kMaxRoutes = 2;

// Lists every page (`fetch(page_token)` returns one, `items(page)` its repeated field), then prints the items
// as one JSON array, or as a table of `header` and one `row(item)` each.
template <typename Item, typename Page, typename Fetch, typename Items, typename Row>
int ListAll(const RemoteArgs& args, Fetch fetch, Items items, const std::vector<std::string>& header, Row row) {
  std::vector<Item> all;
  std::string token;
  do {
    absl::StatusOr<Page> page = fetch(token);
    if (!page.ok()) {
      return ReportFailure(args.verb, page.status());
    }
    for (Item& item : *items(*page)) {
      all.push_back(std::move(item));
    }
    token = page->next_page_token();
  } while (!token.empty());
  if (args.output == Output::kJson) {
    json::array out;
    for (const Item& item : all) {
      out.push_back(ToJson(item));
    }
    PrintJson(out);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Item& item : all) {
    rows.push_back(row(item));
  }
  PrintTable(header, rows);
  return kExitOk;
}

std::string RoutesText(const v1::StateMachineAlias& a) {
  std::vector<std::string> parts;
  for (const v1::RoutingConfiguration& r : a.routing()) {
    parts.push_back(absl::StrCat(r.version_arn(), "=", r.weight()));
  }
  return absl::StrJoin(parts, ",");
}

void PrintVersion(const RemoteArgs& args, const v1::StateMachineVersion& v) {
  if (args.output == Output::kJson) {
    PrintJson(ToJson(v));
    return;
  }
  PrintFields({{"arn", v.arn()},
               {"state machine", v.state_machine_arn()},
               {"version", std::to_string(v.version())},
               {"revision", std::to_string(v.revision())},
               {"description", v.description()},
               {"created", FormatTime(v.creation_date())}});
  if (!v.definition().empty()) {
    std::printf("definition:\n%s\n", v.definition().c_str());
  }
}

void PrintAlias(const RemoteArgs& args, const v1::StateMachineAlias& a) {
  if (args.output == Output::kJson) {
    PrintJson(ToJson(a));
    return;
  }
  PrintFields({{"arn", a.arn()},
               {"name", a.name()},
               {"state machine", a.state_machine_arn()},
               {"description", a.description()},
               {"routing", RoutesText(a)},
               {"created", FormatTime(a.creation_date())},
               {"updated", FormatTime(a.update_date())}});
}

int Deleted(const RemoteArgs& args, const absl::Status& status, const std::string& what) {
  if (!status.ok()) {
    return ReportFailure(args.verb, status);
  }
  if (args.output == Output::kJson) {
    PrintJson(json::object{{"deleted", what}});
  } else {
    std::printf("deleted %s\n", what.c_str());
  }
  return kExitOk;
}

// --routing VERSION_ARN[=WEIGHT][,VERSION_ARN=WEIGHT]: one or two routes; a lone route without a weight
// takes every start (100).
absl::StatusOr<std::vector<v1::RoutingConfiguration>> ParseRouting(const std::string& text) {
  std::vector<v1::RoutingConfiguration> routes;
  std::vector<std::string> parts = absl::StrSplit(text, ',');
  if (parts.size() > kMaxRoutes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--routing names ", parts.size(), " versions; an alias routes to one or two"));
  }
  for (const std::string& part : parts) {
    std::vector<std::string> arn_weight = absl::StrSplit(part, absl::MaxSplits('=', 1));
    v1::RoutingConfiguration route;
    route.set_version_arn(arn_weight[0]);
    if (arn_weight[0].empty()) {
      return absl::InvalidArgumentError("--routing has an empty version ARN (VERSION_ARN[=WEIGHT][,...])");
    }
    int weight = 100;
    if (arn_weight.size() == 2 && !absl::SimpleAtoi(arn_weight[1], &weight)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--routing: the weight of ", arn_weight[0], " must be a number, not '", arn_weight[1], "'"));
    }
    if (arn_weight.size() == 1 && parts.size() > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--routing: ", arn_weight[0], " needs a weight (VERSION_ARN=WEIGHT) beside another route"));
    }
    route.set_weight(weight);
    routes.push_back(std::move(route));
  }
  return routes;
}

// Adds the routes of `text` (--routing) to an alias request.
template <typename Request>
absl::Status AddRouting(const std::string& text, Request& request) {
  absl::StatusOr<std::vector<v1::RoutingConfiguration>> routes = ParseRouting(text);
  if (!routes.ok()) {
    return routes.status();
  }
  for (v1::RoutingConfiguration& route : *routes) {
    *request.add_routing() = std::move(route);
  }
  return absl::OkStatus();
}

absl::Status CheckRouting(const RemoteArgs& args) {
  return args.Has("--routing") ? ParseRouting(args.Get("--routing")).status() : absl::OkStatus();
}

absl::Status CheckRevision(const RemoteArgs& args) {
  std::int64_t revision = 0;
  if (args.Has("--revision") && (!absl::SimpleAtoi(args.Get("--revision"), &revision) || revision < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--revision must be a revision number (1, 2, ...), not '", args.Get("--revision"), "'"));
  }
  return absl::OkStatus();
}

int Publish(const RemoteArgs& args, client::Client& client) {
  std::int64_t revision = 0;  // 0 = any (the check above refused anything but a revision number)
  if (args.Has("--revision")) {
    (void)absl::SimpleAtoi(args.Get("--revision"), &revision);
  }
  absl::StatusOr<v1::StateMachineVersion> v =
      client.PublishStateMachineVersion(args.positionals[0], args.Get("--description"), revision);
  if (!v.ok()) {
    return ReportFailure(args.verb, v.status());
  }
  PrintVersion(args, *v);
  return kExitOk;
}

int Versions(const RemoteArgs& args, client::Client& client) {
  return ListAll<v1::StateMachineVersion, v1::ListStateMachineVersionsResponse>(
      args,
      [&](const std::string& token) {
        return client.ListStateMachineVersions(args.positionals[0], 0, token);
      },
      [](v1::ListStateMachineVersionsResponse& page) { return page.mutable_versions(); },
      {"VERSION", "REVISION", "CREATED", "DESCRIPTION", "ARN"},
      [](const v1::StateMachineVersion& v) {
        return std::vector<std::string>{std::to_string(v.version()), std::to_string(v.revision()),
                                        FormatTime(v.creation_date()), v.description(), v.arn()};
      });
}

int DescribeVersion(const RemoteArgs& args, client::Client& client) {
  absl::StatusOr<v1::StateMachineVersion> v = client.DescribeStateMachineVersion(args.positionals[0]);
  if (!v.ok()) {
    return ReportFailure(args.verb, v.status());
  }
  PrintVersion(args, *v);
  return kExitOk;
}

int DeleteVersion(const RemoteArgs& args, client::Client& client) {
  return Deleted(args, client.DeleteStateMachineVersion(args.positionals[0]), args.positionals[0]);
}

int AliasAnswer(const RemoteArgs& args, const absl::StatusOr<v1::StateMachineAlias>& a) {
  if (!a.ok()) {
    return ReportFailure(args.verb, a.status());
  }
  PrintAlias(args, *a);
  return kExitOk;
}

int CreateAlias(const RemoteArgs& args, client::Client& client) {
  v1::CreateStateMachineAliasRequest request;
  request.set_name(args.positionals[0]);
  request.set_description(args.Get("--description"));
  if (absl::Status s = AddRouting(args.Get("--routing"), request); !s.ok()) {
    return ReportUsage(args.verb, s);
  }
  return AliasAnswer(args, client.CreateStateMachineAlias(request));
}

int UpdateAlias(const RemoteArgs& args, client::Client& client) {
  v1::UpdateStateMachineAliasRequest request;
  request.set_alias_arn(args.positionals[0]);
  if (args.Has("--description")) {
    request.set_description(args.Get("--description"));
  }
  if (args.Has("--routing")) {
    if (absl::Status s = AddRouting(args.Get("--routing"), request); !s.ok()) {
      return ReportUsage(args.verb, s);
    }
  }
  return AliasAnswer(args, client.UpdateStateMachineAlias(request));
}

int DescribeAlias(const RemoteArgs& args, client::Client& client) {
  return AliasAnswer(args, client.DescribeStateMachineAlias(args.positionals[0]));
}

int ListAliases(const RemoteArgs& args, client::Client& client) {
  return ListAll<v1::StateMachineAlias, v1::ListStateMachineAliasesResponse>(
      args,
      [&](const std::string& token) {
        return client.ListStateMachineAliases(args.positionals[0], 0, token);
      },
      [](v1::ListStateMachineAliasesResponse& page) { return page.mutable_aliases(); },
      {"NAME", "ROUTING", "UPDATED", "ARN"},
      [](const v1::StateMachineAlias& a) {
        return std::vector<std::string>{a.name(), RoutesText(a), FormatTime(a.update_date()), a.arn()};
      });
}

int DeleteAlias(const RemoteArgs& args, client::Client& client) {
  return Deleted(args, client.DeleteStateMachineAlias(args.positionals[0]), args.positionals[0]);
}

}  // namespace

json::value ToJson(const v1::StateMachineVersion& v) {
  json::object o;
  o["stateMachineVersionArn"] = v.arn();
  o["stateMachineArn"] = v.state_machine_arn();
  o["version"] = v.version();
  o["revision"] = v.revision();
  o["description"] = v.description();
  o["type"] = TypeName(v.type());
  o["creationDate"] = FormatTime(v.creation_date());
  if (!v.definition().empty()) {
    o["definition"] = Embedded(v.definition());
  }
  return o;
}

json::value ToJson(const v1::StateMachineAlias& a) {
  json::object o;
  o["stateMachineAliasArn"] = a.arn();
  o["name"] = a.name();
  o["stateMachineArn"] = a.state_machine_arn();
  o["description"] = a.description();
  json::array routes;
  for (const v1::RoutingConfiguration& r : a.routing()) {
    routes.push_back(json::object{{"stateMachineVersionArn", r.version_arn()}, {"weight", r.weight()}});
  }
  o["routingConfiguration"] = std::move(routes);
  o["creationDate"] = FormatTime(a.creation_date());
  o["updateDate"] = FormatTime(a.update_date());
  return o;
}

bool IsSmVersionVerb(const std::string& verb) {
  return verb == "publish" || verb == "versions" || verb == "describe-version" || verb == "delete-version";
}

int SmVersionCommand(const std::string& verb, const std::vector<std::string>& args) {
  if (verb == "publish") {
    return RunRemote({"sm publish", {"--description", "--revision"}, {}, 1, CheckRevision}, args, Publish);
  }
  if (verb == "versions") {
    return RunRemote({"sm versions", {}, {}, 1, nullptr}, args, Versions);
  }
  if (verb == "describe-version") {
    return RunRemote({"sm describe-version", {}, {}, 1, nullptr}, args, DescribeVersion);
  }
  return RunRemote({"sm delete-version", {}, {}, 1, nullptr}, args, DeleteVersion);
}

int AliasCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    return ReportUsage("alias", absl::InvalidArgumentError("missing verb: create, update, describe, list or delete"));
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& verb = args[0];
  if (verb == "create") {
    return RunRemote({"alias create", {"--description", "--routing"}, {}, 1,
                      [](const RemoteArgs& a) {
                        return a.Has("--routing") ? CheckRouting(a)
                                                  : absl::InvalidArgumentError("--routing is required");
                      }},
                     rest, CreateAlias);
  }
  if (verb == "update") {
    return RunRemote({"alias update", {"--description", "--routing"}, {}, 1, CheckRouting}, rest, UpdateAlias);
  }
  if (verb == "describe") {
    return RunRemote({"alias describe", {}, {}, 1, nullptr}, rest, DescribeAlias);
  }
  if (verb == "list") {
    return RunRemote({"alias list", {}, {}, 1, nullptr}, rest, ListAliases);
  }
  if (verb == "delete") {
    return RunRemote({"alias delete", {}, {}, 1, nullptr}, rest, DeleteAlias);
  }
  return ReportUsage("alias", absl::InvalidArgumentError(absl::StrCat("unknown verb '", verb, "'")));
}

}  // namespace stepflow::cli
