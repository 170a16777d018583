// The TestState handler (handlers.h): the request as sm::TestStateRequest, run by engine::RunTestState.
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
  }
  return response;
}

}  // namespace stepflow::api
