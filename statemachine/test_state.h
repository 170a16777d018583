#pragma once
// TestState (AWS's TestState API): runs one state of a definition on a given input, without an execution
// that anyone can see, and reports what it did: its status, its output or error, the state it goes to
// next, and (at DEBUG and TRACE) AWS's inspection data.
//
// The state runs on the real interpreter (core/execution.h): it is cut out into a one-state machine (its
// Next/Default/Catch targets become Succeed states it may go to), started with the input and the given
// variables, and driven until the state has exited or failed:
//   - a Task state gets the mock (its result, or its error and cause) as its worker's answer;
//   - a Map or Parallel state runs as a Task whose result is the mock (AWS mocks these states whole): the
//     data flow around the result (InputPath, Parameters/Arguments, ResultSelector, ResultPath, OutputPath,
//     Assign, Output), Retry and Catch are the state's; its iterations/branches do not run;
//   - a Wait state's timer fires at once (nothing waits);
//   - a retrier that matches makes the status RETRIABLE; `retrier_retry_count` retries are taken first
//     (the state fails again with the same mock each time), as AWS's stateConfiguration.retrierRetryCount;
//     the next state is then the state itself (it runs again);
//   - at DEBUG and TRACE, a Map state also runs once unmocked, as far as the preparation of its iterations
//     (ItemsPath, ItemSelector, MaxConcurrency, ToleratedFailure*), for AWS's Map inspection fields; its
//     iterations' outcome is not used (the mock's is reported).
// So a state's output, error and cause are exactly what `stepflow run` gives for the same state as a
// one-state definition (tests/conformance/test_state_equivalence.py checks this over the corpus).
//
// Thread-safety: stateless; any number of calls may run at once.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "statemachine/core/execution.h"
#include "statemachine/failure.h"
#include "statemachine/runtime_values.h"

