#pragma once
// The durable engine behind `stepflow server`: state machines stored by version, executions hashed to
// partitions (one writer thread each, each with its own Driver), every decision committed in one RocksDB
// WriteBatch (history events + execution record + input log + timers + tasks + index rows) before anything
// else happens, durable timers on the real clock, and recovery at start-up by replaying each running
// execution's input log after its latest snapshot (engine/snapshots.h) through the same interpreter. The gRPC/REST adapters (engine/api) call only this.
//
// Errors: absl::Status whose message starts with an AWS-style error name (see engine/errors.h):
//   InvalidArgument  InvalidDefinition / InvalidName / InvalidExecutionInput / InvalidArn / InvalidToken
//   NotFound         StateMachineDoesNotExist / ExecutionDoesNotExist
//   AlreadyExists    StateMachineAlreadyExists / ExecutionAlreadyExists
//   FailedPrecondition  ExecutionNotRunning (Stop on a finished execution)
//   DeadlineExceeded    WaitForCompletion ran out of time
//   Unavailable      storage trouble or shutting down; nothing was changed
//
// Thread-safety: every method may be called from any thread concurrently.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/dead_letters.h"
#include "statemachine/core/execution.h"
#include "statemachine/validator.h"
#include "storage/store.h"

namespace stepflow::engine {

// Logical partitions of a new store (engine/logical_partitions.h): enough for a cluster of a few nodes with
// several threads each; a partition costs nothing while nobody runs it.
inline constexpr int kDefaultLogicalPartitions = 64;
// The most a store may have (a sanity bound on the option and on the stored count).
inline constexpr int kMaxLogicalPartitions = 4096;
// Inputs between two snapshots of an execution (engine/snapshots.h): recovery re-applies fewer than this.
inline constexpr std::int64_t kDefaultSnapshotEveryInputs = 100;

struct EngineOptions {
  // RocksDB directory. Default: "./data". Unused when postgres_conninfo is set.
  std::string data_dir = "./data";
  // libpq connection string of a PostgreSQL database to keep the store in (storage/postgres/); empty = the
  // RocksDB store in data_dir. Default: empty.
  std::string postgres_conninfo;
  // Writer threads. Each runs the logical partitions p with p mod threads == its index; more threads than
  // the store has logical partitions would idle and are not started; the PostgreSQL store runs one per logical
  // partition whatever this says. Default: 0 = common::DefaultWriterThreads() (one per two cores).
  int partitions = 0;
  // Logical partitions of a store created by this open (engine/logical_partitions.h); a store that exists
  // keeps the count it has (a store written before the count was kept: one per writer thread).
  // 0 = one per writer thread. Default: kDefaultLogicalPartitions (64).
  int logical_partitions = kDefaultLogicalPartitions;
  // TaskStarted of a state without HeartbeatSeconds is committed with the task's result instead of before
  // the poll answers (Driver::LeaseTask; docs/engine-notes.md, "Workers"): one commit fewer per task, but a
  // task taken when the server is killed (not stopped) is offered again after the restart, so a task may be
  // handed out twice (the first result counts). Default: false (each task handed out once per attempt).
  bool lazy_task_start = false;
  // Sync the write-ahead log before acknowledging a commit (concurrent commits share fsyncs).
  // Default: true. false is for tests and benchmarks and must be named in every figure it produces.
  bool sync_writes = true;
  // Commits are refused with DiskFull while the store's disk has fewer free bytes than this
  // (storage::StoreOptions::min_free_bytes_to_write). Default: 128 MiB.
  std::uint64_t min_free_disk_bytes = storage::kDefaultMinFreeBytesToWrite;
  // Payload, history-event limits (AWS defaults).
  sm::ExecutionLimits limits;
  // Largest definition accepted. Default: 1 MiB (AWS's limit).
  std::size_t max_definition_bytes = 1 << 20;
  // The clock timers run on. Default: nullptr = the system clock. Not owned.
  common::Clock* clock = nullptr;
  // Longest a partition sleeps before reading `clock` again while a timer is pending, so that a clock that
  // jumps (NTP, a test's VirtualClock) is noticed. Default: 1000 ms; tests on a VirtualClock use ~1 ms.
  common::EpochMillis max_timer_wait_ms = 1000;
  // A partition with nothing else to do wakes this many milliseconds after its next timer is due, so that the
  // timers due meanwhile (retry backoffs, Waits, timeouts that came due together) fire in one commit instead of
  // one each: a timer fires up to this much late, never early. Default: 0 (each at its due time, as tests on a
  // VirtualClock expect); the server's --timer-slack-ms sets it.
  common::EpochMillis timer_slack_ms = 0;
  // Open returns as soon as the store is open and recovery has begun, instead of after every RUNNING
  // execution has been replayed: the partitions replay them a chunk at a time, and calls posted meanwhile run
  // between chunks. A call naming an execution recovery has not reached yet has it replayed first (or
  // quarantined), so every answer is the one it would be after recovery; listing the quarantined executions
  // and counting executions wait for the end of recovery. A storage error during recovery is logged and the
  // execution retried later instead of failing Open. Default: false (Open returns with every execution
  // recovered); the server sets it.
  bool serve_during_recovery = false;
  // An execution's snapshot is written with every this many inputs, and recovery re-applies only the inputs
  // after its latest one (engine/snapshots.h). 0 = no snapshots: recovery replays whole input logs.
  // Default: kDefaultSnapshotEveryInputs (100).
  std::int64_t snapshot_every_inputs = kDefaultSnapshotEveryInputs;
  // Cluster mode (PostgreSQL store only; engine/cluster/): this node's id in the lease tables and the
  // address its API is reached at by the other nodes. On PostgreSQL an empty id is the host name. Every
  // logical partition runs on a writer thread of its own, served only while this node holds its lease.
  std::string cluster_node_id;
  std::string cluster_advertise;
  // Lease timeout: a dead node's partitions move within about this. Default: 10 s.
  std::int64_t cluster_lease_ms = 10000;
};

struct StateMachineInfo {
  std::string name;
  std::string arn;
  std::string definition;  // JSON text as submitted (empty in List results)
  bool express = false;
  std::int64_t version = 0;
  common::EpochMillis created = 0;
  common::EpochMillis updated = 0;
  // Create/Update with publish (AWS's stateMachineVersionArn): the version published. Empty otherwise.
  std::string published_version_arn = {};
};

// A published version of a state machine (AWS's PublishStateMachineVersion): an immutable snapshot of one
// revision. `version` numbers go 1, 2, ... per state machine and are never reused.
struct StateMachineVersionInfo {
  std::string arn;  // arn:...:stateMachine:NAME:N
  std::string state_machine_name;
  std::string state_machine_arn;
  std::int64_t version = 0;
  std::int64_t revision = 0;  // the StateMachineInfo::version it captured
  std::string description;
  std::string definition;  // JSON text (empty in List results)
  bool express = false;
  common::EpochMillis created = 0;
};

// One route of an alias: a version (its ARN) and its share of the starts, 0..100.
struct AliasRoute {
  std::string version_arn;
  int weight = 0;
};

// An alias (AWS's CreateStateMachineAlias): a name that routes starts to one or two versions by weight.
struct StateMachineAliasInfo {
  std::string arn;  // arn:...:stateMachine:NAME:ALIAS
  std::string name;
  std::string state_machine_name;
  std::string state_machine_arn;
  std::string description;
  std::vector<AliasRoute> routes;
  common::EpochMillis created = 0;
  common::EpochMillis updated = 0;
};

struct ExecutionInfoRecord {
  std::string arn;
  std::string name;
  std::string state_machine_arn;
  std::string state_machine_name;
  std::int64_t state_machine_version = 0;  // the revision it runs
  sm::ExecutionStatus status = sm::ExecutionStatus::kRunning;
  std::string input;   // JSON text (empty in List results)
  std::string output;  // JSON text; SUCCEEDED only
  std::string error;
  std::string cause;
  common::EpochMillis start = 0;
  common::EpochMillis stop = 0;  // 0 while running
  int redrive_count = 0;
  // Set aside at start-up because its stored rows could not be read or replayed (engine/quarantine.h): it is
  // not driven; the API shows it as QUARANTINED with the reason. `status` is then what its record says.
  bool quarantined = false;
  std::string quarantine_reason = {};
  // The published version and alias it was started on (issue 12); empty when started on the state machine.
  // Last, so that aggregate initializers of the fields above keep their meaning.
  std::string version_arn = {};
  std::string alias_arn = {};
};

struct HistoryEventRecord {
  std::int64_t id = 0;
  std::int64_t previous_event_id = 0;
  common::EpochMillis timestamp = 0;
  std::string type;
  std::string details_key;
  std::string details;  // JSON text of the details object ("{}" when none)
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // empty on the last page
};

struct ExecutionFilter {
  // Name or ARN of a state machine; empty = all. Or a version or alias ARN: the executions started on that
  // version or through that alias (not combined with `status` or `quarantined`: InvalidArgument).
  std::string state_machine;
  std::optional<sm::ExecutionStatus> status;
  std::optional<common::EpochMillis> started_after;   // inclusive
  std::optional<common::EpochMillis> started_before;  // exclusive
  // Only the quarantined executions (`status` is then ignored). A RUNNING filter leaves them out.
  bool quarantined = false;
  // Only the executions whose name starts with this; empty = all.
  std::string name_prefix;
};

// Executions per status, exact (kept in the commits that change them, not counted by scanning).
struct ExecutionCounts {
  // RUNNING leaves out the quarantined executions, which are counted apart.
  std::map<sm::ExecutionStatus, std::int64_t> by_status;
  std::int64_t quarantined = 0;
};

// A task handed to a worker by PollTask.
struct PolledTask {
  std::string token;
  std::string queue;
  std::string input;  // JSON text
  std::string execution_arn;
  std::string state_machine_arn;
  std::string state_name;
  int attempt = 0;
  common::EpochMillis scheduled = 0;
  common::EpochMillis deadline = 0;  // TimeoutSeconds runs out; 0 = none
  int heartbeat_seconds = 0;         // 0 = none
  std::size_t slot = 0;              // Engine::PollForSlots: the slot (poll) it was started for
};

// Single-task polls of one queue that wait as one (Engine::PollForSlots): slot k stands for a poll of worker
// workers[k].
struct PollSlots {
  std::vector<std::string> workers;
  // True once nobody would receive a task in slot k (may be empty: never). Asked by partitions' threads under
  // the matcher's lock: it must be cheap and never block.
  std::function<bool(std::size_t slot)> gone;
};

// One report in a batch (Engine::ReportTasks): what CompleteTask, FailTask or HeartbeatTask would carry.
struct TaskReport {
  enum class Kind { kComplete, kFail, kHeartbeat };
  Kind kind = Kind::kComplete;
  std::string token;
  std::string output;  // kComplete: JSON text ("" = "{}")
  std::string error;   // kFail
  std::string cause;   // kFail
};

// A worker's request, beside its reports, for tasks of `queue` in the slots those reports free
// (Engine::ReportTasksAndPoll).
struct SlotPoll {
  std::string queue;
  std::string worker;  // the identity TaskStarted names
  int max_tasks = 1;
  std::size_t max_input_bytes = 0;  // the inputs together, about (the first task always comes)
  std::function<bool()> gone;       // as PollTask's (may be empty); asked on the caller's thread only
};

struct ReportsAndTasks {
  std::vector<absl::StatusOr<bool>> results;    // as ReportTasks's
  std::vector<std::vector<PolledTask>> tasks;  // one list per SlotPoll, in order
};

struct DeadLetterFilter {
  std::string queue;          // empty = all
  std::string state_machine;  // name or ARN; empty = all
  std::string error;          // the last attempt's error; empty = all
  std::optional<common::EpochMillis> created_after;   // inclusive
  std::optional<common::EpochMillis> created_before;  // exclusive
};

// What happened to one dead letter in a bulk redrive or discard.
struct DeadLetterOutcome {
  std::string id;
  std::string execution_arn;
  absl::Status status;
};

// Counters since the engine opened, and gauges now (GET /metrics).
struct EngineMetrics {
  std::uint64_t commits = 0;             // RocksDB write batches committed by the partitions
  std::uint64_t history_events = 0;      // history events committed
  std::uint64_t executions_started = 0;
  std::map<std::string, std::uint64_t> executions_ended;  // by status name ("SUCCEEDED", ...)
  std::uint64_t tasks_scheduled = 0;
  std::uint64_t dead_letters_recorded = 0;
  std::map<std::string, std::size_t> queue_depths;  // tasks waiting for a worker, by queue
  std::map<std::string, std::size_t> polls_waiting;  // workers' polls waiting for a task, by queue
  // Tasks started in the commit that scheduled them, for a poll that waited (engine/task_matcher.h).
  std::uint64_t tasks_started_at_schedule = 0;
  std::uint64_t executions_quarantined = 0;         // executions quarantined now (engine/quarantine.h)
  // Cluster mode only (engine/cluster/): partitions this node holds the lease of, live nodes it saw.
  bool clustered = false;
  int cluster_partitions_owned = 0;
  int cluster_nodes_seen = 0;
};

class Engine {
 public:
  // Opens (creating if needed) the store under options.data_dir, recovers every RUNNING execution (restores
  // its latest snapshot and replays the input log after it, or the whole log without a usable snapshot;
  // reloads its pending timers; overdue timers fire at once) and starts the partitions. An
  // execution that cannot be read or replayed is quarantined (logged, counted, shown as QUARANTINED), never
  // a reason to refuse the store. Unavailable when the store cannot be opened (e.g. another server holds
  // it) or cannot be read.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);

