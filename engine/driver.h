#pragma once
// The driver: feeds inputs to each execution's interpreter, commits the resulting history events, execution
// record, timers and queued tasks through the Store in one batch, and only after the commit carries out the
// commands (arms timers, dispatches tasks). `stepflow run` drives it on an in-memory store with a virtual
// clock and a mock dispatcher; each partition of the durable engine (`stepflow server`) drives one in
// durable mode, which also logs every input (engine/input_log.h) and keeps the executions indexes, so that
// executions can be rebuilt by replay (engine/replay.h) and listed.
//
// Inputs are applied one at a time. Outside a group each input is committed on its own; between BeginGroup
// and EndGroup the inputs' writes are collected into one batch, committed together by EndGroup (one fsync
// for many executions), and their commands carried out after that commit.
//
// Thread-safety: not thread-safe. One driver is owned by one thread (a partition's writer).

#include <boost/json.hpp>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/dispatcher.h"
#include "engine/execution_record.h"
#include "engine/input_log.h"
#include "engine/pending_work.h"
#include "engine/replay.h"
#include "engine/snapshots.h"
#include "statemachine/core/execution.h"
#include "statemachine/core/model.h"
#include "statemachine/runtime_values.h"
#include "storage/store.h"

namespace stepflow::engine {

class ExecutionCountsWriter;

// Told what happened to executions after each commit. Called on the driver's thread.
class DriverListener {
 public:
  virtual ~DriverListener() = default;
  // A commit with an input for `execution_id` succeeded and its commands were carried out; `ended` when the
  // execution is no longer running.
  virtual void Committed(const std::string& execution_id, bool ended) = 0;
  // A commit with an input for `execution_id` failed: the driver threw its in-memory state away. The store
  // holds the state before that commit (or, when the failure came after the write, with it).
  virtual void Dropped(const std::string& execution_id) = 0;
};

struct DriverOptions {
  sm::ExecutionLimits limits;
  // The server's mode: every applied input is appended to the input log in the batch of the events it
  // produced, the executions index rows are kept exact, and an execution is evicted from memory after the
  // commit that ends it. Default: false (`stepflow run`: nothing outlives the process, Find works after
  // the end).
  bool durable = false;
  // Not owned; may be null.
  DriverListener* listener = nullptr;
  // The executions counted per state machine and status (durable only), kept in the commits that change the
  // index rows. Not owned; null = not counted.
  ExecutionCountsWriter* execution_counts = nullptr;
  // History rows (typed events, PutHistoryRowsDeferred) and the execution record are put as values the store
  // encodes when it needs the bytes: on the in-memory store, only when someone reads them, and then the same
  // bytes. Default: false (encoded in the commit, the durable engine's row layout).
  bool defer_history_encoding = false;
  // Durable mode: the snapshots written with the inputs (engine/snapshots.h). Default: none (no key).
  SnapshotOptions snapshots = {};
};

// An input queued for an execution (from a dispatcher callback, a timer, an API call).
struct DriverInput {
  enum class Kind { kTaskStarted, kTaskHeartbeat, kTaskSucceeded, kTaskFailed };
  Kind kind = Kind::kTaskSucceeded;
  std::string execution_id;
  std::uint64_t task_id = 0;
  boost::json::value output;
  std::string error;
  std::string cause;
  std::string worker;  // kTaskStarted
};

// What a driver committed since it was made. Written by the driver's thread, read from any (relaxed).
struct DriverCounters {
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> history_events{0};
  std::atomic<std::uint64_t> executions_started{0};
  std::atomic<std::uint64_t> executions_ended[5] = {};  // by sm::ExecutionStatus (kRunning unused)
  std::atomic<std::uint64_t> tasks_scheduled{0};
  std::atomic<std::uint64_t> dead_letters{0};
};

class Driver {
 public:
  // None of the pointers is owned; all must outlive the driver.
  Driver(storage::Store* store, common::Clock* clock, TaskDispatcher* dispatcher, sm::RuntimeValues* runtime,
         DriverOptions options = {});

  // Starts an execution; `info.execution_arn` is its id. AlreadyExists when the id is in memory; Unavailable
  // when the commit failed; a dispatcher error (e.g. no mock for a Task state) is returned as is.
  absl::Status Start(std::shared_ptr<const sm::StateMachine> machine, sm::ExecutionInfo info, boost::json::value input,
                     ExecutionMeta meta = {});
  // The same, sharing the caller's input document (which must not change while the execution lives) instead
  // of taking it: outside durable mode the execution keeps it as it is (sm::Execution::Start); in durable
  // mode, which logs and replays the input, it is copied.
  absl::Status Start(std::shared_ptr<const sm::StateMachine> machine, sm::ExecutionInfo info,
                     std::shared_ptr<const boost::json::value> input, ExecutionMeta meta = {});

