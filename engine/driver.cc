#include "engine/driver.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/precise_json.h"
#include "common/status.h"
#include "engine/dead_letters.h"
#include "engine/errors.h"
#include "engine/execution_counts.h"
#include "engine/history_rows.h"
#include "engine/records.h"
#include "spdlog/spdlog.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

// An execution record kept as its fields and encoded only when a store needs the bytes (the in-memory store:
// when someone reads it, which a `stepflow run` never does). EncodeStoredExecution of the fields
// MakeExecutionInfoRecord takes is byte for byte what EncodeExecutionRecord writes (driver_test checks it).
class DeferredExecutionRecord final : public storage::DeferredValue {
 public:
  // The fields are made in place: the record has ten strings, and moving them twice cost as much as making them.
  DeferredExecutionRecord(const sm::ExecutionInfo& info, const ExecutionMeta& meta, const sm::Execution& e,
                          common::EpochMillis now)
      : stored_{MakeExecutionInfoRecord(info, meta, e, now), e.last_event_id(), info.express} {}
  void Render(std::string& out) const override { out += EncodeStoredExecution(stored_); }

 private:
  StoredExecution stored_;
};

}  // namespace

Driver::Driver(storage::Store* store, common::Clock* clock, TaskDispatcher* dispatcher, sm::RuntimeValues* runtime,
               DriverOptions options)
    : store_(store), clock_(clock), dispatcher_(dispatcher), runtime_(runtime), options_(options) {}

absl::StatusOr<std::pair<const std::string*, Driver::Entry*>> Driver::NewEntry(
    std::shared_ptr<const sm::StateMachine> machine, sm::ExecutionInfo info, ExecutionMeta meta, InputRecord& start) {
  auto [it, inserted] = executions_.try_emplace(info.execution_arn);
  if (!inserted) {
    return errors::ExecutionAlreadyExists(info.execution_arn);
  }
  Entry& entry = it->second;
  entry.meta = std::move(meta);
  start.kind = InputRecord::Kind::kStart;
  start.now = clock_->NowMillis();
  start.limits = options_.limits;
  if (options_.durable) {  // only the input log reads the start's copy of these
    start.info = info;
    start.state_machine_version = entry.meta.state_machine_version;
  }
  entry.execution = std::make_unique<sm::Execution>(std::move(machine), std::move(info), options_.limits);
  entry.execution->KeepTypedEvents(true);  // Stage writes them with sm::AppendEventDetails
  return std::make_pair(&it->first, &entry);
}

absl::Status Driver::Start(std::shared_ptr<const sm::StateMachine> machine, sm::ExecutionInfo info, json::value input,
                           ExecutionMeta meta) {
  if (!options_.durable) {
    return Start(std::move(machine), std::move(info), std::make_shared<const json::value>(std::move(input)),
                 std::move(meta));
  }
  InputRecord start;
  ASSIGN_OR_RETURN(auto made, NewEntry(std::move(machine), std::move(info), std::move(meta), start));
  auto [id, entry] = made;
  if (entry->meta.input_text.empty()) {
    entry->meta.input_text = json::serialize(input);  // replay parses the logged text
  }
  start.payload = std::move(input);
  start.input_text = entry->meta.input_text;
  absl::Status refusal;
  absl::Status s = Step(*id, *entry, std::move(start), &refusal);
  if (!refusal.ok()) {
    executions_.erase(executions_.find(*id));  // nothing was staged (by iterator: `id` is the entry's own key)
    return refusal;
  }
  return s;
}

absl::Status Driver::Start(std::shared_ptr<const sm::StateMachine> machine, sm::ExecutionInfo info,
                           std::shared_ptr<const json::value> input, ExecutionMeta meta) {
  if (input == nullptr) {
    return absl::InvalidArgumentError("execution input: no document");
  }
  if (options_.durable) {
    return Start(std::move(machine), std::move(info), json::value(*input), std::move(meta));
  }
  // Outside durable mode a start's input is not logged: the execution keeps the caller's document.
  InputRecord start;
  ASSIGN_OR_RETURN(auto made, NewEntry(std::move(machine), std::move(info), std::move(meta), start));
  auto [id, entry] = made;
  const sm::ExecutionStatus before = entry->execution->status();
  runtime_.set_sink(nullptr);
  absl::Status refusal;
  absl::Status s = Conclude(*id, *entry, start, before, entry->execution->Start(std::move(input), start.now, runtime_),
                            &refusal);
  if (!refusal.ok()) {
    executions_.erase(executions_.find(*id));  // nothing was staged (by iterator: `id` is the entry's own key)
    return refusal;
  }
  return s;
}

