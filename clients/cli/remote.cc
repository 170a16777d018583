#include "clients/cli/remote.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/cli/cli_util.h"
#include "common/precise_json.h"

namespace stepflow::cli {
namespace json = boost::json;
namespace {

constexpr std::size_t kColumnGap = 2;

// The value of --connect-timeout or STEPFLOW_CONNECT_TIMEOUT (`source`, for the message): seconds, fractions
// allowed, in (0, kMaxConnectTimeout].
absl::StatusOr<std::chrono::milliseconds> ParseConnectTimeout(const std::string& text, const std::string& source) {
  double seconds = 0;
  if (!absl::SimpleAtod(text, &seconds) || !std::isfinite(seconds) || seconds <= 0 ||
      seconds > kMaxConnectTimeout.count() / 1000.0) {
    return absl::InvalidArgumentError(absl::StrCat(source, " must be a number of seconds above 0 and at most ",
                                                   kMaxConnectTimeout.count() / 1000, ", not '", text, "'"));
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000)));
}

}  // namespace

json::value Embedded(const std::string& text) {
  boost::system::error_code ec;
  std::optional<json::value> v = common::ParsePreciseJson(text, ec);
  if (!v) {
    return json::value(text);
  }
  return *std::move(v);
}

bool IsGlobalValueFlag(const std::string& flag) {
  return flag == "--server" || flag == "--output" || flag == "--token" || flag == "--ca-cert" ||
         flag == "--client-cert" || flag == "--client-key" || flag == "--connect-timeout";
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  absl::Time time = absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

absl::StatusOr<RemoteArgs> ParseRemoteArgs(std::string verb, const std::vector<std::string>& args,
                                           const std::set<std::string>& value_options,
                                           const std::set<std::string>& switch_options,
                                           std::size_t positionals) {
  RemoteArgs out;
  out.verb = std::move(verb);
  if (const char* env = std::getenv("STEPFLOW_SERVER"); env != nullptr && *env != '\0') {
    out.server = env;
  }
  if (const char* env = std::getenv("STEPFLOW_CONNECT_TIMEOUT"); env != nullptr && *env != '\0') {
    absl::StatusOr<std::chrono::milliseconds> timeout = ParseConnectTimeout(env, "STEPFLOW_CONNECT_TIMEOUT");
    if (!timeout.ok()) {
      return timeout.status();
    }
    out.connect_timeout = *timeout;
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.size() < 2 || arg.rfind("--", 0) != 0) {
      out.positionals.push_back(arg);
      continue;
    }
    std::string value;
    bool has_value = false;
    if (std::size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    if (IsGlobalSwitch(arg)) {
      if (has_value) {
        return absl::InvalidArgumentError(absl::StrCat(arg, " takes no value"));
      }
      out.client_options.tls = true;
      continue;
    }
    if (switch_options.count(arg) != 0) {
      if (has_value) {
        return absl::InvalidArgumentError(absl::StrCat(arg, " takes no value"));
      }
      out.switches.insert(arg);
      continue;
    }
    if (value_options.count(arg) == 0 && !IsGlobalValueFlag(arg)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '", arg, "'"));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      }
      value = args[++i];
    }
    if (arg == "--server") {
      out.server = value;
    } else if (arg == "--token") {
      out.client_options.token = value;
    } else if (arg == "--ca-cert") {
      out.client_options.ca_cert = value;
    } else if (arg == "--client-cert") {
      out.client_options.client_cert = value;
    } else if (arg == "--client-key") {
      out.client_options.client_key = value;
    } else if (arg == "--connect-timeout") {
      absl::StatusOr<std::chrono::milliseconds> timeout = ParseConnectTimeout(value, "--connect-timeout");
      if (!timeout.ok()) {
        return timeout.status();
      }
      out.connect_timeout = *timeout;
    } else if (arg == "--output") {
      if (value != "table" && value != "json") {
        return absl::InvalidArgumentError(absl::StrCat("--output must be table or json, not '", value, "'"));
      }
      out.output = value == "json" ? Output::kJson : Output::kTable;
    } else {
      out.options[arg] = value;
    }
  }
  if (absl::Status s = client::ApplyEnvironment(out.client_options); !s.ok()) {
    return s;
  }
  if (out.positionals.size() != positionals) {
    return absl::InvalidArgumentError(absl::StrCat("expected ", positionals, " argument",
                                                   positionals == 1 ? "" : "s", ", got ",
                                                   out.positionals.size()));
  }
  return out;
}

int RunRemote(const VerbSpec& spec, const std::vector<std::string>& argv, const RemoteAction& action) {
  absl::StatusOr<RemoteArgs> args =
      ParseRemoteArgs(spec.verb, argv, spec.value_options, spec.switch_options, spec.positionals);
  if (!args.ok()) {
    return ReportUsage(spec.verb, args.status());
  }
  if (spec.check) {
    if (absl::Status s = spec.check(*args); !s.ok()) {
      return ReportUsage(spec.verb, s);
    }
  }
  absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(args->server, args->connect_timeout, args->client_options);
  if (!c.ok()) {
    return ReportFailure(spec.verb, c.status());
  }
  return action(*args, **c);
}

int ReportUsage(const std::string& verb, const absl::Status& status) {
  std::fprintf(stderr, "stepflow %s: %s (try 'stepflow help')\n", verb.c_str(),
               std::string(status.message()).c_str());
  return kExitUsage;
}

int ReportFailure(const std::string& verb, const absl::Status& status) {
  std::fprintf(stderr, "stepflow %s: %s\n", verb.c_str(), std::string(status.message()).c_str());
  return kExitExecutionFailed;
}

std::string StatusName(v1::ExecutionStatus status) {
  return status == v1::EXECUTION_STATUS_UNSPECIFIED ? "UNKNOWN" : v1::ExecutionStatus_Name(status);
}

std::string TypeName(v1::StateMachineType type) { return type == v1::EXPRESS ? "EXPRESS" : "STANDARD"; }

json::value ToJson(const v1::StateMachine& sm) {
  json::object o;
  o["name"] = sm.name();
  o["stateMachineArn"] = sm.arn();
  o["type"] = TypeName(sm.type());
  o["version"] = sm.version();
  o["creationDate"] = FormatTime(sm.creation_date());
  o["updateDate"] = FormatTime(sm.update_date());
  if (!sm.definition().empty()) {
    o["definition"] = Embedded(sm.definition());
  }
  return o;
}

json::value ToJson(const v1::Execution& e) {
  json::object o;
  o["executionArn"] = e.arn();
  o["name"] = e.name();
  o["stateMachineArn"] = e.state_machine_arn();
  o["stateMachineVersion"] = e.state_machine_version();
  o["status"] = StatusName(e.status());
  o["startDate"] = FormatTime(e.start_date());
  if (e.has_stop_date()) {
    o["stopDate"] = FormatTime(e.stop_date());
  }
  if (!e.input().empty()) {
    o["input"] = Embedded(e.input());
  }
  if (!e.output().empty()) {
    o["output"] = Embedded(e.output());
  }
  if (!e.error().empty()) {
    o["error"] = e.error();
  }
  if (!e.cause().empty()) {
    o["cause"] = e.cause();
  }
  return o;
}

json::value ToJson(const v1::HistoryEvent& event) {
  json::object o;
  o["timestamp"] = FormatTime(event.timestamp());
  o["type"] = event.type();
  o["id"] = event.id();
  o["previousEventId"] = event.previous_event_id();
  if (!event.details_key().empty()) {
    o[event.details_key()] = Embedded(event.details());
  }
  return o;
}

json::value ToJson(const v1::DeadLetter& d) {
  json::object o;
  o["id"] = d.id();
  o["queue"] = d.queue();
  o["executionArn"] = d.execution_arn();
  o["stateMachineArn"] = d.state_machine_arn();
  o["stateName"] = d.state_name();
  o["created"] = FormatTime(d.created());
  o["error"] = d.error();
  o["cause"] = d.cause();
  if (!d.input().empty()) {
    o["input"] = Embedded(d.input());
  }
  json::array attempts;
  for (const v1::TaskAttempt& a : d.attempts()) {
    json::object j;
    j["attempt"] = a.attempt();
    j["workerIdentity"] = a.worker_identity();
    if (a.has_scheduled()) {
      j["scheduled"] = FormatTime(a.scheduled());
    }
    if (a.has_started()) {
      j["started"] = FormatTime(a.started());
    }
    if (a.has_ended()) {
      j["ended"] = FormatTime(a.ended());
    }
    j["error"] = a.error();
    j["cause"] = a.cause();
    attempts.push_back(std::move(j));
  }
  o["attempts"] = std::move(attempts);
  return o;
}

void PrintJson(const json::value& value) { std::printf("%s\n", json::serialize(value).c_str()); }

void PrintFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t width = 0;
  for (const auto& [key, value] : fields) {
    width = std::max(width, key.size());
  }
  for (const auto& [key, value] : fields) {
    std::printf("%-*s%s\n", static_cast<int>(width + kColumnGap), key.c_str(), value.c_str());
  }
}

