// The partition's task and dead-letter operations: starting a task a worker polled, workers' reports,
// redrives and discards. They run on the partition thread inside a commit group and answer after its commit.
#include <utility>

#include "common/status.h"
#include "engine/errors.h"
#include "engine/partition.h"

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

void Partition::StartTask(const std::string& id, std::uint64_t task_id, const std::string& worker,
                          absl::AnyInvocable<void(absl::StatusOr<bool>)> done) {
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
    driver_.Release(id);
  }
  AfterCommit(AnswerAfterCommit<bool>(std::move(result), std::move(done)));
}

void Partition::RedriveExecution(const std::string& id, sm::RedrivenDeadLetters dead_letters,
                                 absl::AnyInvocable<void(absl::StatusOr<ExecutionInfoRecord>)> done) {
  absl::StatusOr<ExecutionInfoRecord> result = [&]() -> absl::StatusOr<ExecutionInfoRecord> {
    RETURN_IF_ERROR(Ensure(id));
    absl::Status redriven = driver_.Redrive(id, dead_letters);
    if (absl::IsFailedPrecondition(redriven)) {
      driver_.Release(id);
      return errors::ExecutionNotRedrivable(id, redriven.message());
    }
    RETURN_IF_ERROR(redriven);
    std::optional<ExecutionInfoRecord> record = driver_.Describe(id);
    if (!record) {
      return absl::InternalError("a redriven execution is not in memory");
    }
    return *std::move(record);
  }();
  AfterCommit(AnswerAfterCommit<ExecutionInfoRecord>(std::move(result), std::move(done)));
}

void Partition::DiscardDeadLetter(const std::string& id, std::uint64_t task_id, const std::string& state_name,
                                  absl::AnyInvocable<void(absl::StatusOr<bool>)> done) {
  absl::StatusOr<bool> result = [&]() -> absl::StatusOr<bool> {
    RETURN_IF_ERROR(Ensure(id));
    RETURN_IF_ERROR(driver_.DiscardDeadLetter(id, task_id, state_name));
    return true;
  }();
  AfterCommit(AnswerAfterCommit<bool>(std::move(result), std::move(done)));
}

}  // namespace stepflow::engine