  // Queues an input; ProcessInbox applies queued inputs in order.
  void Post(DriverInput input) { inbox_.push_back(std::move(input)); }
  // Applies every queued input (including those queued while applying). Stale inputs (a finished task)
  // are dropped; an unknown execution is NotFound; the first commit or dispatch error stops processing
  // and is returned.
  absl::Status ProcessInbox();

  // Fires every timer due at or before the clock's now, in due order. A timer the interpreter no longer
  // knows (fired twice) writes nothing.
  absl::Status FireDueTimers();
  // The earliest armed timer, if any.
  std::optional<common::EpochMillis> NextTimerDue() const;

  // True when an execution's last committed decision yielded at its limits (sm::ExecutionLimits) and waits
  // for ContinueYielded.
  bool has_yielded() const { return !yielded_.empty(); }
  // Applies one Continue input (logged in durable mode) to each execution that yielded in a commit before this
  // call, so that each yielded execution advances by at most one decision per call and other work is served
  // between calls. Executions that were stopped, evicted or went on in the meantime are skipped. In a group the
  // decisions are staged; outside it each is committed. The first commit or dispatch error is returned.
  absl::Status ContinueYielded();

  // StopExecution. NotFound / FailedPrecondition as the interpreter says.
  absl::Status Stop(const std::string& execution_id, const std::string& error, const std::string& cause);

  // Collects the writes of the following inputs into one batch. REQUIRES: not in a group.
  void BeginGroup();
  // Commits the collected batch, then carries out every collected input's commands in order, then evicts
  // the executions that ended or were Released in the group (durable mode). Unavailable when the commit
  // failed, ResourceExhausted "DiskFull" when the disk is full (either way every execution with an input in the
  // group is dropped, see DriverListener, and nothing happened); otherwise OK: the
  // batch is committed, and a dispatch error (not the callers': their inputs are committed) is logged.
  absl::Status EndGroup();

  // Adopts an execution rebuilt by replay (already committed): arms its timers and dispatches its pending
  // tasks again. AlreadyExists when the id is in memory. An ended execution may be adopted too (to redrive
  // it, or to record a dead letter's discard); Release evicts it again when nothing came of that. In a group
  // the eviction waits for the group's commit (and is skipped if the execution runs again by then): a later
  // input of the same group must find the state the earlier ones left, not reload the older stored one.
  absl::Status Restore(ReplayedExecution replayed);
  void Release(const std::string& execution_id);
  // Without durable mode (the embedded engine): removes an ended execution from memory and, in one commit,
  // its rows from the store (the record, the history, timer rows left, dead letters), so that a process
  // running execution after execution keeps its memory bounded. Returns the execution taken out (destroying
  // it frees its state). Afterwards Find returns nullptr and the id may be started again. NotFound when the
  // execution is not in memory; FailedPrecondition when it is still running, in a group, or in durable mode
  // (whose input log, index rows and counts this does not adjust); Unavailable when the commit fails (the
  // execution is then kept).
  absl::StatusOr<std::unique_ptr<sm::Execution>> Forget(const std::string& execution_id);

  // Execution::Redrive of an execution in memory; the dead letters' rows are deleted in the same commit.
  // NotFound / FailedPrecondition (not redrivable) as the interpreter says.
  absl::Status Redrive(const std::string& execution_id, const sm::RedrivenDeadLetters& dead_letters);
  // Deletes the dead letter of task `task_id` and records that in the execution's history.
  absl::Status DiscardDeadLetter(const std::string& execution_id, std::uint64_t task_id,
                                 const std::string& state_name);
  // Whether the dead letter of (execution, task) is in the list, counting the puts and deletes staged in the
  // open group. Unavailable/DataLoss on storage errors.
  absl::StatusOr<bool> DeadLetterExists(const std::string& execution_id, std::uint64_t task_id) const;

