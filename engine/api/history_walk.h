#pragma once
// Reading an execution's history from its first event, for the handlers that fold it on the server (the summary,
// a state's data flow; internal to engine/api).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "engine/api/handler_env.h"

namespace stepflow::api {

struct HistoryWalk {
  std::int64_t read = 0;   // events given to the visitor
  bool truncated = false;  // stopped at max_events with events left
};

// Gives the events of execution `arn` to `visit` in order, page by page, until `visit` returns false, the history
// ends, or `max_events` were read (then `truncated`). NotFound for an unknown execution; the engine's errors as
// they are.
absl::StatusOr<HistoryWalk> WalkHistory(ServiceEnv& env, const std::string& arn, std::int64_t max_events,
                                        const std::function<bool(const engine::HistoryEventRecord&)>& visit);

// The details of `event` (AWS's "...EventDetails" object); nullopt when they are not a JSON object.
std::optional<boost::json::object> DetailsOf(const engine::HistoryEventRecord& event);

// True when the event type `type` ends with `suffix` ("PassStateEntered" ends with "StateEntered").
inline bool TypeEndsWith(std::string_view type, std::string_view suffix) {
  return type.size() >= suffix.size() && type.substr(type.size() - suffix.size()) == suffix;
}

}  // namespace stepflow::api