void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) {
    measure(row);
  }
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line.append(widths[i] - row[i].size() + kColumnGap, ' ');
      }
    }
    std::printf("%s\n", line.c_str());
  };
  print(header);
  for (const auto& row : rows) {
    print(row);
  }
}

void PrintStateMachine(const RemoteArgs& args, const v1::StateMachine& sm, bool with_definition) {
  if (args.output == Output::kJson) {
    PrintJson(ToJson(sm));
    return;
  }
  PrintFields({
      {"name", sm.name()},
      {"arn", sm.arn()},
      {"type", TypeName(sm.type())},
      {"version", std::to_string(sm.version())},
      {"created", FormatTime(sm.creation_date())},
      {"updated", FormatTime(sm.update_date())},
  });
  if (with_definition && !sm.definition().empty()) {
    std::printf("definition:\n%s\n", sm.definition().c_str());
  }
}

void PrintExecution(const RemoteArgs& args, const v1::Execution& e) {
  if (args.output == Output::kJson) {
    PrintJson(ToJson(e));
    return;
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"arn", e.arn()},
      {"name", e.name()},
      {"status", StatusName(e.status())},
      {"state machine",
       e.state_machine_arn() + " (version " + std::to_string(e.state_machine_version()) + ")"},
      {"started", FormatTime(e.start_date())},
  };
  if (e.has_stop_date()) {
    fields.push_back({"stopped", FormatTime(e.stop_date())});
  }
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"input", &e.input()},
                                   {"output", &e.output()},
                                   {"error", &e.error()},
                                   {"cause", &e.cause()}}) {
    if (!value->empty()) {
      fields.push_back({key, *value});
    }
  }
  PrintFields(fields);
}

std::vector<std::string> HistoryRow(const v1::HistoryEvent& event) {
  std::string details = event.details_key().empty() ? "" : json::serialize(Embedded(event.details()));
  return {std::to_string(event.id()), event.type(), FormatTime(event.timestamp()), details};
}

}  // namespace stepflow::cli
