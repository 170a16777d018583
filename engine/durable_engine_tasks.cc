// DurableEngine's task, dead-letter and redrive calls (engine/engine.h has the contract).
#include <algorithm>
#include <future>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/durable_engine.h"
#include "engine/errors.h"
#include "engine/input_log.h"
#include "engine/names.h"
#include "engine/paging.h"
#include "engine/records.h"
#include "engine/tasks.h"

namespace stepflow::engine {

template <typename T>
absl::StatusOr<T> DurableEngine::Call(
    const std::string& id, absl::AnyInvocable<void(Partition&, absl::AnyInvocable<void(absl::StatusOr<T>)>)> op) {
  RETURN_IF_ERROR(RefuseIfServedElsewhere(id));
  auto promise = std::make_shared<std::promise<absl::StatusOr<T>>>();
  std::future<absl::StatusOr<T>> answer = promise->get_future();
  Partition& partition = PartitionFor(id);
  if (!partition.Post([&partition, op = std::move(op), promise]() mutable {
        op(partition, [promise](absl::StatusOr<T> result) { promise->set_value(std::move(result)); });
      })) {
    return errors::ShuttingDown();
  }
  return answer.get();
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::RedriveExecution(const std::string& execution_arn) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  RETURN_IF_ERROR(ValidateExecutionArn(execution_arn));
  RETURN_IF_ERROR(RefuseIfQuarantined(execution_arn));
  return CallPartition(execution_arn, [execution_arn](Partition& p, Done done) mutable {
    p.RedriveExecution(execution_arn, std::move(done));
  });
}

absl::StatusOr<std::optional<PolledTask>> DurableEngine::PollTask(const std::string& queue, const std::string& worker,
                                                                  common::EpochMillis deadline,
                                                                  const std::function<bool()>& gone) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  if (queue.empty()) {
    return absl::InvalidArgumentError("InvalidArgument: the queue name is empty");
  }
  while (true) {
    std::optional<QueuedTask> task = matcher_.Take(queue, deadline);
    if (!task) {
      return std::optional<PolledTask>();
    }
    if (gone && gone()) {
      matcher_.Offer(*std::move(task), /*front=*/true);  // nobody would receive it
      return std::optional<PolledTask>();
    }
    const std::string id = task->execution_id;
    const std::uint64_t task_id = task->task_id;
    // Without HeartbeatSeconds, TaskStarted may wait for the task's result and be committed with it.
    const bool lazy = options_.lazy_task_start && !task->heartbeat_seconds.has_value();
    absl::StatusOr<bool> started = Call<bool>(
        id, [id, task_id, worker, lazy](Partition& p, absl::AnyInvocable<void(absl::StatusOr<bool>)> done) {
          p.StartTask(id, task_id, worker, lazy, std::move(done));
        });
    RETURN_IF_ERROR(started.status());
    if (!*started) {
      continue;  // withdrawn since it was offered: take the next one
    }
    PolledTask polled;
    polled.token = task_tokens_->Mint(id, task_id);
    polled.queue = std::move(task->queue);
    polled.input = std::move(task->input);
    polled.execution_arn = id;
    polled.state_machine_arn = std::move(task->state_machine_arn);
    polled.state_name = std::move(task->state_name);
    polled.attempt = task->attempt;
    polled.scheduled = task->scheduled;
    if (task->timeout_seconds) {
      polled.deadline = task->scheduled + static_cast<common::EpochMillis>(*task->timeout_seconds * 1000);
    }
    polled.heartbeat_seconds = task->heartbeat_seconds ? static_cast<int>(*task->heartbeat_seconds) : 0;
    return std::optional<PolledTask>(std::move(polled));
  }
}

absl::StatusOr<bool> DurableEngine::Report(const std::string& token, DriverInput input) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  ASSIGN_OR_RETURN(auto parsed, task_tokens_->Verify(token));
  input.execution_id = parsed.first;
  input.task_id = parsed.second;
  const std::string id = parsed.first;
  RETURN_IF_ERROR(RefuseIfQuarantined(id));
  return Call<bool>(id, [input = std::move(input), token](
                            Partition& p, absl::AnyInvocable<void(absl::StatusOr<bool>)> done) mutable {
    p.ReportTask(std::move(input), token, std::move(done));
  });
}

