// The per-state summary of an execution (handlers.h: SummarizeExecution), folded from its history on the
// server so that a graph can be coloured without downloading the history.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/handlers.h"
#include "engine/api/history_walk.h"

namespace stepflow::api {
namespace {

namespace json = boost::json;

struct StateSummary {
  std::int64_t entered = 0;
  std::int64_t exited = 0;
  // Entries that a redrive left behind: the attempt that failed there never exits, and the redrive enters the
  // state again, so they must not count as still open.
  std::int64_t abandoned = 0;
  std::string last_input;   // JSON text
  std::string last_output;  // JSON text
  std::map<std::string, std::int64_t> map_iterations;  // "started", "succeeded", "failed", "aborted"
};

std::string StringField(const json::object& details, const char* key) {
  const json::value* v = details.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
}

// Folds one history event into `states`.
void Fold(const engine::HistoryEventRecord& event, std::map<std::string, StateSummary>& states) {
  if (event.type == "ExecutionRedriven") {
    for (auto& [name, s] : states) {
      s.abandoned = std::max<std::int64_t>(s.entered - s.exited, 0);
    }
    return;
  }
  std::optional<json::object> details = DetailsOf(event);
  if (!details.has_value()) {
    return;
  }
  const json::object& d = *details;
  std::string name = StringField(d, "name");
  if (name.empty()) {
    return;
  }
  if (TypeEndsWith(event.type, "StateEntered")) {
    StateSummary& s = states[name];
    ++s.entered;
    s.last_input = StringField(d, "input");
  } else if (TypeEndsWith(event.type, "StateExited")) {
    StateSummary& s = states[name];
    ++s.exited;
    s.last_output = StringField(d, "output");
  } else if (event.type.rfind("MapIteration", 0) == 0) {
    std::string what = event.type.substr(std::string_view("MapIteration").size());  // "Started", ...
    if (!what.empty()) {
      what[0] = static_cast<char>(what[0] - 'A' + 'a');
      ++states[name].map_iterations[what];
    }
  }
}

// `text` (JSON) as a protobuf Value; null when empty or not JSON.
google::protobuf::Value JsonValue(const std::string& text) {
  google::protobuf::Value value;
  if (text.empty() || !google::protobuf::util::JsonStringToMessage(text, &value).ok()) {
    value.set_null_value(google::protobuf::NULL_VALUE);
  }
  return value;
}

std::string StateStatus(const StateSummary& s, sm::ExecutionStatus execution) {
  if (s.entered - s.abandoned <= s.exited) {
    return "SUCCEEDED";
  }
  if (execution == sm::ExecutionStatus::kRunning) {
    return "RUNNING";
  }
  return execution == sm::ExecutionStatus::kAborted ? "ABORTED" : "FAILED";
}

}  // namespace

absl::StatusOr<google::protobuf::Struct> SummarizeExecution(ServiceEnv& env,
                                                           const v1::DescribeExecutionRequest& request) {
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord execution, env.engine->DescribeExecution(request.execution_arn()));
  std::map<std::string, StateSummary> states;
  ASSIGN_OR_RETURN(HistoryWalk walk,
                   WalkHistory(env, request.execution_arn(), kMaxSummaryEvents, [&](const engine::HistoryEventRecord& e) {
                     Fold(e, states);
                     return true;
                   }));

  google::protobuf::Struct summary;
  auto& fields = *summary.mutable_fields();
  fields["executionArn"].set_string_value(execution.arn);
  fields["status"].set_string_value(v1::ExecutionStatus_Name(ToProto(execution.status)));
  fields["eventsRead"].set_number_value(static_cast<double>(walk.read));
  fields["truncated"].set_bool_value(walk.truncated);
  auto& by_state = *fields["states"].mutable_struct_value()->mutable_fields();
  for (const auto& [name, s] : states) {
    auto& out = *by_state[name].mutable_struct_value()->mutable_fields();
    out["status"].set_string_value(StateStatus(s, execution.status));
    out["entered"].set_number_value(static_cast<double>(s.entered));
    out["exited"].set_number_value(static_cast<double>(s.exited));
    out["lastInput"] = JsonValue(s.last_input);
    out["lastOutput"] = JsonValue(s.last_output);
    if (!s.map_iterations.empty()) {
      auto& iterations = *out["mapIterations"].mutable_struct_value()->mutable_fields();
      for (const auto& [what, n] : s.map_iterations) {
        iterations[what].set_number_value(static_cast<double>(n));
      }
    }
  }
  return summary;
}

}  // namespace stepflow::api
