// stepflow test-state: AWS's TestState from the command line. Runs one state locally on the embedded
// interpreter (engine/test_state.h), or, with --server, asks that server (StateMachines.TestState); the
// same flags and the same printed answer either way.
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include <boost/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "app/commands.h"
#include "clients/cli/remote.h"
#include "common/clock.h"
#include "engine/test_state.h"
#include "statemachine/json_text.h"
#include "statemachine/test_state.h"

namespace stepflow::app {
namespace json = boost::json;

namespace {

constexpr char kVerb[] = "test-state";

// What the flags ask for, before it is sent anywhere.
struct TestStateFlags {
  sm::TestStateRequest request;
  std::string inspection_level;  // as given ("" = INFO)
};

absl::StatusOr<TestStateFlags> ParseFlags(const cli::RemoteArgs& args) {
  TestStateFlags flags;
  sm::TestStateRequest& r = flags.request;
  absl::StatusOr<std::string> definition = ReadFile(args.positionals[0], kMaxDefinitionFileBytes);
  if (!definition.ok()) {
    return definition.status();
  }
  r.definition = std::move(*definition);
  r.state_name = args.positionals[1];
  if (args.Has("--input") && args.Has("--input-file")) {
    return absl::InvalidArgumentError("--input and --input-file go alone");
  }
  r.input = args.Get("--input");
  if (args.Has("--input-file")) {
    absl::StatusOr<std::string> input = ReadFile(args.Get("--input-file"), kMaxInputFileBytes);
    if (!input.ok()) {
      return input.status();
    }
    r.input = std::move(*input);
  }
  r.variables = args.Get("--variables");
  if (args.Has("--mock-result")) {
    r.mock_result = args.Get("--mock-result");
  }
  if (args.Has("--mock-error")) {
    r.mock_error = sm::Failure{args.Get("--mock-error"), args.Get("--mock-cause")};
  } else if (args.Has("--mock-cause")) {
    return absl::InvalidArgumentError("--mock-cause goes with --mock-error");
  }
  if (args.Has("--retrier-retry-count") &&
      !absl::SimpleAtoi(args.Get("--retrier-retry-count"), &r.retrier_retry_count)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--retrier-retry-count must be a number, not '", args.Get("--retrier-retry-count"), "'"));
  }
  flags.inspection_level = args.Get("--inspection-level");
  return flags;
}

// The server's answer as AWS's TestState answers it (sm::TestStateResultToAwsJson's form): the proto3 JSON
// mapping of the response, whose field names are AWS's (nextState, inspectionData, afterItemsPath,
// errorDetails.retryBackoffIntervalSeconds, ...), with only the fields that are set (payloads as JSON text).
absl::StatusOr<json::object> FromResponse(const v1::TestStateResponse& response) {
  std::string text;
  const auto printed = google::protobuf::util::MessageToJsonString(response, &text);
  if (!printed.ok()) {
    return absl::InternalError(absl::StrCat("the server's TestState answer could not be written as JSON: ",
                                            std::string(printed.message())));
  }
  json::value parsed = json::parse(text);
  return std::move(parsed.as_object());
}

// The answer as printed: AWS's fields, with the payloads (output, the inspection data) embedded as the JSON
// values they hold rather than as strings.
json::object Printable(json::object aws) {
  if (json::value* output = aws.if_contains("output"); output != nullptr && output->is_string()) {
    *output = cli::Embedded(std::string(output->get_string()));
  }
  if (json::value* data = aws.if_contains("inspectionData"); data != nullptr && data->is_object()) {
    for (auto& field : data->get_object()) {
      if (field.value().is_string()) {
        field.value() = cli::Embedded(std::string(field.value().get_string()));
      }
    }
  }
  return aws;
}

v1::TestStateRequest ToRequest(const TestStateFlags& flags) {
  const sm::TestStateRequest& r = flags.request;
  v1::TestStateRequest request;
  request.set_definition(r.definition);
  request.set_state_name(r.state_name);
  request.set_input(r.input);
  request.set_variables(r.variables);
  request.set_inspection_level(flags.inspection_level);
  request.set_retrier_retry_count(r.retrier_retry_count);
  if (r.mock_result) {
    request.mutable_mock()->set_result(*r.mock_result);
  }
  if (r.mock_error) {
    request.mutable_mock()->mutable_error_output()->set_error(r.mock_error->error);
    request.mutable_mock()->mutable_error_output()->set_cause(r.mock_error->cause);
  }
  return request;
}

// Prints the answer; 0 when the state completed (SUCCEEDED, or CAUGHT_ERROR: a catcher took it on), 1 when
// it failed or would be retried.
int Answer(json::object aws) {
  const std::string status(aws.at("status").as_string());
  std::printf("%s\n", sm::ToAwsJson(json::value(Printable(std::move(aws)))).c_str());
  const bool completed = status == "SUCCEEDED" || status == "CAUGHT_ERROR";
  return completed ? kExitOk : kExitExecutionFailed;
}

// A refused request (InvalidDefinition, ValidationException...) is bad input: exit 2, as `run` does.
int Refused(const absl::Status& status) {
  return absl::IsInvalidArgument(status) ? cli::ReportUsage(kVerb, status) : cli::ReportFailure(kVerb, status);
}

}  // namespace

int TestStateCommand(const std::vector<std::string>& argv) {
  const std::set<std::string> kValueOptions = {"--input",      "--input-file", "--variables",
                                               "--mock-result", "--mock-error", "--mock-cause",
                                               "--inspection-level", "--retrier-retry-count"};
  absl::StatusOr<cli::RemoteArgs> args = cli::ParseRemoteArgs(kVerb, argv, kValueOptions, {}, 2);
  if (!args.ok()) {
    return cli::ReportUsage(kVerb, args.status());
  }
  absl::StatusOr<TestStateFlags> flags = ParseFlags(*args);
  if (!flags.ok()) {
    return cli::ReportUsage(kVerb, flags.status());
  }
  // With --server the server answers; without, the state runs here.
  bool remote = false;
  for (const std::string& arg : argv) {
    remote = remote || arg == "--server" || arg.rfind("--server=", 0) == 0;
  }
  if (remote) {
    return cli::RunRemote({kVerb, kValueOptions, {}, 2, nullptr}, argv,
                          [&](const cli::RemoteArgs&, client::Client& client) {
                            absl::StatusOr<v1::TestStateResponse> response = client.TestState(ToRequest(*flags));
                            absl::StatusOr<json::object> answer =
                                response.ok() ? FromResponse(*response) : response.status();
                            return answer.ok() ? Answer(*std::move(answer)) : Refused(answer.status());
                          });
  }
  absl::StatusOr<sm::InspectionLevel> level = sm::ParseInspectionLevel(flags->inspection_level);
  if (!level.ok()) {
    return Refused(level.status());
  }
  flags->request.inspection_level = *level;
  absl::StatusOr<sm::TestStateResult> result =
      engine::RunTestState(std::move(flags->request), common::SystemClock().NowMillis());
  return result.ok() ? Answer(sm::TestStateResultToAwsJson(*result)) : Refused(result.status());
}

}  // namespace stepflow::app
