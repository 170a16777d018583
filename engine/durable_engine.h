#pragma once
// The Engine behind Engine::Open (engine/engine.h has the contract). Internal to engine/: the API layer
// includes engine.h only.
//
// Shape: state machines live in a DefinitionStore (called on the API thread); executions are hashed by ARN
// to Partitions, and every call that changes an execution is posted to its partition and waits for the
// answer, which comes after the commit. Reads (describe, list, history) go to the store directly: it holds
// only committed state. Waits sleep on the partition's CommitWatchers.
//
// Thread-safety: thread-safe.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/cluster/lease_manager.h"
#include "engine/definitions.h"
#include "engine/engine.h"
#include "engine/execution_counts.h"
#include "engine/partition.h"
#include "engine/task_tokens.h"
#include "engine/quarantine.h"
#include "storage/store.h"

namespace stepflow::engine {

class DurableEngine final : public Engine, private cluster::PartitionHost {
 public:
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  ~DurableEngine() override;

  void Shutdown() override;

  absl::StatusOr<StateMachineInfo> CreateStateMachine(const std::string& name, const std::string& definition,
                                                      bool express) override;
  absl::StatusOr<StateMachineInfo> UpdateStateMachine(const std::string& state_machine,
                                                      const std::string& definition) override;
  absl::StatusOr<StateMachineInfo> CreateStateMachineAndPublish(const std::string& name, const std::string& definition,
                                                                bool express,
                                                                const std::string& version_description) override;
  absl::StatusOr<StateMachineInfo> UpdateStateMachineAndPublish(const std::string& state_machine,
                                                                const std::string& definition,
                                                                const std::string& version_description) override;
  absl::StatusOr<StateMachineInfo> DescribeStateMachine(const std::string& state_machine) override;
  absl::StatusOr<Page<StateMachineInfo>> ListStateMachines(int page_size, const std::string& page_token) override;
  absl::Status DeleteStateMachine(const std::string& state_machine) override;
  // Versions and aliases (durable_engine_versions.cc): DefinitionStore's, behind the call guard.
  absl::StatusOr<StateMachineVersionInfo> PublishStateMachineVersion(const std::string& state_machine,
                                                                     const std::string& description,
                                                                     std::int64_t revision) override;
  absl::StatusOr<Page<StateMachineVersionInfo>> ListStateMachineVersions(const std::string& state_machine,
                                                                         int page_size,
                                                                         const std::string& page_token) override;
  absl::StatusOr<StateMachineVersionInfo> DescribeStateMachineVersion(const std::string& version_arn) override;
  absl::Status DeleteStateMachineVersion(const std::string& version_arn) override;
  absl::StatusOr<StateMachineAliasInfo> CreateStateMachineAlias(const std::string& name,
                                                                const std::string& description,
                                                                const std::vector<AliasRoute>& routes) override;
  absl::StatusOr<StateMachineAliasInfo> UpdateStateMachineAlias(const std::string& alias_arn,
                                                                const std::optional<std::string>& description,
                                                                const std::vector<AliasRoute>& routes) override;
  absl::StatusOr<StateMachineAliasInfo> DescribeStateMachineAlias(const std::string& alias_arn) override;
  absl::StatusOr<Page<StateMachineAliasInfo>> ListStateMachineAliases(const std::string& state_machine,
                                                                      int page_size,
                                                                      const std::string& page_token) override;
  absl::Status DeleteStateMachineAlias(const std::string& alias_arn) override;

  absl::StatusOr<ExecutionInfoRecord> StartExecution(const std::string& state_machine, const std::string& name,
                                                     const std::string& input) override;
  absl::StatusOr<ExecutionInfoRecord> DescribeExecution(const std::string& execution_arn) override;
  absl::StatusOr<Page<ExecutionInfoRecord>> ListExecutions(const ExecutionFilter& filter, int page_size,
                                                           const std::string& page_token) override;
  absl::StatusOr<ExecutionCounts> CountExecutions(const std::string& state_machine) override;
  absl::StatusOr<ExecutionInfoRecord> StopExecution(const std::string& execution_arn, const std::string& error,
                                                    const std::string& cause) override;
  absl::StatusOr<Page<HistoryEventRecord>> GetExecutionHistory(const std::string& execution_arn, int page_size,
                                                               const std::string& page_token,
                                                               bool reverse_order) override;
  absl::StatusOr<std::vector<HistoryEventRecord>> WaitForHistory(const std::string& execution_arn,
                                                                 std::int64_t after_event_id,
                                                                 common::EpochMillis deadline) override;
  absl::StatusOr<ExecutionInfoRecord> WaitForCompletion(const std::string& execution_arn,
                                                        common::EpochMillis deadline) override;
  // Watches for the end from before the start is submitted, so it never reads the record to learn whether the
  // execution ended before the wait: once at its end only.
  absl::StatusOr<ExecutionInfoRecord> StartExecutionAndWait(const std::string& state_machine, const std::string& name,
                                                            const std::string& input,
                                                            common::EpochMillis deadline) override;
  absl::StatusOr<StateMachineInfo> DescribeStateMachineForExecution(const std::string& execution_arn) override;
  absl::StatusOr<ExecutionInfoRecord> RedriveExecution(const std::string& execution_arn) override;