  // Records lazily that a worker took task `task_id` of an execution in memory (Temporal's lazy
  // activity-started event): its TaskStarted input, stamped now and naming `worker`, is not committed on its
  // own but applied and logged just before the execution's next input (the task's result, a timer such as its
  // TimeoutSeconds, a Stop, another task's report), in that input's group (commit). Nothing reaches the
  // execution in between, so its history, input log and snapshots are those of TaskStarted committed at the
  // lease, with one commit fewer; replay cannot tell. Only for tasks without HeartbeatSeconds: with one,
  // TaskStarted starts the heartbeat clock and must be committed at once. A heartbeat of the leased task
  // (which has no effect without HeartbeatSeconds) does not record it. The lease lives in memory only: when
  // the execution is dropped or the process dies, the task is pending again and recovery offers it again.
  // False (nothing recorded) when the execution is not in memory, the task is not pending or it is leased.
  bool LeaseTask(const std::string& execution_id, std::uint64_t task_id, const std::string& worker);
  // Applies the TaskStarted of every lease now (a graceful shutdown, so that a restart does not offer the
  // tasks again); in a group they are staged, outside it committed. The first commit error is returned.
  absl::Status RecordLeases();
  // Starts, in the open group, the tasks its staged inputs scheduled that a worker already waits for. For
  // each such task still pending, `take(execution id, task)` names the worker that will receive it, or
  // nullopt; each named task's TaskStarted (stamped now, naming that worker) is applied and staged, so it is
  // committed with the schedule, and after the commit CarryOut dispatches the task marked started for the
  // caller to hand over. The first error applying an input is returned. REQUIRES: in a group.
  absl::Status StartTasksTaken(
      const std::function<std::optional<std::string>(const std::string& execution_id, const sm::TaskCommand& task)>&
          take);
  // Cluster mode (engine/cluster/): every later commit carries `fence` (storage::LeaseFence), or none when
  // nullopt. A commit the store refuses for its fence sets lease_lost() until the next SetFence.
  void SetFence(std::optional<storage::LeaseFence> fence) {
    fence_ = fence;
    lease_lost_ = false;
  }
  bool lease_lost() const { return lease_lost_; }
  // Forgets every execution, timer and queued input (the partition's lease is gone: its state now belongs to
  // another node). Returns the ids forgotten. REQUIRES: not in a group.
  std::vector<std::string> ForgetAll();

  // nullptr when unknown (never started here, evicted, or dropped).
  const sm::Execution* Find(const std::string& execution_id) const;
  // Where a task of an execution in memory stands (including inputs applied in the open group); nullopt when
  // the execution is not in memory.
  std::optional<sm::TaskStanding> TaskStanding(const std::string& execution_id, std::uint64_t task_id) const;
  // The execution as the API shows it, including inputs applied in the open group; nullopt when unknown.
  std::optional<ExecutionInfoRecord> Describe(const std::string& execution_id) const;
  // Executions in memory.
  std::size_t size() const { return executions_.size(); }
  const DriverCounters& counters() const { return counters_; }
  // The timer rows of an execution in memory (timer id -> due); empty when unknown.
  std::map<std::uint64_t, common::EpochMillis> PendingTimers(const std::string& execution_id) const;

  // The history as committed to the store, in event order.
  absl::StatusOr<std::vector<boost::json::object>> ReadHistory(const std::string& execution_id) const;

 private:
  // A task a worker took whose TaskStarted input waits for the execution's next input (LeaseTask).
  struct TaskLease {
    std::string worker;
    common::EpochMillis taken = 0;
  };
  struct Entry {
    std::unique_ptr<sm::Execution> execution;
    ExecutionMeta meta;
    PendingWork pending;                                 // rows written (committed or in the open batch)
    std::map<std::uint64_t, common::EpochMillis> armed;  // timers in timers_ (committed only)
    std::int64_t next_input = 0;                         // input log sequence number
    common::EpochMillis last_input_time = 0;
    std::map<std::uint64_t, TaskLease> leases;  // LeaseTask: tasks taken, TaskStarted not yet applied
    // Its place in group_rows_ while the open batch holds inputs of it; kNoGroupRows otherwise.
    std::size_t group_rows = kNoGroupRows;
    // Not durable (what Forget deletes): the event ids keying its history rows, and whether a dead letter of it
    // was ever put (Forget looks for them only then).
    std::vector<std::int64_t> history_rows;
    bool dead_letters_put = false;
    // The execution's identity: the one copy, the interpreter's.
    const sm::ExecutionInfo& info() const { return execution->info(); }
  };
  static constexpr std::size_t kNoGroupRows = static_cast<std::size_t>(-1);
  // The history rows, the input row and the record of one execution, written once per commit (PutGroupRows)
  // however many of its inputs the batch holds: a task's result and then the TaskStarted of the task it
  // scheduled are two inputs of one group, and writing after each would put the record twice and split the
  // commit's events and inputs over two rows each.
  struct GroupRows {
    Entry* entry;  // a node of executions_ (they stay put); Evict puts the rows of one it removes first
    common::EpochMillis now = 0;           // the time of its last input: the record's stop time when it ended
    std::vector<sm::HistoryEvent> events;  // the events of its inputs in the batch, in id order
    // Durable only: the `inputs` row being built (AppendToInputRow), of input_count inputs from first_input on.
    std::string inputs;
    std::size_t input_count = 0;
    std::int64_t first_input = 0;
  };
  // One applied input waiting for its commit.
  struct Staged {
    std::string id;
    sm::Decision decision;  // its events moved out to group_rows_
    std::size_t events = 0;
    bool ended = false;
    bool started = false;  // the input was the start
    sm::ExecutionStatus status = sm::ExecutionStatus::kRunning;  // after the input
  };