  virtual ~Engine() = default;

  // Stops accepting calls, lets in-flight commits finish, stops the partitions. Idempotent; the destructor
  // calls it.
  virtual void Shutdown() = 0;

  // --- State machines. `state_machine` arguments accept a name or an ARN.
  // Idempotent as AWS's CreateStateMachine: the same name, definition and type returns the existing state
  // machine; another definition or type under an existing name is AlreadyExists (StateMachineAlreadyExists).
  // UpdateStateMachine makes a new version only when the definition changes.
  virtual absl::StatusOr<StateMachineInfo> CreateStateMachine(const std::string& name, const std::string& definition,
                                                              bool express) = 0;
  virtual absl::StatusOr<StateMachineInfo> UpdateStateMachine(const std::string& state_machine,
                                                              const std::string& definition) = 0;
  // As CreateStateMachine / UpdateStateMachine, and publishes the resulting revision as a version with
  // `version_description` in the same commit (AWS's publish = true); the result's published_version_arn names
  // it (an existing version when the revision already had one). The errors of PublishStateMachineVersion too.
  virtual absl::StatusOr<StateMachineInfo> CreateStateMachineAndPublish(const std::string& /*name*/,
                                                                        const std::string& /*definition*/,
                                                                        bool /*express*/,
                                                                        const std::string& /*version_description*/) {
    return NoVersions();
  }
  virtual absl::StatusOr<StateMachineInfo> UpdateStateMachineAndPublish(const std::string& /*state_machine*/,
                                                                        const std::string& /*definition*/,
                                                                        const std::string& /*version_description*/) {
    return NoVersions();
  }
  virtual absl::StatusOr<StateMachineInfo> DescribeStateMachine(const std::string& state_machine) = 0;
  virtual absl::StatusOr<Page<StateMachineInfo>> ListStateMachines(int page_size, const std::string& page_token) = 0;
  // Running executions keep running on their version.
  virtual absl::Status DeleteStateMachine(const std::string& state_machine) = 0;

