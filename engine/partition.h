#pragma once
// One partition of the durable engine: a writer thread that owns a durable-mode Driver for the executions
// hashed to it, an inbox of work posted by API threads, and the driver's timer heap on the engine's clock.
//
// The loop: take the work waiting in the inbox (up to max_group_inputs), apply it and every due timer inside
// one Driver group, commit the group in one WriteBatch, then answer the callers and wake the commit watchers.
// Concurrent partitions' commits share fsyncs through RocksDB's write group.
//
// Thread-safety: Post, Stop and watchers() may be called from any thread; everything else runs on the
// partition thread (REQUIRES: called from a posted work item).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/commit_watchers.h"
#include "engine/definitions.h"
#include "engine/driver.h"
#include "engine/engine.h"
#include "engine/quarantine.h"
#include "engine/snapshots.h"
#include "engine/task_matcher.h"
#include "engine/random_values.h"
#include "storage/store.h"

namespace stepflow::engine {

struct PartitionOptions {
  sm::ExecutionLimits limits;
  // Longest the thread sleeps before reading the clock again while a timer is pending, so that a clock
  // that jumps (NTP, a test's VirtualClock) is noticed. Default: 1000 ms.
  common::EpochMillis max_timer_wait_ms = 1000;
  // How late a timer may fire so that the timers due within this many milliseconds of the first fire in one
  // commit group (EngineOptions::timer_slack_ms). Default: 0, each at its due time.
  common::EpochMillis timer_slack_ms = 0;
  // Inputs applied in one commit group. Default: 256: large enough to share an fsync among many
  // executions, small enough to bound the latency one group adds.
  std::size_t max_group_inputs = 256;
  // After a failed commit, how long until the dropped executions are reloaded from the store. Default: 1000.
  common::EpochMillis reload_delay_ms = 1000;
  // Signs the task tokens the partition's executions mint (not owned; must outlive the partition). Default:
  // nullptr, unsigned tokens (tests of the partition alone).
  const sm::TaskTokenMinter* task_tokens = nullptr;
  // This partition's rows of the execution counts (execution_counts.h; not owned; must outlive the partition).
  // Default: nullptr, not counted (tests of the partition alone).
  ExecutionCountsWriter* execution_counts = nullptr;
  // Snapshots written with the inputs and read at recovery (engine/snapshots.h). Default: none (no key).
  SnapshotOptions snapshots = {};
  // Cluster mode (engine/cluster/): called on the partition thread when a commit made under lease `epoch`
  // (never 0) was refused because the lease moved on; the partition has already forgotten its executions.
  // Default: none.
  std::function<void(int index, std::uint64_t epoch)> lease_lost = nullptr;
};

// A new execution for Partition::StartExecution.
struct StartRequest {
  std::shared_ptr<const sm::StateMachine> machine;
  sm::ExecutionInfo info;
  ExecutionMeta meta;
  boost::json::value input;
};

class Partition final : private DriverListener {
 public:
  // A reply runs on the partition thread after the group's commit, with its status (OK, or Unavailable when
  // the commit failed and nothing of the group happened).
  using Reply = absl::AnyInvocable<void(const absl::Status& commit)>;
  using Work = absl::AnyInvocable<void()>;

  // Not owned; all must outlive the partition.
  Partition(int index, storage::Store* store, common::Clock* clock, DefinitionStore* definitions,
            TaskMatcher* matcher, PartitionOptions options);
  ~Partition() override;

  // Starts the thread.
  void Run();
  // Queues `work` for the thread. False (and `work` dropped) once Stop was called.
  bool Post(Work work);
  // Stops accepting work, finishes what is queued (commits included), joins the thread. Idempotent.
  void Stop();
  CommitWatchers& watchers() { return watchers_; }
  // Readable from any thread.
  const DriverCounters& counters() const { return driver_.counters(); }

  // --- On the partition thread (inside a posted Work).
  // Calls `reply` after the current group's commit.
  void AfterCommit(Reply reply) { replies_.push_back(std::move(reply)); }
  // Starts an execution, or finds the one with the same id: same input -> it, else AlreadyExists.
  // Calls `done` after the commit with the execution as the API shows it.
  void StartExecution(StartRequest request, absl::AnyInvocable<void(absl::StatusOr<ExecutionInfoRecord>)> done);
  void StopExecution(const std::string& id, const std::string& error, const std::string& cause,
                     absl::AnyInvocable<void(absl::StatusOr<ExecutionInfoRecord>)> done);
  // Replays each execution and adopts it. Adds the timers it armed to `timers` (due, id, timer id). An
  // execution that cannot be read or replayed is left out and added to `unrecoverable` with the reason; the
  // first storage error (Unavailable: the store itself is in trouble) is returned, the rest still recovered,
  // and the executions it hit are reloaded later. One already in memory (a call during recovery loaded it and
  // may have changed it since) is left as it is, its timers are not added, and it is added to `loaded_before`.
  absl::Status Recover(const std::vector<std::string>& ids,
                       std::set<std::tuple<common::EpochMillis, std::string, std::uint64_t>>* timers,
                       std::vector<std::pair<std::string, absl::Status>>* unrecoverable,
                       std::set<std::string>* loaded_before);
  // Cluster mode (engine/cluster/): every later commit carries `fence`; a fence with epoch 0 (no lease: none
  // is ever granted at 0) makes every commit fail, and executions dropped then are not reloaded.
  void SetFence(std::optional<storage::LeaseFence> fence);
  // Forgets every execution in memory, its timers and tasks, and the reloads due (the lease is gone).
  void ForgetAll();
  // Ends a quarantined execution ABORTED without replaying it (engine/quarantine.h): `done` after the commit
  // with the ended execution, or the storage error.
  void TerminateQuarantined(const QuarantinedExecution& quarantined, const std::string& error,
                            const std::string& cause,
                            absl::AnyInvocable<void(absl::StatusOr<ExecutionInfoRecord>)> done);

