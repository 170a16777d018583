// The TestState handler (handlers.h): the request as sm::TestStateRequest, run by engine::RunTestState.
#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "engine/api/handlers.h"
#include "engine/test_state.h"
#include "statemachine/json_text.h"

namespace stepflow::api {
namespace {

// A JSON value as the response carries it: text, empty when absent.
std::string TextOf(const std::optional<boost::json::value>& v) { return v ? sm::ToAwsJson(*v) : std::string(); }

}  // namespace

absl::StatusOr<v1::TestStateResponse> TestState(ServiceEnv& /*env*/, const v1::TestStateRequest& request) {
  sm::TestStateRequest run;
  run.definition = request.definition();
  run.state_name = request.state_name();
  run.input = request.input();
  run.variables = request.variables();
  ASSIGN_OR_RETURN(run.inspection_level, sm::ParseInspectionLevel(request.inspection_level()));
  run.retrier_retry_count = request.retrier_retry_count();
  if (request.has_mock()) {
    if (request.mock().has_error_output()) {
      run.mock_error = sm::Failure{request.mock().error_output().error(), request.mock().error_output().cause()};
    }
    if (!request.mock().result().empty()) {
      run.mock_result = request.mock().result();
    }
  }
  ASSIGN_OR_RETURN(sm::TestStateResult result, engine::RunTestState(std::move(run), NowMillis()));
  v1::TestStateResponse response;
  response.set_status(sm::TestStatusName(result.status));
  response.set_output(TextOf(result.output));
  response.set_error(result.error);
  response.set_cause(result.cause);
  response.set_next_state(result.next_state);
  if (result.inspection) {
    const sm::InspectionData& d = *result.inspection;
    v1::TestStateInspectionData* data = response.mutable_inspection_data();
    data->set_input(TextOf(d.input));
    data->set_after_input_path(TextOf(d.after_input_path));
    data->set_after_parameters(TextOf(d.after_parameters));
    data->set_after_arguments(TextOf(d.after_arguments));
    data->set_result(TextOf(d.result));
    data->set_after_result_selector(TextOf(d.after_result_selector));
    data->set_after_result_path(TextOf(d.after_result_path));
    if (d.variables) {
      data->set_variables(sm::ToAwsJson(boost::json::value(*d.variables)));
    }
    if (d.error_details) {
      v1::TestStateErrorDetails* details = data->mutable_error_details();
      if (d.error_details->catch_index) {
        details->set_catch_index(static_cast<std::int32_t>(*d.error_details->catch_index));
      }
      if (d.error_details->retry_index) {
        details->set_retry_index(static_cast<std::int32_t>(*d.error_details->retry_index));
      }
      if (d.error_details->retry_backoff_interval_seconds) {
        details->set_retry_backoff_interval_seconds(
            static_cast<std::int32_t>(*d.error_details->retry_backoff_interval_seconds));
      }
    }
    data->set_after_items_path(TextOf(d.after_items_path));
    data->set_after_item_selector(TextOf(d.after_item_selector));
    if (d.max_concurrency) {
      data->set_max_concurrency(static_cast<std::int32_t>(*d.max_concurrency));
    }
    if (d.tolerated_failure_count) {
      data->set_tolerated_failure_count(static_cast<std::int32_t>(*d.tolerated_failure_count));
    }
    if (d.tolerated_failure_percentage) {
      data->set_tolerated_failure_percentage(*d.tolerated_failure_percentage);
    }
  }
  return response;
}

}  // namespace stepflow::api