  // --- Versions and aliases (issue 12; engine/definitions.h states their contracts and errors). The defaults
  // answer Unimplemented, for engines that keep no versions (the API tests' fake).
  virtual absl::StatusOr<StateMachineVersionInfo> PublishStateMachineVersion(const std::string& /*state_machine*/,
                                                                             const std::string& /*description*/,
                                                                             std::int64_t /*revision*/) {
    return NoVersions();
  }
  virtual absl::StatusOr<Page<StateMachineVersionInfo>> ListStateMachineVersions(const std::string& /*state_machine*/,
                                                                                 int /*page_size*/,
                                                                                 const std::string& /*page_token*/) {
    return NoVersions();
  }
  virtual absl::StatusOr<StateMachineVersionInfo> DescribeStateMachineVersion(const std::string& /*version_arn*/) {
    return NoVersions();
  }
  virtual absl::Status DeleteStateMachineVersion(const std::string& /*version_arn*/) { return NoVersions(); }
  virtual absl::StatusOr<StateMachineAliasInfo> CreateStateMachineAlias(const std::string& /*name*/,
                                                                        const std::string& /*description*/,
                                                                        const std::vector<AliasRoute>& /*routes*/) {
    return NoVersions();
  }
  // `description` nullopt and `routes` empty: unchanged.
  virtual absl::StatusOr<StateMachineAliasInfo> UpdateStateMachineAlias(const std::string& /*alias_arn*/,
                                                                        const std::optional<std::string>& /*description*/,
                                                                        const std::vector<AliasRoute>& /*routes*/) {
    return NoVersions();
  }
  virtual absl::StatusOr<StateMachineAliasInfo> DescribeStateMachineAlias(const std::string& /*alias_arn*/) {
    return NoVersions();
  }
  virtual absl::StatusOr<Page<StateMachineAliasInfo>> ListStateMachineAliases(const std::string& /*state_machine*/,
                                                                              int /*page_size*/,
                                                                              const std::string& /*page_token*/) {
    return NoVersions();
  }
  virtual absl::Status DeleteStateMachineAlias(const std::string& /*alias_arn*/) { return NoVersions(); }

