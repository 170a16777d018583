#pragma once
// The CLI's remote verbs (`stepflow sm|exec|dlq|worker ...`): the shared pieces. They speak only the
// public gRPC API, through clients/cpp.
//
// Global flags, accepted anywhere on the command line: --server ADDR (env STEPFLOW_SERVER, default
// 127.0.0.1:7233), --output table|json, and the connection options of client.h: --token TOKEN, --tls,
// --ca-cert PEM, --client-cert PEM, --client-key PEM (env STEPFLOW_TOKEN, STEPFLOW_TLS, STEPFLOW_CA_CERT,
// STEPFLOW_CLIENT_CERT, STEPFLOW_CLIENT_KEY), and --connect-timeout SECONDS (env STEPFLOW_CONNECT_TIMEOUT,
// default 3): how long a verb waits for the server to accept its connection. With json, stdout holds only JSON; every message goes to stderr.
// A failure prints one line "stepflow <verb>: <what failed>" on stderr and exits non-zero.

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "clients/cpp/client.h"

namespace stepflow::cli {

inline constexpr char kDefaultServer[] = "127.0.0.1:7233";
// How long a verb waits for its connection by default, and the longest --connect-timeout accepted.
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{3000};
inline constexpr std::chrono::milliseconds kMaxConnectTimeout{3600 * 1000};

// A global flag with a value (--server, --output, --token, --ca-cert, --client-cert, --client-key,
// --connect-timeout), and the global switch --tls.
bool IsGlobalValueFlag(const std::string& flag);
inline bool IsGlobalSwitch(const std::string& flag) { return flag == "--tls"; }

enum class Output { kTable, kJson };

// The arguments of one remote verb, split into positionals, options with values and switches.
struct RemoteArgs {
  std::string verb;  // "sm create", for messages
  std::vector<std::string> positionals;
  std::map<std::string, std::string> options;  // "--name" -> "x"
  std::set<std::string> switches;              // "--sync"
  std::string server = kDefaultServer;
  Output output = Output::kTable;
  std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
  // --token, --tls, --ca-cert, --client-cert, --client-key (and their STEPFLOW_* variables; client.h).
  client::ClientOptions client_options;

  bool Has(const std::string& option) const {
    return options.count(option) != 0 || switches.count(option) != 0;
  }
  std::string Get(const std::string& option, const std::string& fallback = "") const {
    auto it = options.find(option);
    return it == options.end() ? fallback : it->second;
  }
};

// Parses `args` (the words after the verb). `value_options` take a value ("--name N" or "--name=N"),
// `switch_options` do not. The global flags are always known. InvalidArgument naming the problem.
absl::StatusOr<RemoteArgs> ParseRemoteArgs(std::string verb, const std::vector<std::string>& args,
                                           const std::set<std::string>& value_options,
                                           const std::set<std::string>& switch_options,
                                           std::size_t positionals);

// What a remote verb accepts.
struct VerbSpec {
  std::string verb;                      // "sm create", for messages
  std::set<std::string> value_options;   // options with a value
  std::set<std::string> switch_options;  // options without one
  std::size_t positionals = 0;           // exact number of positional arguments
  // Checks of the arguments made before connecting (InvalidArgument: a usage error). May be empty.
  std::function<absl::Status(const RemoteArgs&)> check;
};

// A verb's work once connected: prints its result and returns the exit status (kExitOk, or the result of
// ReportUsage / ReportFailure).
using RemoteAction = std::function<int(const RemoteArgs& args, client::Client& client)>;

// Parses `argv` (the words after the verb) per `spec`, connects to --server and runs `action`. Bad usage
// exits 2; a failed connection exits 1, both with one line on stderr.
int RunRemote(const VerbSpec& spec, const std::vector<std::string>& argv, const RemoteAction& action);

// Prints "stepflow VERB: MESSAGE" on stderr; returns kExitUsage for usage errors (InvalidArgument raised
// locally) or kExitExecutionFailed otherwise.
int ReportUsage(const std::string& verb, const absl::Status& status);
int ReportFailure(const std::string& verb, const absl::Status& status);

// --- Rendering. JSON follows AWS's field names; input/output/definition/details are embedded as JSON.
// JSON text as the value it holds (to embed it in printed JSON); text that is not JSON stays a string.
boost::json::value Embedded(const std::string& text);
boost::json::value ToJson(const v1::StateMachine& sm);
// A version: {"stateMachineVersionArn", "stateMachineArn", "version", "revision", "description", "type",
// "creationDate", "definition"?}.
boost::json::value ToJson(const v1::StateMachineVersion& v);
// An alias: {"stateMachineAliasArn", "name", "stateMachineArn", "description", "routingConfiguration":
// [{"stateMachineVersionArn", "weight"}], "creationDate", "updateDate"}.
boost::json::value ToJson(const v1::StateMachineAlias& a);
boost::json::value ToJson(const v1::Execution& e);
boost::json::value ToJson(const v1::HistoryEvent& event);
// A dead letter with its attempts (times ISO-8601, input embedded).
boost::json::value ToJson(const v1::DeadLetter& d);
std::string StatusName(v1::ExecutionStatus status);
// ISO-8601 UTC with milliseconds, as AWS prints times.
std::string FormatTime(const google::protobuf::Timestamp& t);
std::string TypeName(v1::StateMachineType type);

// Prints `value` as one line of JSON.
void PrintJson(const boost::json::value& value);
// Prints "key  value" lines, keys padded to one column.
void PrintFields(const std::vector<std::pair<std::string, std::string>>& fields);
// Prints a table: header row, then rows, columns padded (the last column is not).
void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
// A state machine as fields (table, followed by the definition when `with_definition`) or one JSON object
// (always with the definition).
void PrintStateMachine(const RemoteArgs& args, const v1::StateMachine& sm, bool with_definition);
// An execution as fields (table) or one JSON object.
void PrintExecution(const RemoteArgs& args, const v1::Execution& e);
// One history event as a table row: ID TYPE TIMESTAMP DETAILS.
std::vector<std::string> HistoryRow(const v1::HistoryEvent& event);

int SmCommand(const std::vector<std::string>& args);    // stepflow sm ...
int ExecCommand(const std::vector<std::string>& args);  // stepflow exec ...
int DlqCommand(const std::vector<std::string>& args);   // stepflow dlq ...
// stepflow alias ... (version_command.cc).
int AliasCommand(const std::vector<std::string>& args);
// stepflow sm publish|versions|describe-version|delete-version ... (version_command.cc): true when `verb` is
// one of them.
bool IsSmVersionVerb(const std::string& verb);
int SmVersionCommand(const std::string& verb, const std::vector<std::string>& args);
// stepflow worker ... -- COMMAND ARGS...: serves until SIGTERM/SIGINT (clients/cli/command_runner.h).
int WorkerCommand(const std::vector<std::string>& args);

}  // namespace stepflow::cli
