// Executions counted per status (handlers.h: CountExecutions), with the list's filters: the engine's exact
// counts, or a bounded walk of the list when the filters are more than the engine counts by.
#include <google/protobuf/struct.pb.h>

#include <map>
#include <optional>
#include <string>

#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/handlers.h"
#include "engine/qualified_arns.h"

namespace stepflow::api {
namespace {

constexpr sm::ExecutionStatus kCountedStatuses[] = {
    sm::ExecutionStatus::kRunning, sm::ExecutionStatus::kSucceeded, sm::ExecutionStatus::kFailed,
    sm::ExecutionStatus::kTimedOut, sm::ExecutionStatus::kAborted};

// The executions `filter` selects, at most kMaxCountedPerStatus (then `capped`).
absl::StatusOr<std::int64_t> CountOne(engine::Engine& engine, const engine::ExecutionFilter& filter, bool& capped) {
  std::int64_t count = 0;
  std::string token;
  do {
    ASSIGN_OR_RETURN(engine::Page<engine::ExecutionInfoRecord> page,
                     engine.ListExecutions(filter, kMaxPageSize, token));
    count += static_cast<std::int64_t>(page.items.size());
    token = page.next_page_token;
  } while (!token.empty() && count < kMaxCountedPerStatus);
  capped = !token.empty();
  return count;
}

// The executions of a version or alias ARN that `filter` selects, each counted under its status (the list takes
// no status filter with such an ARN: engine.h), at most kMaxCountedPerStatus walked per status asked for.
absl::Status CountQualifiedByWalk(engine::Engine& engine, engine::ExecutionFilter filter,
                                  google::protobuf::Map<std::string, google::protobuf::Value>& by_status,
                                  google::protobuf::ListValue& at_least) {
  const std::optional<sm::ExecutionStatus> wanted = filter.status;
  const bool quarantined_only = filter.quarantined;
  filter.status.reset();
  filter.quarantined = false;
  std::map<std::string, std::int64_t> counts;
  if (quarantined_only) {
    counts[v1::ExecutionStatus_Name(v1::QUARANTINED)] = 0;
  } else {
    for (sm::ExecutionStatus status : kCountedStatuses) {
      if (!wanted.has_value() || *wanted == status) {
        counts[v1::ExecutionStatus_Name(ToProto(status))] = 0;
      }
    }
  }
  const std::int64_t cap = kMaxCountedPerStatus * static_cast<std::int64_t>(counts.size());
  std::int64_t walked = 0;
  std::string token;
  do {
    ASSIGN_OR_RETURN(engine::Page<engine::ExecutionInfoRecord> page,
                     engine.ListExecutions(filter, kMaxPageSize, token));
    for (const engine::ExecutionInfoRecord& r : page.items) {
      const std::string name = r.quarantined ? v1::ExecutionStatus_Name(v1::QUARANTINED)
                                             : v1::ExecutionStatus_Name(ToProto(r.status));
      if (auto it = counts.find(name); it != counts.end()) {
        ++it->second;
      }
    }
    walked += static_cast<std::int64_t>(page.items.size());
    token = page.next_page_token;
  } while (!token.empty() && walked < cap);
  for (const auto& [name, n] : counts) {
    by_status[name].set_number_value(static_cast<double>(n));
    if (!token.empty()) {
      at_least.add_values()->set_string_value(name);  // the walk stopped early: every count is a lower bound
    }
  }
  return absl::OkStatus();
}

// Exact, from the engine's counters: no filter but the state machine and the status.
absl::Status EngineCounts(ServiceEnv& env, const engine::ExecutionFilter& filter,
                          google::protobuf::Map<std::string, google::protobuf::Value>& by_status) {
  ASSIGN_OR_RETURN(engine::ExecutionCounts counts, env.engine->CountExecutions(filter.state_machine));
  for (sm::ExecutionStatus status : kCountedStatuses) {
    if (!filter.quarantined && (!filter.status.has_value() || *filter.status == status)) {
      by_status[v1::ExecutionStatus_Name(ToProto(status))].set_number_value(
          static_cast<double>(counts.by_status[status]));
    }
  }
  if (filter.quarantined || !filter.status.has_value()) {
    by_status[v1::ExecutionStatus_Name(v1::QUARANTINED)].set_number_value(static_cast<double>(counts.quarantined));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<google::protobuf::Struct> CountExecutions(ServiceEnv& env, const v1::ListExecutionsRequest& request) {
  if (!request.page_token().empty() || request.page_size() != 0) {
    return absl::InvalidArgumentError("ValidationException: counts take the list's filters, not its paging");
  }
  ASSIGN_OR_RETURN(engine::ExecutionFilter filter, ToFilter(request));
  google::protobuf::Struct counts;
  auto& fields = *counts.mutable_fields();
  auto& by_status = *fields["counts"].mutable_struct_value()->mutable_fields();
  auto& at_least = *fields["atLeast"].mutable_list_value();
  fields["cap"].set_number_value(static_cast<double>(kMaxCountedPerStatus));
  const bool exact = filter.name_prefix.empty() && !filter.started_after && !filter.started_before;
  fields["exact"].set_bool_value(exact);
  if (exact) {
    RETURN_IF_ERROR(EngineCounts(env, filter, by_status));
    return counts;
  }
  if (engine::IsQualifiedArn(filter.state_machine)) {
    RETURN_IF_ERROR(CountQualifiedByWalk(*env.engine, filter, by_status, at_least));
    return counts;
  }
  if (filter.quarantined) {
    bool capped = false;
    ASSIGN_OR_RETURN(std::int64_t n, CountOne(*env.engine, filter, capped));
    by_status[v1::ExecutionStatus_Name(v1::QUARANTINED)].set_number_value(static_cast<double>(n));
    return counts;
  }
  for (sm::ExecutionStatus status : kCountedStatuses) {
    if (filter.status.has_value() && *filter.status != status) {
      continue;
    }
    engine::ExecutionFilter one = filter;
    one.status = status;
    bool capped = false;
    ASSIGN_OR_RETURN(std::int64_t n, CountOne(*env.engine, one, capped));
    const std::string name = v1::ExecutionStatus_Name(ToProto(status));
    by_status[name].set_number_value(static_cast<double>(n));
    if (capped) {
      at_least.add_values()->set_string_value(name);
    }
  }
  return counts;
}

}  // namespace stepflow::api