  // --- Executions.
  // Idempotent by name: same name and same input returns the existing execution; a different input is
  // AlreadyExists (ExecutionAlreadyExists). Returns after the start is committed.
  virtual absl::StatusOr<ExecutionInfoRecord> StartExecution(const std::string& state_machine,
                                                             const std::string& name, const std::string& input) = 0;
  virtual absl::StatusOr<ExecutionInfoRecord> DescribeExecution(const std::string& execution_arn) = 0;
  virtual absl::StatusOr<Page<ExecutionInfoRecord>> ListExecutions(const ExecutionFilter& filter, int page_size,
                                                                   const std::string& page_token) = 0;
  // Every status's count of the executions of `state_machine` (name or ARN; "" = all).
  // StateMachineDoesNotExist when it is unknown.
  virtual absl::StatusOr<ExecutionCounts> CountExecutions(const std::string& state_machine) = 0;
  virtual absl::StatusOr<ExecutionInfoRecord> StopExecution(const std::string& execution_arn, const std::string& error,
                                                            const std::string& cause) = 0;
  virtual absl::StatusOr<Page<HistoryEventRecord>> GetExecutionHistory(const std::string& execution_arn,
                                                                       int page_size, const std::string& page_token,
                                                                       bool reverse_order) = 0;
  // Blocks until the execution has events with id > after_event_id, has ended, or `deadline` (system-clock
  // epoch ms) passes; returns the events with id > after_event_id (possibly none) in order.
  virtual absl::StatusOr<std::vector<HistoryEventRecord>> WaitForHistory(const std::string& execution_arn,
                                                                         std::int64_t after_event_id,
                                                                         common::EpochMillis deadline) = 0;
  // Blocks until the execution ends or `deadline` passes (DeadlineExceeded).
  virtual absl::StatusOr<ExecutionInfoRecord> WaitForCompletion(const std::string& execution_arn,
                                                                common::EpochMillis deadline) = 0;
  // StartExecution, then WaitForCompletion until `deadline`, missing no end in between: the ended execution's
  // record, or the start's (RUNNING) when `deadline` passed first. This default waits after the start, which
  // reads the record first to see whether it ended meanwhile; an engine that can watch for the end before it
  // submits the start need not.
  virtual absl::StatusOr<ExecutionInfoRecord> StartExecutionAndWait(const std::string& state_machine,
                                                                    const std::string& name, const std::string& input,
                                                                    common::EpochMillis deadline) {
    absl::StatusOr<ExecutionInfoRecord> started = StartExecution(state_machine, name, input);
    if (!started.ok() || started->status != sm::ExecutionStatus::kRunning) {
      return started;
    }
    absl::StatusOr<ExecutionInfoRecord> done = WaitForCompletion(started->arn, deadline);
    return absl::IsDeadlineExceeded(done.status()) ? started : done;
  }
  // The exact definition and version the execution runs.
  virtual absl::StatusOr<StateMachineInfo> DescribeStateMachineForExecution(const std::string& execution_arn) = 0;
  // AWS's RedriveExecution: a FAILED, TIMED_OUT or ABORTED execution resumes from the states that did not
  // finish (FailedPrecondition ExecutionNotRedrivable otherwise).
  virtual absl::StatusOr<ExecutionInfoRecord> RedriveExecution(const std::string& execution_arn) = 0;