absl::Status Driver::Step(const std::string& id, Entry& entry, InputRecord&& input, absl::Status* refusal) {
  if (!entry.leases.empty()) {
    RETURN_IF_ERROR(ApplyLeases(id, entry, input));
  }
  input.drawn.clear();
  const sm::ExecutionStatus before = entry.execution->status();
  runtime_.set_sink(options_.durable ? &input.drawn : nullptr);
  absl::StatusOr<sm::Decision> d = ApplyInputRecord(*entry.execution, input, runtime_);
  runtime_.set_sink(nullptr);
  return Conclude(id, entry, input, before, std::move(d), refusal);
}

absl::Status Driver::Conclude(const std::string& id, Entry& entry, const InputRecord& input,
                              sm::ExecutionStatus before, absl::StatusOr<sm::Decision> d, absl::Status* refusal) {
  if (!d.ok()) {
    *refusal = d.status();
    return absl::OkStatus();
  }
  const bool no_effect = d->events.empty() && d->timers_to_start.empty() && d->timers_to_cancel.empty() &&
                         d->tasks_to_schedule.empty() && d->tasks_to_cancel.empty() && d->dead_letters.empty();
  if (no_effect && (input.kind == InputRecord::Kind::kTaskHeartbeat || input.kind == InputRecord::Kind::kTaskStarted)) {
    return absl::OkStatus();  // a heartbeat without HeartbeatSeconds, a repeated start: nothing to log or replay
  }
  Stage(id, entry, input, before, *std::move(d));
  return in_group_ ? absl::OkStatus() : CommitStaged();
}

absl::Status Driver::ApplyLeases(const std::string& id, Entry& entry, const InputRecord& next) {
  if (next.kind == InputRecord::Kind::kTaskHeartbeat && entry.leases.count(next.id) != 0) {
    return absl::OkStatus();  // without HeartbeatSeconds it changes nothing: the lease can wait
  }
  std::map<std::uint64_t, TaskLease> leases = std::move(entry.leases);
  entry.leases.clear();
  for (auto& [task_id, lease] : leases) {
    InputRecord started;
    started.kind = InputRecord::Kind::kTaskStarted;
    // Its own time (the poll's), unless the clock went back since the execution's last input.
    started.now = std::max(lease.taken, entry.last_input_time);
    started.id = task_id;
    started.worker = std::move(lease.worker);
    absl::Status refusal;  // none expected: nothing reached the execution since the lease
    RETURN_IF_ERROR(Step(id, entry, std::move(started), &refusal));
  }
  return absl::OkStatus();
}

absl::Status Driver::RecordLeases() {
  InputRecord none;  // ApplyLeases only looks at a heartbeat's task
  none.kind = InputRecord::Kind::kContinue;
  for (auto& [id, entry] : executions_) {
    if (!entry.leases.empty()) {
      RETURN_IF_ERROR(ApplyLeases(id, entry, none));
    }
  }
  return absl::OkStatus();
}

bool Driver::LeaseTask(const std::string& execution_id, std::uint64_t task_id, const std::string& worker) {
  auto it = executions_.find(execution_id);
  if (it == executions_.end() || it->second.execution->task_standing(task_id) != sm::TaskStanding::kPending) {
    return false;
  }
  return it->second.leases.emplace(task_id, TaskLease{worker, clock_->NowMillis()}).second;
}

