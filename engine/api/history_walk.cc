// history_walk.h: the history read page by page from its first event.
#include "engine/api/history_walk.h"

#include "common/precise_json.h"
#include "common/status.h"

namespace stepflow::api {
namespace {

constexpr int kWalkPageSize = 1000;

}  // namespace

absl::StatusOr<HistoryWalk> WalkHistory(ServiceEnv& env, const std::string& arn, std::int64_t max_events,
                                        const std::function<bool(const engine::HistoryEventRecord&)>& visit) {
  HistoryWalk walk;
  std::string token;
  do {
    if (walk.read >= max_events) {
      walk.truncated = true;
      return walk;
    }
    ASSIGN_OR_RETURN(engine::Page<engine::HistoryEventRecord> page,
                     env.engine->GetExecutionHistory(arn, kWalkPageSize, token, false));
    for (const engine::HistoryEventRecord& event : page.items) {
      if (!visit(event)) {
        return walk;
      }
      ++walk.read;
    }
    token = page.next_page_token;
  } while (!token.empty());
  return walk;
}

std::optional<boost::json::object> DetailsOf(const engine::HistoryEventRecord& event) {
  boost::json::error_code ec;
  std::optional<boost::json::value> details = common::ParsePreciseJson(event.details, ec);
  if (!details || !details->is_object()) {
    return std::nullopt;
  }
  return std::move(details->get_object());
}

}  // namespace stepflow::api