  // --- Tasks. Errors: InvalidArgument (InvalidToken, InvalidOutput), NotFound (TaskDoesNotExist),
  // FailedPrecondition (TaskTimedOut: timed out, cancelled, or the execution ended).
  // Waits until `deadline` (system-clock epoch ms) for a task of `queue` and starts it (when TaskStarted is
  // committed: engine-notes.md). nullopt when none came. `gone` (may be empty) tells whether the caller went
  // away: a task taken for a caller that is gone goes back to the front of its queue, not started. `taken`
  // (may be empty) is called once the first time tasks leave the queue for this call, before they are
  // started, so that the caller may let another poll wait on the queue meanwhile (api::PollPump).
  virtual absl::StatusOr<std::optional<PolledTask>> PollTask(const std::string& queue, const std::string& worker,
                                                             common::EpochMillis deadline,
                                                             const std::function<bool()>& gone = {},
                                                             const std::function<void()>& taken = {}) = 0;
  // Only the first result of a task counts; a repeated one changes nothing and is OK.
  virtual absl::Status CompleteTask(const std::string& token, const std::string& output) = 0;
  virtual absl::Status FailTask(const std::string& token, const std::string& error, const std::string& cause) = 0;
  // Restarts the task's HeartbeatSeconds clock. True when the task is no longer wanted (cancelled).
  virtual absl::StatusOr<bool> HeartbeatTask(const std::string& token) = 0;
  // Up to `max_tasks` tasks of `queue`: waits until `deadline` for the first (as PollTask), then takes those
  // waiting at that moment while their inputs together stay within `max_input_bytes` (the first always
  // goes), each started as PollTask starts it. Empty when none came. The default polls one at a time; the
  // durable engine starts them together. `gone` and `taken` as for PollTask.
  virtual absl::StatusOr<std::vector<PolledTask>> PollTasks(const std::string& queue, const std::string& worker,
                                                            int max_tasks, std::size_t max_input_bytes,
                                                            common::EpochMillis deadline,
                                                            const std::function<bool()>& gone = {},
                                                            const std::function<void()>& taken = {});
  // Up to one task per slot of `slots`, each started for its slot's worker and returned with `slot` set: waits
  // until `deadline` for the first (as PollTask), then takes those waiting at that moment, in slot order, with
  // no budget on their inputs together (each goes to a call of its own). The durable engine reserves the
  // waiting slots for the commits that schedule tasks of `queue`, as for one PollTasks call, so that the tasks
  // a commit schedules are started in it for as many slots as it has tasks (api::PollPump parks single-task
  // polls and waits for them together). A slot that is `gone` when a task would be reserved for it or started
  // gets none. `taken` as for PollTask, told which slots the tasks taken go to (`served`, one flag per slot;
  // a served slot may still end without a task, withdrawn before it started). The default serves the first
  // slot not gone, as one PollTask.
  using SlotsTaken = std::function<void(const std::vector<bool>& served)>;
  virtual absl::StatusOr<std::vector<PolledTask>> PollForSlots(const std::string& queue, const PollSlots& slots,
                                                               common::EpochMillis deadline,
                                                               const SlotsTaken& taken = {});
  // Each report answered as its unary call would answer it (for a heartbeat: the cancelled flag; for a
  // result: false), in order. The durable engine commits the reports that reach one partition together; a
  // report whose execution another node serves gets that call's Unavailable with the owner (forwarding.h).
  virtual std::vector<absl::StatusOr<bool>> ReportTasks(const std::vector<TaskReport>& reports);
  // ReportTasks, then for each of `polls` up to max_tasks tasks of its queue without waiting, each started
  // for its worker: first those the reports' own commits schedule on that queue (the durable engine starts
  // them in those commits, as for a poll waiting in the matcher, so that a worker's next task costs no commit
  // of its own), then those waiting in the queue. A poll's error leaves its list short (the next poll meets
  // it again). The default reports, then polls with a deadline already passed.
  virtual ReportsAndTasks ReportTasksAndPoll(const std::vector<TaskReport>& reports,
                                             const std::vector<SlotPoll>& polls);