void Driver::Stage(const std::string& id, Entry& entry, const InputRecord& input, sm::ExecutionStatus before,
                   sm::Decision decision) {
  const sm::Execution& e = *entry.execution;
  const std::size_t events = decision.events.size();
  if (entry.group_rows == kNoGroupRows) {
    entry.group_rows = group_rows_.size();
    group_rows_.push_back(GroupRows{&entry, input.now, std::move(decision.events), {}, 0, 0});
  } else {
    GroupRows& rows = group_rows_[entry.group_rows];
    rows.now = input.now;
    rows.events.insert(rows.events.end(), std::make_move_iterator(decision.events.begin()),
                       std::make_move_iterator(decision.events.end()));
  }
  decision.events.clear();
  if (options_.durable) {
    AddToInputRow(id, group_rows_[entry.group_rows], entry.next_input, input);
  }
  TrackDecision(id, input, decision, entry.pending, &batch_);
  // A redrive or a discard takes the dead letters it names out of the list.
  for (const auto& [task_id, patched] : input.dead_letters) {
    std::string key = DeadLetterKey(id, task_id);
    batch_.Delete(storage::Column::kDeadLetters, key);
    staged_dead_letters_[std::move(key)] = false;
  }
  if (input.kind == InputRecord::Kind::kDeadLetterDiscarded) {
    std::string key = DeadLetterKey(id, input.id);
    batch_.Delete(storage::Column::kDeadLetters, key);
    staged_dead_letters_[std::move(key)] = false;
  }
  for (const sm::DeadLetterCommand& dl : decision.dead_letters) {
    entry.dead_letters_put = true;
    std::string key = DeadLetterKey(id, dl.task_id);
    batch_.Put(storage::Column::kDeadLetters, key,
               EncodeDeadLetter(MakeDeadLetter(id, entry.info().state_machine_arn, dl, input.now)));
    staged_dead_letters_[std::move(key)] = true;
  }
  const bool ended = e.status() != sm::ExecutionStatus::kRunning;
  if (options_.durable) {
    // Only the start, the input that ends the execution and a redrive change index rows.
    const bool first = input.kind == InputRecord::Kind::kStart;
    if (first || e.status() != before) {
      StageIndexRows(id, entry, first, before);
    }
  }
  ++entry.next_input;
  if (options_.durable && options_.snapshots.enabled() && entry.next_input % options_.snapshots.every_inputs == 0) {
    // After TrackDecision: the snapshot's pending rows are those this batch leaves.
    batch_.Put(storage::Column::kSnapshots, id,
               EncodeSnapshot(id, entry.next_input, e, entry.pending, options_.snapshots.key));
  }
  entry.last_input_time = input.now;
  staged_.push_back(
      Staged{id, std::move(decision), events, ended, input.kind == InputRecord::Kind::kStart, e.status()});
}

void Driver::PutGroupRows() {
  for (GroupRows& rows : group_rows_) {
    PutRows(rows);
  }
  group_rows_.clear();
}

void Driver::AddToInputRow(const std::string& id, GroupRows& rows, std::int64_t sequence, const InputRecord& input) {
  if (rows.input_count == kMaxInputsPerRow || rows.inputs.size() >= kMaxInputRowBytes) {
    PutInputRow(id, rows);
  }
  if (rows.input_count == 0) {
    rows.first_input = sequence;
  }
  AppendToInputRow(rows.inputs, input);
  ++rows.input_count;
}

void Driver::PutInputRow(const std::string& id, GroupRows& rows) {
  if (rows.input_count == 0) {
    return;
  }
  batch_.Put(storage::Column::kInputs, InputKey(id, rows.first_input), std::move(rows.inputs));
  rows.inputs.clear();
  rows.input_count = 0;
}

void Driver::PutRows(GroupRows& rows) {
  if (rows.entry == nullptr) {
    return;  // put already (Evict)
  }
  Entry& entry = *rows.entry;
  rows.entry = nullptr;
  entry.group_rows = kNoGroupRows;
  const std::string& id = entry.info().execution_arn;
  PutInputRow(id, rows);
  // As its last staged input left it: only Stage follows an input that changes an execution (a refused or
  // no-effect input changes nothing), so the record is what a put after each input would have left.
  const sm::Execution& e = *entry.execution;
  std::vector<std::int64_t>* row_ids = options_.durable ? nullptr : &entry.history_rows;
  if (options_.defer_history_encoding) {
    if (rows.events.capacity() > 2 * rows.events.size() + 16) {
      rows.events.shrink_to_fit();  // the store keeps them: not the room the interpreter reserved for more
    }
    if (!rows.events.empty()) {
      PutHistoryRowsDeferred(id, std::make_shared<const std::vector<sm::HistoryEvent>>(std::move(rows.events)),
                             batch_, e.machine(), row_ids);
    }
    batch_.PutDeferred(storage::Column::kExecutions, id,
                       std::make_shared<DeferredExecutionRecord>(entry.info(), entry.meta, e, rows.now));
  } else {
    PutHistoryRows(id, rows.events, batch_, row_ids);
    batch_.Put(storage::Column::kExecutions, id, EncodeExecutionRecord(entry.info(), entry.meta, e, rows.now));
  }
}

