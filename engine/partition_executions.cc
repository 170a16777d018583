// The partition's execution operations: start (idempotent by id), stop, recovery by replay and reloading
// executions dropped after a failed commit. They run on the partition thread inside a commit group.

#include <utility>

#include "common/status.h"
#include "engine/errors.h"
#include "engine/execution_counts.h"
#include "engine/partition.h"
#include "engine/replay.h"
#include "spdlog/spdlog.h"

namespace stepflow::engine {
namespace {

using Done = absl::AnyInvocable<void(absl::StatusOr<ExecutionInfoRecord>)>;

// AWS compares the input of a repeated StartExecution as a document: the same text, or the same JSON.
bool SameInput(const ExecutionInfoRecord& existing, const StartRequest& request) {
  if (existing.input == request.meta.input_text) {
    return true;
  }
  absl::StatusOr<boost::json::value> parsed = ParseExecutionInput(existing.input);
  return parsed.ok() && *parsed == request.input;
}

absl::StatusOr<ExecutionInfoRecord> ExistingOrConflict(const ExecutionInfoRecord& existing,
                                                       const StartRequest& request) {
  if (SameInput(existing, request)) {
    return existing;
  }
  return errors::ExecutionAlreadyExists(existing.arn);
}

absl::StatusOr<std::optional<StoredExecution>> ReadRecord(storage::Store& store, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<std::string> value, store.Get(storage::Column::kExecutions, id));
  if (!value) {
    return std::optional<StoredExecution>();
  }
  ASSIGN_OR_RETURN(StoredExecution stored, DecodeExecutionRecord(*value));
  return std::optional<StoredExecution>(std::move(stored));
}

}  // namespace

void Partition::StartExecution(StartRequest request, Done done) {
  const std::string id = request.info.execution_arn;
  absl::StatusOr<ExecutionInfoRecord> result = [&]() -> absl::StatusOr<ExecutionInfoRecord> {
    if (std::optional<ExecutionInfoRecord> in_memory = driver_.Describe(id)) {
      return ExistingOrConflict(*in_memory, request);
    }
    ASSIGN_OR_RETURN(std::optional<StoredExecution> stored, ReadRecord(*store_, id));
    if (stored) {
      return ExistingOrConflict(stored->record, request);
    }
    RETURN_IF_ERROR(driver_.Start(std::move(request.machine), std::move(request.info), std::move(request.input),
                                  std::move(request.meta)));
    std::optional<ExecutionInfoRecord> started = driver_.Describe(id);
    if (!started) {
      return absl::InternalError("a started execution is not in memory");
    }
    return *std::move(started);
  }();
  AfterCommit([done = std::move(done), result = std::move(result)](const absl::Status& commit) mutable {
    if (!commit.ok()) {
      done(commit);
      return;
    }
    done(std::move(result));
  });
}

void Partition::StopExecution(const std::string& id, const std::string& error, const std::string& cause, Done done) {
  absl::StatusOr<ExecutionInfoRecord> result = [&]() -> absl::StatusOr<ExecutionInfoRecord> {
    if (driver_.Find(id) == nullptr) {
      ASSIGN_OR_RETURN(std::optional<StoredExecution> stored, ReadRecord(*store_, id));
      if (!stored) {
        return errors::ExecutionDoesNotExist(id);
      }
      if (stored->record.status != sm::ExecutionStatus::kRunning) {
        return errors::ExecutionNotRunning(id, sm::ExecutionStatusName(stored->record.status));
      }
      RETURN_IF_ERROR(Load(id));
    }
    absl::Status stopped = driver_.Stop(id, error, cause);
    if (absl::IsFailedPrecondition(stopped)) {
      const sm::Execution* e = driver_.Find(id);
      return errors::ExecutionNotRunning(id, e != nullptr ? sm::ExecutionStatusName(e->status()) : "unknown");
    }
    RETURN_IF_ERROR(stopped);
    std::optional<ExecutionInfoRecord> record = driver_.Describe(id);
    if (!record) {
      return absl::InternalError("a stopped execution is not in memory");
    }
    return *std::move(record);
  }();
  AfterCommit([done = std::move(done), result = std::move(result)](const absl::Status& commit) mutable {
    if (!commit.ok()) {
      done(commit);
      return;
    }
    done(std::move(result));
  });
}

