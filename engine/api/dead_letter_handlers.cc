// The dead-letter handlers (handlers.h).
#include <spdlog/spdlog.h>

#include <optional>

#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/handlers.h"
#include "engine/api/page_tokens.h"

namespace stepflow::api {
namespace {

using Outcomes = std::vector<engine::DeadLetterOutcome>;

void AddOutcomes(const Outcomes& outcomes, google::protobuf::RepeatedPtrField<v1::DeadLetterOutcome>* out) {
  for (const engine::DeadLetterOutcome& o : outcomes) {
    v1::DeadLetterOutcome* p = out->Add();
    p->set_id(o.id);
    p->set_execution_arn(o.execution_arn);
    if (!o.status.ok()) {
      p->set_error(std::string(o.status.message()));
    }
  }
}

absl::Status RequireOneSelector(const std::string& id, bool has_filter) {
  if (!id.empty() && has_filter) {
    return absl::InvalidArgumentError("ValidationException: give either id or filter, not both");
  }
  if (id.empty() && !has_filter) {
    return absl::InvalidArgumentError(
        "ValidationException: give an id, or a filter (an empty filter selects every dead letter)");
  }
  return absl::OkStatus();
}

// What redrive and discard check before they act on one dead letter (`id`) or on those `filter` selects.
absl::Status CheckBulk(const ServiceEnv& env, const std::string& id, const v1::DeadLetterFilter* filter) {
  RETURN_IF_ERROR(RequireOneSelector(id, filter != nullptr));
  if (filter != nullptr) {
    RETURN_IF_ERROR(CheckTimestamps(*filter));
  }
  return CheckNotStopping(env);
}

}  // namespace

absl::StatusOr<v1::ListDeadLettersResponse> ListDeadLetters(ServiceEnv& env,
                                                            const v1::ListDeadLettersRequest& request) {
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size(), kDefaultListPageSize));
  const std::string scope = request.filter().SerializeAsString();
  ASSIGN_OR_RETURN(std::string page_token, OpenPageToken(*env.engine, "dead-letters", scope, request.page_token()));
  RETURN_IF_ERROR(CheckTimestamps(request.filter()));
  ASSIGN_OR_RETURN(engine::Page<engine::DeadLetterRecord> page,
                   env.engine->ListDeadLetters(FromProto(request.filter()), page_size, page_token));
  v1::ListDeadLettersResponse response;
  for (const engine::DeadLetterRecord& r : page.items) {
    *response.add_dead_letters() = ToProto(r);
  }
  response.set_next_page_token(SealPageToken(*env.engine, "dead-letters", scope, page.next_page_token));
  return response;
}

absl::StatusOr<v1::DeadLetter> GetDeadLetter(ServiceEnv& env, const v1::GetDeadLetterRequest& request) {
  RETURN_IF_ERROR(RequireField(request.id(), "id"));
  ASSIGN_OR_RETURN(engine::DeadLetterRecord record, env.engine->GetDeadLetter(request.id()));
  return ToProto(record);
}

absl::StatusOr<v1::RedriveDeadLettersResponse> RedriveDeadLetters(ServiceEnv& env,
                                                                  const v1::RedriveDeadLettersRequest& request) {
  RETURN_IF_ERROR(CheckBulk(env, request.id(), request.has_filter() ? &request.filter() : nullptr));
  std::optional<std::string> input;
  if (!request.input().empty()) {
    input = request.input();
  }
  ASSIGN_OR_RETURN(Outcomes outcomes,
                   env.engine->RedriveDeadLetters(request.id(), FromProto(request.filter()), input));
  spdlog::info("dead letters redriven: {} selected", outcomes.size());
  v1::RedriveDeadLettersResponse response;
  AddOutcomes(outcomes, response.mutable_outcomes());
  return response;
}

absl::StatusOr<v1::DiscardDeadLettersResponse> DiscardDeadLetters(ServiceEnv& env,
                                                                  const v1::DiscardDeadLettersRequest& request) {
  RETURN_IF_ERROR(CheckBulk(env, request.id(), request.has_filter() ? &request.filter() : nullptr));
  ASSIGN_OR_RETURN(Outcomes outcomes, env.engine->DiscardDeadLetters(request.id(), FromProto(request.filter())));
  spdlog::info("dead letters discarded: {} selected", outcomes.size());
  v1::DiscardDeadLettersResponse response;
  AddOutcomes(outcomes, response.mutable_outcomes());
  return response;
}

}  // namespace stepflow::api