void Driver::StageIndexRows(const std::string& id, const Entry& entry, bool first, sm::ExecutionStatus before) {
  const std::string& machine = entry.info().state_machine_name;
  const common::EpochMillis start = entry.info().start_time;
  const std::string status = sm::ExecutionStatusName(entry.execution->status());
  if (first) {
    batch_.Put(storage::Column::kIndexes, IndexKey("", "", start, id), "");
    batch_.Put(storage::Column::kIndexes, IndexKey(machine, "", start, id), "");
    // Listing by version or alias ARN (ListExecutions): status-independent, so written once, here.
    for (const std::string* qualified : {&entry.info().version_arn, &entry.info().alias_arn}) {
      if (!qualified->empty()) {
        batch_.Put(storage::Column::kIndexes, QualifiedIndexKey(*qualified, start, id), "");
      }
    }
  } else {
    const std::string previous = sm::ExecutionStatusName(before);
    batch_.Delete(storage::Column::kIndexes, IndexKey("", previous, start, id));
    batch_.Delete(storage::Column::kIndexes, IndexKey(machine, previous, start, id));
  }
  batch_.Put(storage::Column::kIndexes, IndexKey("", status, start, id), "");
  batch_.Put(storage::Column::kIndexes, IndexKey(machine, status, start, id), "");
  if (options_.execution_counts != nullptr) {
    options_.execution_counts->Stage(CountScopes{machine, entry.info().version_arn, entry.info().alias_arn},
                                     first ? "" : sm::ExecutionStatusName(before), status);
  }
}

void Driver::BeginGroup() { in_group_ = true; }

absl::Status Driver::EndGroup() {
  in_group_ = false;
  bool committed = false;
  absl::Status s = CommitStaged(&committed);
  std::set<std::string> released = std::move(release_after_commit_);
  release_after_commit_.clear();
  EvictEnded(released);
  if (!s.ok() && committed) {
    // The batch is committed: every caller's input happened. A command that could not be carried out is
    // the engine's trouble, not theirs.
    spdlog::error("carrying out a committed group: {}", std::string(s.message()));
    return absl::OkStatus();
  }
  return s;
}

void Driver::EvictEnded(const std::set<std::string>& ids) {
  if (!options_.durable) {
    return;
  }
  for (const std::string& id : ids) {
    const sm::Execution* e = Find(id);
    if (e != nullptr && e->status() != sm::ExecutionStatus::kRunning) {
      Evict(id);
    }
  }
}

absl::StatusOr<bool> Driver::DeadLetterExists(const std::string& execution_id, std::uint64_t task_id) const {
  std::string key = DeadLetterKey(execution_id, task_id);
  auto staged = staged_dead_letters_.find(key);
  if (staged != staged_dead_letters_.end()) {
    return staged->second;
  }
  ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(storage::Column::kDeadLetters, key));
  return value.has_value();
}