  // --- Tasks (partition_tasks.cc). Errors as Engine's task calls (engine/engine.h); `token` names the task
  // in them.
  // Starts a task the matcher handed out: `done(true)` once it is the worker's, or `done(false)` when the task
  // is no longer pending or already taken (it must not be handed out). With `lazy` (a state without
  // HeartbeatSeconds) TaskStarted is recorded with the execution's next input (Driver::LeaseTask) and `done`
  // is called at once; otherwise it is committed and `done` called after the commit.
  void StartTask(const std::string& id, std::uint64_t task_id, const std::string& worker, bool lazy,
                 absl::AnyInvocable<void(absl::StatusOr<bool>)> done);
  // A worker's report (succeeded, failed, heartbeat). `done(cancelled)` after the commit: true when the task
  // is no longer wanted.
  void ReportTask(DriverInput input, const std::string& token, absl::AnyInvocable<void(absl::StatusOr<bool>)> done);
  // Redrives an ended execution (loading it when evicted). ExecutionNotRedrivable when it is not.
  void RedriveExecution(const std::string& id, absl::AnyInvocable<void(absl::StatusOr<ExecutionInfoRecord>)> done);
  // Redrives an ended execution with those of `dead_letters` (its dead letters, by task id) that are still in
  // the list, checked here against the store and the open group, so that one entry is redriven or discarded
  // once however the calls race. `done` gets one outcome per entry of `dead_letters`, in task id order:
  // DeadLetterDoesNotExist for an entry already gone, else the redrive's result.
  void RedriveDeadLetters(const std::string& id, sm::RedrivenDeadLetters dead_letters,
                          absl::AnyInvocable<void(absl::StatusOr<std::vector<DeadLetterOutcome>>)> done);
  // Discards the dead letter of task `task_id`: DeadLetterDoesNotExist when it is no longer in the list.
  void DiscardDeadLetter(const std::string& id, std::uint64_t task_id, const std::string& state_name,
                         absl::AnyInvocable<void(absl::StatusOr<bool>)> done);

 private:
  void Loop();
  // REQUIRES: mu_ held (the driver is touched only from this thread, which holds it while deciding to sleep).
  void WaitForWork(std::unique_lock<std::mutex>& lock);
  std::optional<common::EpochMillis> NextWake() const;
  void RunGroup(std::deque<Work> work);
  // At shutdown: commits TaskStarted for the tasks workers took lazily (Driver::RecordLeases).
  void RecordTaskLeases();
  // Loads a RUNNING execution that is not in memory (dropped after a failed commit) by replaying it; with
  // `ended` also one that has ended (the caller Releases it when done).
  absl::Status Load(const std::string& id, bool ended = false);
  // Makes sure the execution is in memory, loading it (ended ones too). NotFound (ExecutionDoesNotExist).
  absl::Status Ensure(const std::string& id);
  // Driver::Redrive of an execution made sure of; ExecutionNotRedrivable when it is not redrivable.
  absl::StatusOr<ExecutionInfoRecord> Redrive(const std::string& id, const sm::RedrivenDeadLetters& dead_letters);
  void ReloadDue();

  void Committed(const std::string& execution_id, bool ended) override;
  void Dropped(const std::string& execution_id) override;

  const int index_;
  storage::Store* store_;
  common::Clock* clock_;
  DefinitionStore* definitions_;
  const PartitionOptions options_;
  RandomRuntimeValues runtime_;
  MatcherDispatcher dispatcher_;
  Driver driver_;
  CommitWatchers watchers_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Work> inbox_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread thread_;

  // Partition thread only.
  std::vector<Reply> replies_;
  std::vector<CommitWatchers::Touched> committed_;
  std::map<std::string, common::EpochMillis> reload_;  // dropped execution -> when to reload it
  std::optional<storage::LeaseFence> fence_;           // cluster mode: the lease commits are made under
};

}  // namespace stepflow::engine