  absl::StatusOr<std::optional<PolledTask>> PollTask(const std::string& queue, const std::string& worker,
                                                     common::EpochMillis deadline, const std::function<bool()>& gone,
                                                     const std::function<void()>& taken) override;
  absl::Status CompleteTask(const std::string& token, const std::string& output) override;
  absl::Status FailTask(const std::string& token, const std::string& error, const std::string& cause) override;
  absl::StatusOr<bool> HeartbeatTask(const std::string& token) override;
  absl::StatusOr<std::vector<PolledTask>> PollTasks(const std::string& queue, const std::string& worker,
                                                    int max_tasks, std::size_t max_input_bytes,
                                                    common::EpochMillis deadline, const std::function<bool()>& gone,
                                                    const std::function<void()>& taken) override;
  absl::StatusOr<std::vector<PolledTask>> PollForSlots(const std::string& queue, const PollSlots& slots,
                                                       common::EpochMillis deadline, const SlotsTaken& taken) override;
  std::vector<absl::StatusOr<bool>> ReportTasks(const std::vector<TaskReport>& reports) override;
  ReportsAndTasks ReportTasksAndPoll(const std::vector<TaskReport>& reports,
                                     const std::vector<SlotPoll>& polls) override;

  absl::StatusOr<Page<DeadLetterRecord>> ListDeadLetters(const DeadLetterFilter& filter, int page_size,
                                                         const std::string& page_token) override;
  absl::StatusOr<DeadLetterRecord> GetDeadLetter(const std::string& id) override;
  absl::StatusOr<std::vector<DeadLetterOutcome>> RedriveDeadLetters(const std::string& id,
                                                                    const DeadLetterFilter& filter,
                                                                    const std::optional<std::string>& input) override;
  absl::StatusOr<std::vector<DeadLetterOutcome>> DiscardDeadLetters(const std::string& id,
                                                                    const DeadLetterFilter& filter) override;
  EngineMetrics Metrics() override;
  std::string PageTokenKey() const override { return page_token_key_; }
  std::vector<std::string> PeerAddresses() override;  // durable_engine_cluster.cc

 private:
  // Counts an API call in flight for Shutdown; false when the engine no longer accepts calls.
  class CallGuard {
   public:
    explicit CallGuard(DurableEngine* engine);
    ~CallGuard();
    explicit operator bool() const { return admitted_; }

   private:
    DurableEngine* engine_;
    bool admitted_;
  };