absl::Status Driver::CommitStaged(bool* committed_out) {
  PutGroupRows();
  staged_dead_letters_.clear();
  if (committed_out != nullptr) {
    *committed_out = true;
  }
  if (staged_.empty()) {
    return absl::OkStatus();
  }
  if (options_.execution_counts != nullptr) {
    options_.execution_counts->PutStaged(batch_);
  }
  if (fence_.has_value()) {
    batch_.SetFence(*fence_);
  }
  absl::Status committed = store_->Commit(batch_);
  if (fence_.has_value() && absl::IsFailedPrecondition(committed)) {
    lease_lost_ = true;
  }
  if (options_.execution_counts != nullptr) {
    options_.execution_counts->Finish(committed.ok());
  }
  if (committed_out != nullptr) {
    *committed_out = committed.ok();
  }
  batch_.Clear();
  std::vector<Staged> staged = std::move(staged_);
  staged_.clear();
  if (!committed.ok()) {
    // The cached states ran ahead of the store: throw them away rather than repair them.
    for (const Staged& s : staged) {
      if (executions_.count(s.id) != 0) {
        Evict(s.id);
        if (options_.listener != nullptr) {
          options_.listener->Dropped(s.id);
        }
      }
    }
    return absl::IsResourceExhausted(committed) ? errors::DiskFull(committed.message())
                                                : errors::CommitFailed(committed.message());
  }
  Count(staged);
  absl::Status first_error;
  std::set<std::string> touched;  // durable mode only: nothing is evicted otherwise
  for (Staged& s : staged) {
    absl::Status carried = CarryOut(s);
    if (first_error.ok()) {
      first_error = carried;
    }
    if (options_.durable) {
      touched.insert(s.id);
    }
  }
  // Only now, after every input of the batch was carried out: an execution that ended and was redriven in
  // the same group is still running and still needed.
  EvictEnded(touched);
  return first_error;
}

void Driver::Count(const std::vector<Staged>& committed) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  counters_.commits.fetch_add(1, kRelaxed);
  for (const Staged& s : committed) {
    counters_.history_events.fetch_add(s.events, kRelaxed);
    counters_.tasks_scheduled.fetch_add(s.decision.tasks_to_schedule.size(), kRelaxed);
    counters_.dead_letters.fetch_add(s.decision.dead_letters.size(), kRelaxed);
    if (s.started) {
      counters_.executions_started.fetch_add(1, kRelaxed);
    }
    if (s.ended) {
      counters_.executions_ended[static_cast<int>(s.status)].fetch_add(1, kRelaxed);
    }
  }
}

absl::Status Driver::CarryOut(Staged& staged) {
  auto it = executions_.find(staged.id);
  if (it == executions_.end()) {
    return absl::InternalError(absl::StrCat("staged execution ", staged.id, " vanished"));
  }
  Entry& entry = it->second;
  sm::Decision& d = staged.decision;
  for (std::uint64_t timer_id : d.timers_to_cancel) {
    Disarm(staged.id, entry, timer_id);
  }
  for (const sm::TimerCommand& t : d.timers_to_start) {
    Arm(staged.id, entry, t.timer_id, t.due);
  }
  for (std::uint64_t task_id : d.tasks_to_cancel) {
    dispatcher_->Cancel(staged.id, task_id);
  }
  absl::Status dispatched;
  for (sm::TaskCommand& t : d.tasks_to_schedule) {
    dispatched = dispatcher_->Dispatch(MakeDispatch(staged.id, entry, std::move(t)));
    if (!dispatched.ok()) {
      break;
    }
  }
  // Ended executions are evicted by CommitStaged once the whole group is carried out (EvictEnded).
  if (!staged.ended && entry.execution->yielded()) {
    yielded_.push_back(staged.id);
  }
  if (options_.listener != nullptr) {
    options_.listener->Committed(staged.id, staged.ended);
  }
  return dispatched;
}

void Driver::Arm(const std::string& id, Entry& entry, std::uint64_t timer_id, common::EpochMillis due) {
  entry.armed[timer_id] = due;
  timers_.insert({due, id, timer_id});
}

void Driver::Disarm(const std::string& id, Entry& entry, std::uint64_t timer_id) {
  auto it = entry.armed.find(timer_id);
  if (it != entry.armed.end()) {
    timers_.erase({it->second, id, timer_id});
    entry.armed.erase(it);
  }
}

std::vector<std::string> Driver::ForgetAll() {
  std::vector<std::string> ids;
  ids.reserve(executions_.size());
  for (const auto& [id, entry] : executions_) {
    ids.push_back(id);
  }
  executions_.clear();
  group_rows_.clear();
  timers_.clear();
  inbox_.clear();
  yielded_.clear();
  release_after_commit_.clear();
  return ids;
}

void Driver::Evict(const std::string& id) {
  auto it = executions_.find(id);
  if (it != executions_.end()) {
    Evict(it);
  }
}

