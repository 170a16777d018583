// The partition's task and dead-letter operations: starting a task a worker polled, workers' reports,
// redrives and discards. They run on the partition thread inside a commit group and answer after its commit.
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/errors.h"
#include "engine/partition.h"
#include "engine/tasks.h"

namespace stepflow::engine {
namespace {

// Calls `done` with `result` after the group's commit, or with the commit's error.
template <typename T>
Partition::Reply AnswerAfterCommit(absl::StatusOr<T> result, absl::AnyInvocable<void(absl::StatusOr<T>)> done) {
  return [done = std::move(done), result = std::move(result)](const absl::Status& commit) mutable {
    if (!commit.ok()) {
      done(commit);
      return;
    }
    done(std::move(result));
  };
}

}  // namespace

void Partition::StartTask(const std::string& id, std::uint64_t task_id, const std::string& worker, bool lazy,
                          absl::AnyInvocable<void(absl::StatusOr<bool>)> done) {
  if (lazy) {
    // Nothing to commit now, so nothing to wait for: false when cancelled, timed out or already taken.
    done(driver_.LeaseTask(id, task_id, worker));
    return;
  }
  std::optional<sm::TaskStanding> standing = driver_.TaskStanding(id, task_id);
  if (!standing || *standing != sm::TaskStanding::kPending) {
    done(false);  // cancelled, timed out or already started since it was offered
    return;
  }
  DriverInput input;
  input.kind = DriverInput::Kind::kTaskStarted;
  input.execution_id = id;
  input.task_id = task_id;
  input.worker = worker;
  driver_.Post(std::move(input));
  absl::Status applied = driver_.ProcessInbox();
  AfterCommit(AnswerAfterCommit<bool>(applied.ok() ? absl::StatusOr<bool>(true) : absl::StatusOr<bool>(applied),
                                      std::move(done)));
}

void Partition::ReportTask(DriverInput input, const std::string& token,
                           absl::AnyInvocable<void(absl::StatusOr<bool>)> done) {
  const std::string id = input.execution_id;
  const bool heartbeat = input.kind == DriverInput::Kind::kTaskHeartbeat;
  bool loaded_ended = false;
  absl::StatusOr<bool> result = [&]() -> absl::StatusOr<bool> {
    // Timers due by now come first: a report at or after the task's TimeoutSeconds/HeartbeatSeconds deadline
    // is refused (TaskTimedOut), whatever order the group's work would have put them in.
    RETURN_IF_ERROR(driver_.FireDueTimers());
    if (driver_.Find(id) == nullptr) {
      absl::Status ensured = Ensure(id);
      if (absl::IsNotFound(ensured)) {
        return errors::TaskDoesNotExist(token);
      }
      RETURN_IF_ERROR(ensured);
      loaded_ended = driver_.Find(id) != nullptr && driver_.Find(id)->status() != sm::ExecutionStatus::kRunning;
    }
    const sm::Execution* e = driver_.Find(id);
    if (e == nullptr) {
      return absl::InternalError("a loaded execution is not in memory");
    }
    switch (e->task_standing(input.task_id)) {
      case sm::TaskStanding::kUnknown:
        return errors::TaskDoesNotExist(token);
      case sm::TaskStanding::kTimedOut:
        return errors::TaskTimedOut(token, "the task timed out");
      case sm::TaskStanding::kCancelled:
        if (heartbeat) {
          return true;
        }
        return errors::TaskTimedOut(token, e->status() == sm::ExecutionStatus::kRunning
                                               ? "the execution no longer wants the task"
                                               : "the execution has ended");
      case sm::TaskStanding::kAnswered:
        return heartbeat;  // a repeated result changes nothing; a heartbeat learns the task is over
      case sm::TaskStanding::kPending:
      case sm::TaskStanding::kStarted:
        break;
    }
    const std::uint64_t task_id = input.task_id;
    const bool result = !heartbeat;
    driver_.Post(std::move(input));
    RETURN_IF_ERROR(driver_.ProcessInbox());
    if (result) {
      // A result for a task nobody polled (.waitForTaskToken completed by another client) leaves the queue.
      dispatcher_.Cancel(id, task_id);
    }
    return false;
  }();
  if (loaded_ended) {
    driver_.Release(id);  // evicted after the commit
  }
  AfterCommit(AnswerAfterCommit<bool>(std::move(result), std::move(done)));
}

absl::StatusOr<ExecutionInfoRecord> Partition::Redrive(const std::string& id,
                                                      const sm::RedrivenDeadLetters& dead_letters) {
  absl::Status redriven = driver_.Redrive(id, dead_letters);
  if (absl::IsFailedPrecondition(redriven)) {
    return errors::ExecutionNotRedrivable(id, redriven.message());
  }
  RETURN_IF_ERROR(redriven);
  std::optional<ExecutionInfoRecord> record = driver_.Describe(id);
  if (!record) {
    return absl::InternalError("InternalFailure: a redriven execution is not in memory");
  }
  return *std::move(record);
}

void Partition::RedriveExecution(const std::string& id,
                                 absl::AnyInvocable<void(absl::StatusOr<ExecutionInfoRecord>)> done) {
  absl::StatusOr<ExecutionInfoRecord> result = [&]() -> absl::StatusOr<ExecutionInfoRecord> {
    RETURN_IF_ERROR(Ensure(id));
    return Redrive(id, {});
  }();
  driver_.Release(id);  // evicted after the commit, unless it runs again
  AfterCommit(AnswerAfterCommit<ExecutionInfoRecord>(std::move(result), std::move(done)));
}

void Partition::RedriveDeadLetters(const std::string& id, sm::RedrivenDeadLetters dead_letters,
                                   absl::AnyInvocable<void(absl::StatusOr<std::vector<DeadLetterOutcome>>)> done) {
  absl::StatusOr<std::vector<DeadLetterOutcome>> result = [&]() -> absl::StatusOr<std::vector<DeadLetterOutcome>> {
    std::vector<DeadLetterOutcome> outcomes;
    sm::RedrivenDeadLetters present;
    for (auto& [task_id, patched] : dead_letters) {
      ASSIGN_OR_RETURN(bool exists, driver_.DeadLetterExists(id, task_id));
      const std::string token = DeadLetterId(id, task_id);
      if (!exists) {
        outcomes.push_back(DeadLetterOutcome{token, id, errors::DeadLetterDoesNotExist(token)});
        continue;
      }
      outcomes.push_back(DeadLetterOutcome{token, id, absl::OkStatus()});
      present[task_id] = std::move(patched);
    }
    if (present.empty()) {
      return outcomes;
    }
    RETURN_IF_ERROR(Ensure(id));
    absl::Status redriven = Redrive(id, present).status();
    for (DeadLetterOutcome& o : outcomes) {
      if (o.status.ok()) {
        o.status = redriven;
      }
    }
    return outcomes;
  }();
  driver_.Release(id);
  AfterCommit(AnswerAfterCommit<std::vector<DeadLetterOutcome>>(std::move(result), std::move(done)));
}

void Partition::DiscardDeadLetter(const std::string& id, std::uint64_t task_id, const std::string& state_name,
                                  absl::AnyInvocable<void(absl::StatusOr<bool>)> done) {
  absl::StatusOr<bool> result = [&]() -> absl::StatusOr<bool> {
    ASSIGN_OR_RETURN(bool exists, driver_.DeadLetterExists(id, task_id));
    if (!exists) {
      return errors::DeadLetterDoesNotExist(DeadLetterId(id, task_id));
    }
    RETURN_IF_ERROR(Ensure(id));
    absl::Status discarded = driver_.DiscardDeadLetter(id, task_id, state_name);
    if (!discarded.ok() && errors::AwsErrorName(discarded).empty()) {
      return absl::Status(discarded.code(), absl::StrCat("DeadLetterNotDiscardable: ", discarded.message()));
    }
    RETURN_IF_ERROR(discarded);
    return true;
  }();
  driver_.Release(id);
  AfterCommit(AnswerAfterCommit<bool>(std::move(result), std::move(done)));
}

}  // namespace stepflow::engine