  explicit DurableEngine(const EngineOptions& options);
  // --- Cluster mode (durable_engine_cluster.cc).
  // Opens the lease manager and takes this node's share of the partitions.
  absl::Status StartCluster(storage::PostgresStore* store);
  std::vector<absl::Status> Adopt(const std::vector<storage::PartitionLease>& leases) override;
  void Drop(std::uint32_t partition) override;
  // OK when this node serves the execution's partition (always outside cluster mode); else Unavailable
  // ("ServiceUnavailable: ...") carrying the owner's address as the kOwnerPayload payload when one is known.
  absl::Status RefuseIfServedElsewhere(std::string_view execution_id) const;
  // The execution ARN of a start, with a name this engine picks when `name` is empty: in cluster mode one
  // whose partition this node serves, when it serves any (a start forwarded without a name would get another
  // name, hence another partition, on every node it reached). Sets `picked` to the name used.
  std::string StartArn(const std::string& state_machine, bool express, const std::string& name,
                       std::string& picked) const;
  // The definitions' guard: OK when this node serves partition 0 (definitions are written by its owner only).
  absl::Status RefuseIfDefinitionsElsewhere() const;
  // Cluster mode: a wait's slice, so that waits on executions served by other nodes re-read the store.
  common::EpochMillis WaitSlice(common::EpochMillis deadline) const;
  struct Recovery;
  // Finds the RUNNING executions and has the partitions replay them (engine/replay.h), a chunk per posted
  // work item; sets recovery_. Its `finished` future is ready when every partition is done: the first storage
  // error, or OK (ShuttingDown when a shutdown cut it short).
  absl::Status StartRecovery();
  // Replays the chunk of partition `p`'s executions that begins at `begin`, then posts the next chunk, or
  // finishes recovery when it was the last partition's last chunk. On partition p's thread.
  void RecoverChunk(const std::shared_ptr<Recovery>& recovery, std::size_t p, std::size_t begin);
  // Replays those of `ids` (all partition p's) that are still pending, quarantines the ones that cannot be
  // replayed, and only then takes them out of the pending set. On partition p's thread.
  void RecoverPending(Recovery& recovery, std::size_t p, const std::vector<std::string>& ids);
  void FinishRecovery(Recovery& recovery);
  // While the engine serves during recovery (EngineOptions::serve_during_recovery): returns once each of
  // `ids` that recovery has not reached yet has been replayed on demand (or quarantined), so that whatever the
  // caller reads or does next sees it as recovery leaves it. OK at once when none is pending (always after
  // recovery); ShuttingDown when the engine stops first.
  absl::Status AwaitRecovered(const std::vector<std::string>& ids);
  absl::Status AwaitRecovered(const std::string& id) { return AwaitRecovered(std::vector<std::string>{id}); }
  // Returns once every RUNNING execution has been replayed or quarantined (for answers about all of them: the
  // quarantined listing, counts). ShuttingDown when a shutdown cut recovery short.
  absl::Status AwaitRecoveryEnd();
  // Sets aside the executions recovery could not replay (engine/quarantine.h), logging each loudly.
  // `starts` maps each RUNNING execution to the start time of its index entry.
  void Quarantine(const std::vector<std::pair<std::string, absl::Status>>& unrecoverable,
                  const std::map<std::string, common::EpochMillis>& starts);
  // The quarantined execution `id`, if it is one. Cheap when none is quarantined. REQUIRES: AwaitRecovered(id)
  // returned OK (before that, an execution recovery has not reached is not known to be quarantined).
  std::optional<QuarantinedExecution> Quarantined(const std::string& id) const;
  // ExecutionQuarantined when `id` is quarantined (once recovery has reached it: AwaitRecovered), else OK.
  absl::Status RefuseIfQuarantined(const std::string& id);
  // StartExecution's checks and the start it submits to the execution's partition.
  absl::StatusOr<StartRequest> MakeStartRequest(const std::string& state_machine, const std::string& name,
                                                const std::string& input);
  // Submits `request` to its partition and waits for the start's commit.
  absl::StatusOr<ExecutionInfoRecord> SubmitStart(StartRequest request);
  // Waits on `watch` (an end watch of `id` on `watchers`) until the record of `id` says it ended, reading it
  // after each wake (and first, with `read_first`); nullopt when `deadline` passed first.
  absl::StatusOr<std::optional<ExecutionInfoRecord>> AwaitEnd(CommitWatchers& watchers, CommitWatchers::Watch& watch,
                                                              const std::string& id, common::EpochMillis deadline,
                                                              bool read_first);
  // Marks the quarantined ones among `records` and, for a RUNNING listing, leaves them out.
  void OverlayQuarantined(const ExecutionFilter& filter, std::vector<ExecutionInfoRecord>& records) const;
  // Every quarantined execution matching the filter's state machine, for a QUARANTINED listing.
  Page<ExecutionInfoRecord> ListQuarantined(const std::string& machine) const;
  Partition& PartitionFor(const std::string& execution_id);
  // The writer thread (index into partitions_) that runs the execution's logical partition.
  std::size_t ThreadOf(std::string_view execution_id) const;
  // Posts an operation to the partition of `id` and waits for its answer.
  using Done = absl::AnyInvocable<void(absl::StatusOr<ExecutionInfoRecord>)>;
  absl::StatusOr<ExecutionInfoRecord> CallPartition(const std::string& id,
                                                    absl::AnyInvocable<void(Partition&, Done)> op);
  // The same for any answer type.
  template <typename T>
  absl::StatusOr<T> Call(const std::string& id,
                         absl::AnyInvocable<void(Partition&, absl::AnyInvocable<void(absl::StatusOr<T>)>)> op);
  // A worker's report on the task `token` names.
  absl::StatusOr<bool> Report(const std::string& token, DriverInput input);
  // Posts `op(partition, k, done)` for every k to the partition of ids[k] (all of a partition's items in one
  // work item, so that they land in one commit group) and waits for every answer; answers in the order of
  // `ids`. An id another node serves is answered with RefuseIfServedElsewhere's error.
  template <typename T>
  using EachOp = std::function<void(Partition&, std::size_t, absl::AnyInvocable<void(absl::StatusOr<T>)>)>;
  template <typename T>
  std::vector<absl::StatusOr<T>> CallEach(const std::vector<std::string>& ids, const EachOp<T>& op);
  // Starts the tasks taken from the matcher together, each for its worker (its slot's, for a slotted poller);
  // the started ones as PolledTask (withdrawn ones are left out), or the first error when none started and
  // one failed.
  absl::StatusOr<std::vector<PolledTask>> StartTaken(std::vector<QueuedTask> taken, const Poller& poller);
  // PollTasks and PollForSlots for `poller`: waits in the matcher until `deadline`, then takes what waits, up
  // to poller.max_tasks, and starts what was not started for it in a commit already. A task taken for a
  // slotted poller goes to the first slot left free (and not gone); each comes back with its slot. `on_taken`
  // as PollForSlots' `taken` (for a poller without slots: one flag, set).
  absl::StatusOr<std::vector<PolledTask>> PollWith(const std::string& queue, const Poller& poller,
                                                   common::EpochMillis deadline, const SlotsTaken& on_taken);
  // Appends to `out` the tasks the matcher delivered started (their TaskStarted is committed: they are the
  // caller's whatever happens next), each under a token minted for it; returns their inputs' bytes.
  std::size_t AppendStarted(std::vector<QueuedTask> started, std::vector<PolledTask>& out);
  // Every dead letter matching `filter` (or the one `id` names), for bulk operations.
  absl::StatusOr<std::vector<DeadLetterRecord>> SelectDeadLetters(const std::string& id,
                                                                  const DeadLetterFilter& filter);
  // Whether `record` matches `filter`; `machine` is the filter's state machine ARN ("" = any).
  static bool Matches(const DeadLetterRecord& record, const DeadLetterFilter& filter, const std::string& machine);
  // The committed record of `execution_arn`. InvalidArgument (InvalidArn), NotFound (ExecutionDoesNotExist).
  absl::StatusOr<ExecutionInfoRecord> ReadExecution(const std::string& execution_arn);
  // Committed events with id > after_event_id, at most `limit`, in order.
  absl::StatusOr<std::vector<HistoryEventRecord>> ReadEventsAfter(const std::string& execution_arn,
                                                                  std::int64_t after_event_id, int limit);