void Driver::Evict(std::unordered_map<std::string, Entry>::iterator it) {
  const std::string& id = it->first;
  for (const auto& [timer_id, due] : it->second.armed) {
    timers_.erase({due, id, timer_id});
  }
  if (it->second.group_rows != kNoGroupRows) {
    PutRows(group_rows_[it->second.group_rows]);  // what the open batch holds of it is written as staged
  }
  executions_.erase(it);
}

TaskDispatch Driver::MakeDispatch(const std::string& id, const Entry& entry, sm::TaskCommand task) const {
  TaskDispatch d;
  d.execution_id = id;
  d.task_id = task.task_id;
  d.state_name = std::move(task.state_name);
  d.resource = std::move(task.resource);
  d.input = std::move(task.input);
  d.attempt = task.attempt;
  d.state_machine_arn = entry.info().state_machine_arn;
  d.scheduled = task.scheduled;
  d.timeout_seconds = task.timeout_seconds;
  d.heartbeat_seconds = task.heartbeat_seconds;
  d.started = entry.execution->task_standing(task.task_id) == sm::TaskStanding::kStarted;
  return d;
}

absl::Status Driver::Restore(ReplayedExecution replayed) {
  const std::string id = replayed.info.execution_arn;
  if (executions_.count(id) != 0) {
    return errors::ExecutionAlreadyExists(id);
  }
  Entry& entry = executions_[id];
  entry.execution = std::move(replayed.execution);
  entry.execution->KeepTypedEvents(true);
  entry.meta = std::move(replayed.meta);
  entry.pending = std::move(replayed.pending);
  entry.next_input = replayed.inputs;
  for (const auto& [timer_id, due] : entry.pending.timers) {
    Arm(id, entry, timer_id, due);
  }
  if (entry.execution->yielded()) {
    yielded_.push_back(id);  // it was stopped (a restart, a failed commit) between two batches
  }
  for (const auto& [task_id, t] : entry.pending.tasks) {
    RETURN_IF_ERROR(dispatcher_->Dispatch(MakeDispatch(id, entry, t)));
  }
  return absl::OkStatus();
}

absl::Status Driver::ContinueYielded() {
  std::deque<std::string> ids = std::move(yielded_);
  yielded_.clear();
  std::set<std::string> continued;
  absl::Status first_error;
  for (const std::string& id : ids) {
    auto it = executions_.find(id);
    if (!continued.insert(id).second || it == executions_.end() || !it->second.execution->yielded()) {
      continue;
    }
    InputRecord next;
    next.kind = InputRecord::Kind::kContinue;
    next.now = clock_->NowMillis();
    absl::Status refusal;
    absl::Status s = Step(id, it->second, std::move(next), &refusal);
    if (first_error.ok()) {
      first_error = s;
    }
  }
  return first_error;
}

absl::Status Driver::Redrive(const std::string& execution_id, const sm::RedrivenDeadLetters& dead_letters) {
  auto it = executions_.find(execution_id);
  if (it == executions_.end()) {
    return errors::ExecutionDoesNotExist(execution_id);
  }
  InputRecord redrive;
  redrive.kind = InputRecord::Kind::kRedrive;
  redrive.now = clock_->NowMillis();
  redrive.dead_letters = dead_letters;
  absl::Status refusal;
  RETURN_IF_ERROR(Step(execution_id, it->second, std::move(redrive), &refusal));
  return refusal;
}

absl::Status Driver::DiscardDeadLetter(const std::string& execution_id, std::uint64_t task_id,
                                       const std::string& state_name) {
  auto it = executions_.find(execution_id);
  if (it == executions_.end()) {
    return errors::ExecutionDoesNotExist(execution_id);
  }
  InputRecord discard;
  discard.kind = InputRecord::Kind::kDeadLetterDiscarded;
  discard.now = clock_->NowMillis();
  discard.id = task_id;
  discard.state_name = state_name;
  absl::Status refusal;
  RETURN_IF_ERROR(Step(execution_id, it->second, std::move(discard), &refusal));
  return refusal;
}

void Driver::Release(const std::string& execution_id) {
  if (in_group_) {
    release_after_commit_.insert(execution_id);
    return;
  }
  const sm::Execution* e = Find(execution_id);
  if (options_.durable && e != nullptr && e->status() != sm::ExecutionStatus::kRunning) {
    Evict(execution_id);
  }
}