  // Applies `input` to the execution and stages its writes; commits unless a group is open and returns the
  // commit's (and dispatch's) result. When the interpreter refuses the input (NotFound, FailedPrecondition)
  // nothing is staged, `*refusal` says why and OK is returned.
  absl::Status Step(const std::string& id, Entry& entry, InputRecord&& input, absl::Status* refusal);
  // Step's second half: stages the decision `d` the input led to (or reports the interpreter's refusal in
  // `*refusal`) and commits unless a group is open. `before` is the execution's status before the input.
  absl::Status Conclude(const std::string& id, Entry& entry, const InputRecord& input, sm::ExecutionStatus before,
                        absl::StatusOr<sm::Decision> d, absl::Status* refusal);
  // Makes the entry of a new execution and its start record; AlreadyExists when the id is in memory.
  absl::StatusOr<std::pair<const std::string*, Entry*>> NewEntry(std::shared_ptr<const sm::StateMachine> machine,
                                                                 sm::ExecutionInfo info, ExecutionMeta meta,
                                                                 InputRecord& start);
  // Applies (stages) the TaskStarted inputs of the entry's leases before `next`, and forgets the leases.
  absl::Status ApplyLeases(const std::string& id, Entry& entry, const InputRecord& next);
  // `before` is the execution's status before the input.
  void Stage(const std::string& id, Entry& entry, const InputRecord& input, sm::ExecutionStatus before,
             sm::Decision decision);
  void StageIndexRows(const std::string& id, const Entry& entry, bool first, sm::ExecutionStatus before);
  // Adds the history rows and the record of each execution in group_rows_ to the batch, and empties it.
  void PutGroupRows();
  // Adds the history rows, the input row and the record of one execution in group_rows_ (if not added yet) to
  // the batch.
  void PutRows(GroupRows& rows);
  // Adds input `sequence` of execution `id` to its input row in `rows`; puts the row first when it is full.
  void AddToInputRow(const std::string& id, GroupRows& rows, std::int64_t sequence, const InputRecord& input);
  // Adds the input row in `rows` (if it holds any input) to the batch and empties it.
  void PutInputRow(const std::string& id, GroupRows& rows);
  // Commits the batch and carries out the staged commands. The commit's error (Unavailable "CommitFailed",
  // ResourceExhausted "DiskFull") when it failed: nothing of the batch happened. Otherwise the first error
  // carrying out a command, or OK. `*committed` (when given) tells which of the two an error is.
  absl::Status CommitStaged(bool* committed = nullptr);
  // Durable mode: evicts the executions of `ids` that are in memory and no longer running.
  void EvictEnded(const std::set<std::string>& ids);
  absl::Status CarryOut(Staged& staged);
  void Count(const std::vector<Staged>& committed);
  TaskDispatch MakeDispatch(const std::string& id, const Entry& entry, sm::TaskCommand task) const;
  void Arm(const std::string& id, Entry& entry, std::uint64_t timer_id, common::EpochMillis due);
  void Disarm(const std::string& id, Entry& entry, std::uint64_t timer_id);
  void Evict(const std::string& id);
  void Evict(std::unordered_map<std::string, Entry>::iterator it);
  absl::Status ApplyInput(DriverInput input);

  storage::Store* store_;
  common::Clock* clock_;
  TaskDispatcher* dispatcher_;
  RecordingRuntimeValues runtime_;
  DriverOptions options_;
  // Hashed: ids are long ARNs with a common prefix, which an ordered map compares again and again.
  // Nodes, so that an Entry& stays valid while others are added.
  std::unordered_map<std::string, Entry> executions_;
  std::set<std::tuple<common::EpochMillis, std::string, std::uint64_t>> timers_;  // due, execution, timer
  std::deque<DriverInput> inbox_;
  std::deque<std::string> yielded_;  // executions to continue (may repeat; ContinueYielded skips repeats)
  bool in_group_ = false;
  storage::WriteBatch batch_;
  std::vector<Staged> staged_;
  std::vector<GroupRows> group_rows_;  // of the executions the open batch holds inputs of, first staged first
  // Dead letters put (true) or deleted (false) by the open batch, by key.
  std::map<std::string, bool> staged_dead_letters_;
  // Executions Released while a group is open: evicted after its commit if still ended.
  std::set<std::string> release_after_commit_;
  DriverCounters counters_;
  std::optional<storage::LeaseFence> fence_;
  bool lease_lost_ = false;
};

}  // namespace stepflow::engine