namespace stepflow::sm {

// AWS's inspectionLevel. INFO: status, output/error, next state. DEBUG: also the inspection data. TRACE: as
// DEBUG (AWS adds the HTTP request and response of HTTP Tasks, which Stepflow does not run).
enum class InspectionLevel { kInfo, kDebug, kTrace };
// "INFO", "DEBUG" or "TRACE" ("" = INFO). InvalidArgument (ValidationException) for anything else.
absl::StatusOr<InspectionLevel> ParseInspectionLevel(absl::string_view text);

// AWS's TestExecutionStatus.
enum class TestStatus { kSucceeded, kFailed, kRetriable, kCaughtError };
const char* TestStatusName(TestStatus status);  // "SUCCEEDED", "FAILED", "RETRIABLE", "CAUGHT_ERROR"

// Bounds of a request (README "Limits on requests").
struct TestStateLimits {
  // Default: 1 MiB (AWS's definition limit, and the server's).
  std::size_t max_definition_bytes = 1 << 20;
  // Input, variables and a mocked result, each. Default: 256 KiB (AWS's payload limit).
  std::size_t max_payload_bytes = 262144;
  // A mocked error's name and cause. Defaults: AWS's (256 and 32,768 characters, counted in bytes here).
  std::size_t max_error_bytes = 256;
  std::size_t max_cause_bytes = 32768;
  // State names: AWS's 80 characters (bytes here).
  std::size_t max_state_name_bytes = 80;
  // Retries taken before the reported attempt. Default: 1000 (each costs a few history events).
  int max_retrier_retry_count = 1000;
};

struct TestStateRequest {
  // JSON text: one state ({"Type": ...}) or a whole state machine ({"StartAt": ..., "States": ...}).
  std::string definition;
  // A state machine: the state to test, at any depth (default: its StartAt). One state: its name (default
  // "TestState"; it appears in error causes).
  std::string state_name;
  std::string input;      // JSON text; "" = {}
  std::string variables;  // JSON object text: the variables in scope when the state starts; "" = none
  // The mock of a Task, Map or Parallel state (required for them, refused for the others): a result (JSON
  // text) or an error with its cause.
  std::optional<std::string> mock_result;
  std::optional<Failure> mock_error;
  int retrier_retry_count = 0;
  InspectionLevel inspection_level = InspectionLevel::kInfo;
  // What the context object ($$) shows.
  ExecutionInfo context;
  // JSON text: what $$.Execution.Input shows; "" = the state's input. (The data flow of a state of a run
  // shows that run's input there.)
  std::string execution_input;
};

// AWS's InspectionData: each value as the state had it at that step; absent when it did not get there (or
// the step does not apply: after_input_path/after_parameters/after_result_* for JSONPath states,
// after_arguments for JSONata ones).
// AWS's InspectionErrorDetails: what handled the failure of a RETRIABLE or CAUGHT_ERROR state.
struct InspectionErrorDetails {
  std::optional<std::int64_t> catch_index;  // the catcher's index in Catch (CAUGHT_ERROR)
  std::optional<std::int64_t> retry_index;  // the retrier's index in Retry (RETRIABLE)
  // The interval before that retry, in whole seconds (rounded to nearest; after BackoffRate, MaxDelaySeconds
  // and JitterStrategy).
  std::optional<std::int64_t> retry_backoff_interval_seconds;
};

struct InspectionData {
  std::optional<boost::json::value> input;
  std::optional<boost::json::value> after_input_path;
  std::optional<boost::json::value> after_parameters;
  std::optional<boost::json::value> after_arguments;
  std::optional<boost::json::value> result;
  std::optional<boost::json::value> after_result_selector;
  std::optional<boost::json::value> after_result_path;
  // The variables after the state (before it, when it failed).
  std::optional<boost::json::object> variables;
  // RETRIABLE and CAUGHT_ERROR.
  std::optional<InspectionErrorDetails> error_details;
  // Map states (see above): the items after ItemsPath (JSONPath states), the array of every iteration's input
  // after ItemSelector, and the numeric fields as evaluated (absent when the state has none). AWS's
  // afterItemBatcher and afterItemsPointer have no counterpart: Stepflow runs no ItemBatcher or ItemsPointer.
  std::optional<boost::json::value> after_items_path;
  std::optional<boost::json::value> after_item_selector;
  std::optional<std::int64_t> max_concurrency;
  std::optional<std::int64_t> tolerated_failure_count;
  std::optional<double> tolerated_failure_percentage;
};

struct TestStateResult {
  TestStatus status = TestStatus::kSucceeded;
  std::optional<boost::json::value> output;  // SUCCEEDED and CAUGHT_ERROR
  std::string error;                         // FAILED, RETRIABLE and CAUGHT_ERROR
  std::string cause;
  // SUCCEEDED and CAUGHT_ERROR: where the state goes, "" when it ends the machine; RETRIABLE: the state itself
  // (its retry); FAILED: "".
  std::string next_state;
  // Set at DEBUG and TRACE.
  std::optional<InspectionData> inspection;
};

// Runs the state. `now` is the time the state runs at ($$.State.EnteredTime, $now()); `rv` gives the
// values made up at run time (States.UUID, $random()...). Errors, all InvalidArgument, named as AWS names them:
//   InvalidDefinition      the definition is not JSON, is neither a state nor a state machine, is invalid
//                          (every problem with its location), or is too large
//   InvalidExecutionInput  the input, the execution input or the variables are not JSON (the variables: not
//                          an object), or too large
//   ValidationException    no state of that name; a mock missing for a Task/Map/Parallel state, given for
//                          another, given twice (result and error), too large or not JSON; a bad
//                          retrier_retry_count or state name
absl::StatusOr<TestStateResult> TestState(const TestStateRequest& request, common::EpochMillis now, RuntimeValues& rv,
                                          const TestStateLimits& limits = {});

// The result as AWS's TestState answers it: {"status", "output"?, "error"?, "cause"?, "nextState"?,
// "inspectionData"?: {"input", "afterInputPath", ..., "variables", "errorDetails"?: {"catchIndex"?,
// "retryIndex"?, "retryBackoffIntervalSeconds"?}, "afterItemsPath"?, "afterItemSelector"?, "maxConcurrency"?,
// "toleratedFailureCount"?, "toleratedFailurePercentage"?}}, with every payload as JSON text (a string), as AWS
// sends them, and the counts as numbers.
boost::json::object TestStateResultToAwsJson(const TestStateResult& result);

}  // namespace stepflow::sm