absl::Status Partition::Recover(const std::vector<std::string>& ids,
                                std::set<std::tuple<common::EpochMillis, std::string, std::uint64_t>>* timers,
                                std::vector<std::pair<std::string, absl::Status>>* unrecoverable,
                                std::set<std::string>* loaded_before) {
  absl::Status first_error;
  for (const std::string& id : ids) {
    if (driver_.Find(id) != nullptr) {
      loaded_before->insert(id);  // a call that came during recovery loaded it already
      continue;
    }
    absl::Status s = Load(id);
    if (s.ok()) {
      continue;
    }
    if (absl::IsUnavailable(s)) {
      spdlog::error("partition {}: recovering execution={}: {}", index_, id, std::string(s.message()));
      if (first_error.ok()) {
        first_error = s;
      }
      reload_[id] = clock_->NowMillis() + options_.reload_delay_ms;  // the store is failing: try again later
      continue;
    }
    unrecoverable->emplace_back(id, s);  // a corrupt or unreplayable execution: quarantined by the engine
  }
  for (const std::string& id : ids) {
    if (loaded_before->count(id) != 0) {
      continue;
    }
    for (const auto& [timer_id, due] : driver_.PendingTimers(id)) {
      timers->insert({due, id, timer_id});
    }
  }
  return first_error;
}

void Partition::TerminateQuarantined(const QuarantinedExecution& quarantined, const std::string& error,
                                     const std::string& cause, Done done) {
  ExecutionInfoRecord terminated;
  absl::StatusOr<storage::WriteBatch> batch =
      TerminationBatch(*store_, quarantined, error, cause, clock_->NowMillis(), &terminated);
  absl::Status committed = batch.status();
  if (batch.ok() && fence_.has_value()) {
    batch->SetFence(*fence_);
  }
  if (batch.ok() && options_.execution_counts != nullptr) {
    committed = options_.execution_counts->CommitWithChange(
        *store_, *std::move(batch),
        CountScopes{terminated.state_machine_name, terminated.version_arn, terminated.alias_arn},
        sm::ExecutionStatusName(sm::ExecutionStatus::kRunning), sm::ExecutionStatusName(terminated.status));
  } else if (batch.ok()) {
    committed = store_->Commit(*batch);
  }
  if (!committed.ok()) {
    done(committed);
    return;
  }
  watchers_.Notify({CommitWatchers::Touched{terminated.arn, /*ended=*/true}});
  done(std::move(terminated));
}

absl::Status Partition::Load(const std::string& id, bool ended) {
  MachineLookup machines = [this](const std::string& name, std::int64_t version) {
    return definitions_->Machine(name, version);
  };
  ASSIGN_OR_RETURN(ReplayedExecution replayed, LoadExecution(*store_, id, machines, options_.task_tokens,
                                                                    options_.snapshots.key));
  if (!ended && replayed.execution->status() != sm::ExecutionStatus::kRunning) {
    return absl::OkStatus();  // nothing left to drive
  }
  return driver_.Restore(std::move(replayed));
}

absl::Status Partition::Ensure(const std::string& id) {
  if (driver_.Find(id) != nullptr) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::optional<StoredExecution> stored, ReadRecord(*store_, id));
  if (!stored) {
    return errors::ExecutionDoesNotExist(id);
  }
  return Load(id, /*ended=*/true);
}

void Partition::ReloadDue() {
  const common::EpochMillis now = clock_->NowMillis();
  for (auto it = reload_.begin(); it != reload_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    const std::string id = it->first;
    it = reload_.erase(it);
    if (driver_.Find(id) != nullptr) {
      continue;
    }
    absl::Status s = Load(id);
    if (absl::IsUnavailable(s)) {
      reload_[id] = now + options_.reload_delay_ms;  // the store is still failing: try again later
    } else if (!s.ok() && !absl::IsNotFound(s)) {
      spdlog::error("partition {}: reloading execution {}: {}", index_, id, std::string(s.message()));
    }
  }
}

}  // namespace stepflow::engine