absl::StatusOr<std::unique_ptr<sm::Execution>> Driver::Forget(const std::string& execution_id) {
  if (options_.durable) {
    return absl::FailedPreconditionError("a durable engine's executions are not forgotten one by one");
  }
  if (in_group_) {
    return absl::FailedPreconditionError("an execution is not forgotten inside a group");
  }
  auto it = executions_.find(execution_id);
  if (it == executions_.end()) {
    return errors::ExecutionDoesNotExist(execution_id);
  }
  Entry& entry = it->second;
  if (entry.execution->status() == sm::ExecutionStatus::kRunning) {
    return absl::FailedPreconditionError(absl::StrCat("execution ", execution_id, " is still running"));
  }
  storage::WriteBatch batch;
  batch.Delete(storage::Column::kExecutions, execution_id);
  for (const auto& [timer_id, due] : entry.pending.timers) {
    batch.Delete(storage::Column::kTimers, TimerKey(due, execution_id, timer_id));
  }
  for (const std::int64_t row : entry.history_rows) {
    batch.Delete(storage::Column::kHistory, HistoryKey(execution_id, row));
  }
  if (entry.dead_letters_put) {
    RETURN_IF_ERROR(store_->ScanKeys(storage::Column::kDeadLetters, DeadLetterPrefix(execution_id),
                                     [&batch](std::string_view key) {
                                       batch.Delete(storage::Column::kDeadLetters, std::string(key));
                                       return true;
                                     }));
  }
  RETURN_IF_ERROR(store_->Commit(batch));
  std::unique_ptr<sm::Execution> taken = std::move(entry.execution);
  Evict(it);
  return taken;
}

absl::Status Driver::ApplyInput(DriverInput input) {
  auto it = executions_.find(input.execution_id);
  if (it == executions_.end()) {
    return errors::ExecutionDoesNotExist(input.execution_id);
  }
  InputRecord record;
  record.now = clock_->NowMillis();
  record.id = input.task_id;
  switch (input.kind) {
    case DriverInput::Kind::kTaskStarted:
      record.kind = InputRecord::Kind::kTaskStarted;
      record.worker = std::move(input.worker);
      break;
    case DriverInput::Kind::kTaskHeartbeat:
      record.kind = InputRecord::Kind::kTaskHeartbeat;
      break;
    case DriverInput::Kind::kTaskSucceeded:
      record.kind = InputRecord::Kind::kTaskSucceeded;
      record.payload = std::move(input.output);
      break;
    case DriverInput::Kind::kTaskFailed:
      record.kind = InputRecord::Kind::kTaskFailed;
      record.error = std::move(input.error);
      record.cause = std::move(input.cause);
      break;
  }
  absl::Status refusal;
  RETURN_IF_ERROR(Step(input.execution_id, it->second, std::move(record), &refusal));
  if (absl::IsNotFound(refusal)) {
    return absl::OkStatus();  // a stale or duplicate result: nothing to do
  }
  return refusal;
}

absl::Status Driver::StartTasksTaken(
    const std::function<std::optional<std::string>(const std::string& execution_id, const sm::TaskCommand& task)>&
        take) {
  std::vector<DriverInput> starts;
  for (const Staged& s : staged_) {
    if (s.decision.tasks_to_schedule.empty()) {
      continue;
    }
    auto it = executions_.find(s.id);
    if (it == executions_.end()) {
      continue;
    }
    const Entry& entry = it->second;
    for (const sm::TaskCommand& t : s.decision.tasks_to_schedule) {
      // Not one cancelled, answered or started since in the group (a later input of the same execution).
      if (entry.execution->task_standing(t.task_id) != sm::TaskStanding::kPending || entry.leases.count(t.task_id)) {
        continue;
      }
      std::optional<std::string> worker = take(s.id, t);
      if (!worker) {
        continue;
      }
      DriverInput started;
      started.kind = DriverInput::Kind::kTaskStarted;
      started.execution_id = s.id;
      started.task_id = t.task_id;
      started.worker = *std::move(worker);
      starts.push_back(std::move(started));
    }
  }
  // Applied after the walk: applying stages more inputs, which moves staged_.
  for (DriverInput& started : starts) {
    Post(std::move(started));
  }
  return ProcessInbox();
}