  // --- Dead letters, oldest first.
  virtual absl::StatusOr<Page<DeadLetterRecord>> ListDeadLetters(const DeadLetterFilter& filter, int page_size,
                                                                 const std::string& page_token) = 0;
  // NotFound (DeadLetterDoesNotExist).
  virtual absl::StatusOr<DeadLetterRecord> GetDeadLetter(const std::string& id) = 0;
  // Re-runs each entry's task (with `input` instead of the recorded one when given) and resumes its
  // execution from that state; the entry is removed. `id` non-empty selects one entry, else `filter`.
  virtual absl::StatusOr<std::vector<DeadLetterOutcome>> RedriveDeadLetters(const std::string& id,
                                                                            const DeadLetterFilter& filter,
                                                                            const std::optional<std::string>& input) = 0;
  virtual absl::StatusOr<std::vector<DeadLetterOutcome>> DiscardDeadLetters(const std::string& id,
                                                                            const DeadLetterFilter& filter) = 0;

  // Never blocks on the partitions: counters are read as they are.
  virtual EngineMetrics Metrics() = 0;

  // The key with which the API seals page tokens (engine/api/page_tokens.h). An engine with a store derives
  // it from the store's key (the task tokens' key, column `meta`), so that a page token stays valid across
  // a restart of the server. Empty when the engine keeps no key: the API then seals with a key of its own
  // process.
  virtual std::string PageTokenKey() const { return ""; }

  // Cluster mode: the gRPC addresses of the other nodes that hold partitions, each once, as this node last saw
  // them: tasks wait in the matcher of the node serving their partition, and an idle poll asks these nodes
  // for one (engine/api/poll_pump.h). Empty outside cluster mode. Never blocks on the store.
  virtual std::vector<std::string> PeerAddresses() { return {}; }

 private:
  static absl::Status NoVersions() {
    return absl::UnimplementedError("UnsupportedOperation: this engine keeps no versions or aliases");
  }
};

// Validates without storing anything (StateMachines.Validate).
std::vector<sm::Diagnostic> ValidateStateMachineDefinition(const std::string& definition, bool express);

}  // namespace stepflow::engine