absl::Status DurableEngine::CompleteTask(const std::string& token, const std::string& output) {
  const std::string text = output.empty() ? "{}" : output;
  if (text.size() > options_.limits.max_payload_bytes) {
    // The interpreter fails the state with States.DataLimitExceeded; this only guards the server.
    if (text.size() > 4 * options_.limits.max_payload_bytes) {
      return errors::InvalidOutput(absl::StrCat("the output is ", text.size(), " bytes"));
    }
  }
  absl::StatusOr<boost::json::value> parsed = ParseExecutionInput(text);
  if (!parsed.ok()) {
    return errors::InvalidOutput(absl::StrCat("the output is not valid JSON: ", parsed.status().message()));
  }
  DriverInput input;
  input.kind = DriverInput::Kind::kTaskSucceeded;
  input.output = *std::move(parsed);
  return Report(token, std::move(input)).status();
}

absl::Status DurableEngine::FailTask(const std::string& token, const std::string& error, const std::string& cause) {
  DriverInput input;
  input.kind = DriverInput::Kind::kTaskFailed;
  input.error = error.empty() ? "States.TaskFailed" : error;
  input.cause = cause;
  return Report(token, std::move(input)).status();
}

absl::StatusOr<bool> DurableEngine::HeartbeatTask(const std::string& token) {
  DriverInput input;
  input.kind = DriverInput::Kind::kTaskHeartbeat;
  return Report(token, std::move(input));
}

bool DurableEngine::Matches(const DeadLetterRecord& r, const DeadLetterFilter& filter, const std::string& machine) {
  return (filter.queue.empty() || r.queue == filter.queue) && (machine.empty() || r.state_machine_arn == machine) &&
         (filter.error.empty() || r.error() == filter.error) &&
         (!filter.created_after || r.created >= *filter.created_after) &&
         (!filter.created_before || r.created < *filter.created_before);
}

absl::StatusOr<Page<DeadLetterRecord>> DurableEngine::ListDeadLetters(const DeadLetterFilter& filter, int page_size,
                                                                      const std::string& page_token) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  std::string machine;
  if (!filter.state_machine.empty()) {
    ASSIGN_OR_RETURN(std::string name, StateMachineNameOf(filter.state_machine));
    machine = StateMachineArn(name);
  }
  ASSIGN_OR_RETURN(std::string start_after, DecodePageToken(page_token, ""));
  const int limit = ClampPageSize(page_size);
  Page<DeadLetterRecord> page;
  std::string last_key;
  std::size_t bytes = 0;
  bool more = false;
  absl::Status decode_error;
  RETURN_IF_ERROR(store_->Scan(storage::Column::kDeadLetters, "", start_after, false,
                               [&](std::string_view key, std::string_view value) {
                                 absl::StatusOr<DeadLetterRecord> r = DecodeDeadLetter(value);
                                 if (!r.ok()) {
                                   decode_error = r.status();
                                   return false;
                                 }
                                 if (!Matches(*r, filter, machine)) {
                                   return true;
                                 }
                                 // The stored row's size stands for the entry's (input, attempts).
                                 if (static_cast<int>(page.items.size()) == limit ||
                                     (!page.items.empty() &&
                                      value.size() > kMaxPageBytes - std::min(bytes, kMaxPageBytes))) {
                                   more = true;
                                   return false;
                                 }
                                 bytes += value.size();
                                 page.items.push_back(*std::move(r));
                                 last_key = std::string(key);
                                 return true;
                               }));
  RETURN_IF_ERROR(decode_error);
  if (more) {
    page.next_page_token = EncodePageToken(last_key);
  }
  return page;
}

absl::StatusOr<DeadLetterRecord> DurableEngine::GetDeadLetter(const std::string& id) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  absl::StatusOr<std::pair<std::string, std::uint64_t>> parsed = ParseDeadLetterId(id);
  if (!parsed.ok()) {
    return errors::DeadLetterDoesNotExist(id);
  }
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   store_->Get(storage::Column::kDeadLetters, DeadLetterKey(parsed->first, parsed->second)));
  if (!value) {
    return errors::DeadLetterDoesNotExist(id);
  }
  return DecodeDeadLetter(*value);
}