  EngineOptions options_;
  std::unique_ptr<common::Clock> own_clock_;
  common::Clock* clock_ = nullptr;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<DefinitionStore> definitions_;
  TaskMatcher matcher_;
  std::unique_ptr<TaskTokens> task_tokens_;
  std::string page_token_key_;  // task_tokens_->DeriveKey(kPageTokenKeyPurpose); set in Open
  // One per partition, its rows of the execution counts; declared first so that it outlives the partitions.
  std::vector<std::unique_ptr<ExecutionCountsWriter>> execution_counts_;
  std::vector<std::unique_ptr<Partition>> partitions_;  // one per writer thread
  int logical_partitions_ = 1;  // the store's count (engine/logical_partitions.h); set in Open

  // Cluster mode: the lease manager, and per logical partition the epoch it is served under (0: not here).
  std::unique_ptr<cluster::LeaseManager> leases_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> serving_;
  std::unique_ptr<storage::Store> definitions_store_;  // the fenced view DefinitionStore writes through
  std::atomic<std::size_t> adopted_running_{0};  // executions and timers recovered by Adopt, for the log
  std::atomic<std::size_t> adopted_timers_{0};

  // The recovery of the RUNNING executions at Open (nullptr in cluster mode, where Adopt recovers each
  // partition before it is served). Set before Open returns, never reset.
  std::shared_ptr<Recovery> recovery_;

  mutable std::mutex quarantine_mu_;
  std::map<std::string, QuarantinedExecution> quarantined_;  // guarded by quarantine_mu_
  std::atomic<std::size_t> quarantined_count_{0};            // quarantined_.size(), read without the lock

  std::mutex calls_mu_;
  std::condition_variable calls_cv_;
  bool accepting_ = true;   // guarded by calls_mu_
  int calls_ = 0;           // guarded by calls_mu_
  bool shut_down_ = false;  // guarded by calls_mu_
};

}  // namespace stepflow::engine