absl::Status Driver::ProcessInbox() {
  while (!inbox_.empty()) {
    DriverInput input = std::move(inbox_.front());
    inbox_.pop_front();
    RETURN_IF_ERROR(ApplyInput(std::move(input)));
  }
  return absl::OkStatus();
}

absl::Status Driver::FireDueTimers() {
  const common::EpochMillis now = clock_->NowMillis();
  while (!timers_.empty() && std::get<0>(*timers_.begin()) <= now) {
    auto [due, id, timer_id] = *timers_.begin();
    timers_.erase(timers_.begin());
    auto it = executions_.find(id);
    if (it == executions_.end()) {
      continue;
    }
    it->second.armed.erase(timer_id);
    InputRecord fired;
    fired.kind = InputRecord::Kind::kTimerFired;
    fired.now = now;
    fired.id = timer_id;
    // The fired timer's row goes in the same batch as the events it caused (TrackDecision).
    absl::Status refusal;
    RETURN_IF_ERROR(Step(id, it->second, std::move(fired), &refusal));
    if (!refusal.ok()) {
      continue;  // no longer pending (fired twice): nothing was written
    }
    RETURN_IF_ERROR(ProcessInbox());
  }
  return absl::OkStatus();
}

std::optional<common::EpochMillis> Driver::NextTimerDue() const {
  if (timers_.empty()) {
    return std::nullopt;
  }
  return std::get<0>(*timers_.begin());
}

absl::Status Driver::Stop(const std::string& execution_id, const std::string& error, const std::string& cause) {
  auto it = executions_.find(execution_id);
  if (it == executions_.end()) {
    return errors::ExecutionDoesNotExist(execution_id);
  }
  InputRecord stop;
  stop.kind = InputRecord::Kind::kStop;
  stop.now = clock_->NowMillis();
  stop.error = error;
  stop.cause = cause;
  absl::Status refusal;
  RETURN_IF_ERROR(Step(execution_id, it->second, std::move(stop), &refusal));
  return refusal;
}

const sm::Execution* Driver::Find(const std::string& execution_id) const {
  auto it = executions_.find(execution_id);
  return it == executions_.end() ? nullptr : it->second.execution.get();
}

std::optional<sm::TaskStanding> Driver::TaskStanding(const std::string& execution_id, std::uint64_t task_id) const {
  auto it = executions_.find(execution_id);
  if (it == executions_.end()) {
    return std::nullopt;
  }
  return it->second.execution->task_standing(task_id);
}

std::optional<ExecutionInfoRecord> Driver::Describe(const std::string& execution_id) const {
  auto it = executions_.find(execution_id);
  if (it == executions_.end()) {
    return std::nullopt;
  }
  const Entry& entry = it->second;
  return MakeExecutionInfoRecord(entry.info(), entry.meta, *entry.execution, entry.last_input_time);
}

std::map<std::uint64_t, common::EpochMillis> Driver::PendingTimers(const std::string& execution_id) const {
  auto it = executions_.find(execution_id);
  return it == executions_.end() ? std::map<std::uint64_t, common::EpochMillis>() : it->second.pending.timers;
}

absl::StatusOr<std::vector<json::object>> Driver::ReadHistory(const std::string& execution_id) const {
  bool more = false;
  ASSIGN_OR_RETURN(std::vector<HistoryEventRecord> records,
                   ReadHistoryAfter(*store_, execution_id, 0, std::numeric_limits<int>::max(), &more));
  std::vector<json::object> events;
  events.reserve(records.size());
  for (const HistoryEventRecord& r : records) {
    json::object& o = events.emplace_back();
    o["id"] = r.id;
    o["previousEventId"] = r.previous_event_id;
    o["timestamp"] = common::FormatIso8601(r.timestamp);
    o["type"] = r.type;
    if (!r.details_key.empty()) {
      boost::system::error_code ec;
      std::optional<json::value> details = common::ParsePreciseJson(r.details, ec);
      if (!details || !details->is_object()) {
        return absl::DataLossError(absl::StrCat("corrupt history event ", r.id, " of ", execution_id));
      }
      o[r.details_key] = *std::move(details);
    }
  }
  return events;
}

}  // namespace stepflow::engine