absl::StatusOr<std::vector<DeadLetterRecord>> DurableEngine::SelectDeadLetters(const std::string& id,
                                                                               const DeadLetterFilter& filter) {
  if (!id.empty()) {
    ASSIGN_OR_RETURN(DeadLetterRecord r, GetDeadLetter(id));
    return std::vector<DeadLetterRecord>{std::move(r)};
  }
  std::vector<DeadLetterRecord> all;
  std::string token;
  do {
    ASSIGN_OR_RETURN(Page<DeadLetterRecord> page, ListDeadLetters(filter, kMaxPageSize, token));
    for (DeadLetterRecord& r : page.items) {
      all.push_back(std::move(r));
    }
    token = page.next_page_token;
  } while (!token.empty());
  return all;
}

absl::StatusOr<std::vector<DeadLetterOutcome>> DurableEngine::RedriveDeadLetters(
    const std::string& id, const DeadLetterFilter& filter, const std::optional<std::string>& input) {
  std::optional<boost::json::value> patched;
  if (input) {
    absl::StatusOr<boost::json::value> parsed = ParseExecutionInput(*input);
    if (!parsed.ok()) {
      return errors::InvalidExecutionInput(absl::StrCat("the patched input is not valid JSON: ",
                                                        parsed.status().message()));
    }
    patched = *std::move(parsed);
  }
  ASSIGN_OR_RETURN(std::vector<DeadLetterRecord> selected, SelectDeadLetters(id, filter));
  // One redrive per execution, carrying every selected dead letter of it.
  std::map<std::string, sm::RedrivenDeadLetters> by_execution;
  for (const DeadLetterRecord& r : selected) {
    by_execution[r.execution_id][r.task_id] = patched;
  }
  // The partition checks that each entry is still in the list in the step that redrives it.
  std::vector<DeadLetterOutcome> outcomes;
  for (auto& [execution, dead_letters] : by_execution) {
    CallGuard guard(this);
    if (!guard) {
      return errors::ShuttingDown();
    }
    if (absl::Status refused = RefuseIfQuarantined(execution); !refused.ok()) {
      for (const auto& [task_id, unused] : dead_letters) {
        outcomes.push_back(DeadLetterOutcome{DeadLetterId(execution, task_id), execution, refused});
      }
      continue;
    }
    using Outcomes = std::vector<DeadLetterOutcome>;
    absl::StatusOr<Outcomes> redriven = Call<Outcomes>(
        execution, [id = execution, dls = dead_letters](Partition& p,
                                                        absl::AnyInvocable<void(absl::StatusOr<Outcomes>)> done) mutable {
          p.RedriveDeadLetters(id, std::move(dls), std::move(done));
        });
    if (!redriven.ok()) {
      for (const auto& [task_id, unused] : dead_letters) {
        outcomes.push_back(
            DeadLetterOutcome{DeadLetterId(execution, task_id), execution, errors::WithErrorName(redriven.status())});
      }
      continue;
    }
    for (DeadLetterOutcome& o : *redriven) {
      o.status = errors::WithErrorName(o.status);
      outcomes.push_back(std::move(o));
    }
  }
  return outcomes;
}

absl::StatusOr<std::vector<DeadLetterOutcome>> DurableEngine::DiscardDeadLetters(const std::string& id,
                                                                                 const DeadLetterFilter& filter) {
  ASSIGN_OR_RETURN(std::vector<DeadLetterRecord> selected, SelectDeadLetters(id, filter));
  std::vector<DeadLetterOutcome> outcomes;
  for (const DeadLetterRecord& r : selected) {
    CallGuard guard(this);
    if (!guard) {
      return errors::ShuttingDown();
    }
    const std::string execution = r.execution_id;
    if (absl::Status refused = RefuseIfQuarantined(execution); !refused.ok()) {
      outcomes.push_back(DeadLetterOutcome{r.id, execution, refused});
      continue;
    }
    const std::uint64_t task_id = r.task_id;
    const std::string state = r.state_name;
    absl::StatusOr<bool> discarded = Call<bool>(
        execution, [execution, task_id, state](Partition& p, absl::AnyInvocable<void(absl::StatusOr<bool>)> done) {
          p.DiscardDeadLetter(execution, task_id, state, std::move(done));
        });
    outcomes.push_back(DeadLetterOutcome{r.id, execution, errors::WithErrorName(discarded.status())});
  }
  return outcomes;
}

}  // namespace stepflow::engine
