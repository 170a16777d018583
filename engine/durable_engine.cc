#include "engine/durable_engine.h"

#include <algorithm>
#include <future>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/writer_threads.h"
#include "engine/cluster/fenced_store.h"
#include "engine/errors.h"
#include "engine/input_log.h"
#include "engine/logical_partitions.h"
#include "engine/names.h"
#include "engine/pending_work.h"
#include "engine/random_values.h"
#include "engine/records.h"
#include "engine/snapshots.h"
#include "spdlog/spdlog.h"
#include "storage/postgres/postgres_store.h"

namespace stepflow::engine {
namespace {

// What the page-token key is derived for (TaskTokens::DeriveKey). Changing it invalidates every page token
// handed out before.
constexpr std::string_view kPageTokenKeyPurpose = "page tokens";

using TimerSet = std::set<std::tuple<common::EpochMillis, std::string, std::uint64_t>>;

// Execution names and express ARNs need UUIDs on API threads.
std::string NewUuid() {
  thread_local RandomRuntimeValues values;
  return values.NewUuid();
}

// A random number in [0, 1) that picks an alias's route by weight.
double RouteUnit() {
  thread_local RandomRuntimeValues values;
  return values.NextRandomUnit();
}

// Every timer row: U64(due) Str(execution id) U64(timer id).
absl::StatusOr<TimerSet> ReadTimerRows(storage::Store& store) {
  TimerSet rows;
  RETURN_IF_ERROR(store.Scan(storage::Column::kTimers, "", "", false, [&](std::string_view key, std::string_view) {
    if (key.size() >= 17) {
      rows.insert({static_cast<common::EpochMillis>(storage::ReadUint64BigEndian(key)),
                   std::string(key.substr(8, key.size() - 17)),
                   storage::ReadUint64BigEndian(key.substr(key.size() - 8))});
    }
    return true;
  }));
  return rows;
}

}  // namespace

// Everything one recovery shares between the partitions' chunks and the calls that replay an execution on
// demand. The per-partition vectors are touched only on their partition's thread until recovery finishes.
struct DurableEngine::Recovery {
  using Unrecoverable = std::vector<std::pair<std::string, absl::Status>>;
  std::vector<std::vector<std::string>> running;  // per partition, in index (start time) order
  std::map<std::string, common::EpochMillis> starts;
  std::size_t total = 0;
  TimerSet rows;                            // the timers column before the partitions ran
  std::vector<TimerSet> armed;              // per partition: the timers its replays armed
  std::vector<Unrecoverable> unrecoverable;  // per partition, quarantined as they were found
  std::vector<absl::Status> errors;          // per partition: its first storage error
  std::vector<std::set<std::string>> loaded_before;  // per partition: loaded by a call before its chunk
  std::atomic<std::size_t> partitions_left{0};
  std::atomic<bool> cut_short{false};  // the engine shut down before every chunk ran
  std::promise<absl::Status> done;
  std::shared_future<absl::Status> finished = done.get_future().share();
  // The RUNNING executions not replayed (nor quarantined) yet. An id leaves the set only after its replay
  // or its quarantine, so a call that does not find its execution here sees it as recovery left it.
  std::mutex pending_mu;
  std::unordered_set<std::string> pending;  // guarded by pending_mu
  std::atomic<std::size_t> pending_count{0};  // pending.size(), read without the lock
};

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  return DurableEngine::Open(options);
}

DurableEngine::DurableEngine(const EngineOptions& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<Engine>> DurableEngine::Open(const EngineOptions& options) {
  std::unique_ptr<DurableEngine> engine(new DurableEngine(options));
  if (options.clock != nullptr) {
    engine->clock_ = options.clock;
  } else {
    engine->own_clock_ = std::make_unique<common::SystemClock>();
    engine->clock_ = engine->own_clock_.get();
  }
  if (!options.postgres_conninfo.empty()) {
    storage::PostgresStoreOptions store_options;
    store_options.conninfo = options.postgres_conninfo;
    store_options.sync_writes = options.sync_writes;
    ASSIGN_OR_RETURN(std::unique_ptr<storage::PostgresStore> opened, storage::OpenPostgresStore(store_options));
    engine->store_ = std::move(opened);
  } else {
    storage::StoreOptions store_options;
    store_options.path = options.data_dir;
    store_options.sync_writes = options.sync_writes;
    store_options.min_free_bytes_to_write = options.min_free_disk_bytes;
    ASSIGN_OR_RETURN(engine->store_, storage::OpenRocksDbStore(store_options));
  }
  auto* postgres = dynamic_cast<storage::PostgresStore*>(engine->store_.get());
  storage::Store* definitions_store = engine->store_.get();
  if (postgres != nullptr) {
    engine->definitions_store_ = std::make_unique<cluster::FencedStore>(
        engine->store_.get(), [raw = engine.get()]() -> absl::StatusOr<storage::LeaseFence> {
          RETURN_IF_ERROR(raw->RefuseIfDefinitionsElsewhere());
          return storage::LeaseFence{0, raw->serving_[0].load()};
        });
    definitions_store = engine->definitions_store_.get();
  }
  engine->definitions_ =
      std::make_unique<DefinitionStore>(definitions_store, engine->clock_, options.max_definition_bytes);
  ASSIGN_OR_RETURN(TaskTokens tokens, TaskTokens::LoadOrCreate(*engine->store_));
  RETURN_IF_ERROR(DeleteRetiredTaskRows(*engine->store_));  // after LoadOrCreate read them for legacy tokens
  engine->task_tokens_ = std::make_unique<TaskTokens>(std::move(tokens));
  engine->page_token_key_ = engine->task_tokens_->DeriveKey(kPageTokenKeyPurpose);
  int threads = options.partitions > 0 ? options.partitions : common::DefaultWriterThreads();
  threads = std::clamp(threads, 1, kMaxLogicalPartitions);
  const int for_new_store =
      options.logical_partitions > 0 ? std::min(options.logical_partitions, kMaxLogicalPartitions) : threads;
  ASSIGN_OR_RETURN(engine->logical_partitions_,
                   LoadOrRecordLogicalPartitions(*engine->store_, for_new_store, threads));
  engine->serving_ = std::make_unique<std::atomic<std::uint64_t>[]>(static_cast<std::size_t>(engine->logical_partitions_));
  // More threads than logical partitions would idle. In cluster mode each logical partition has a thread of its
  // own, so that a commit is made under one partition's lease.
  const int count = postgres != nullptr ? engine->logical_partitions_ : std::min(threads, engine->logical_partitions_);
  PartitionOptions partition_options;
  partition_options.limits = options.limits;
  partition_options.max_timer_wait_ms = options.max_timer_wait_ms;
  partition_options.timer_slack_ms = std::max<common::EpochMillis>(options.timer_slack_ms, 0);
  partition_options.task_tokens = engine->task_tokens_.get();
  partition_options.snapshots.every_inputs = options.snapshot_every_inputs;
  partition_options.snapshots.key = engine->task_tokens_->DeriveKey(kSnapshotKeyPurpose);
  RETURN_IF_ERROR(RebuildExecutionCountsIfAbsent(*engine->store_));
  for (int i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<ExecutionCountsWriter> counts,
                     ExecutionCountsWriter::Load(*engine->store_, i));
    partition_options.execution_counts = counts.get();
    if (postgres != nullptr) {
      partition_options.lease_lost = [raw = engine.get()](int p, std::uint64_t epoch) {
        std::uint64_t expected = epoch;
        raw->serving_[p].compare_exchange_strong(expected, 0);
        raw->leases_->LeaseLost(storage::PartitionLease{static_cast<std::uint32_t>(p), "", epoch});
      };
    }
    engine->execution_counts_.push_back(std::move(counts));
    engine->partitions_.push_back(std::make_unique<Partition>(i, engine->store_.get(), engine->clock_,
                                                              engine->definitions_.get(), &engine->matcher_,
                                                              partition_options));
  }
  if (postgres != nullptr) {
    if (absl::Status started = engine->StartCluster(postgres); !started.ok()) {
      engine->Shutdown();
      return started;
    }
    return std::unique_ptr<Engine>(std::move(engine));
  }
  absl::Status recovered = engine->StartRecovery();
  if (recovered.ok() && !options.serve_during_recovery) {
    recovered = engine->recovery_->finished.get();
  }
  if (!recovered.ok()) {
    engine->Shutdown();
    return recovered;
  }
  spdlog::info("engine open: {} partitions on {} threads, {}, sync_writes={}", engine->logical_partitions_, count,
               options.postgres_conninfo.empty() ? "data directory '" + options.data_dir + "'" : "PostgreSQL store",
               options.sync_writes);
  return std::unique_ptr<Engine>(std::move(engine));
}

absl::Status DurableEngine::StartRecovery() {
  auto recovery = std::make_shared<Recovery>();
  const std::size_t count = partitions_.size();
  recovery->running.resize(count);
  recovery->armed.resize(count);
  recovery->unrecoverable.resize(count);
  recovery->errors.resize(count);
  recovery->loaded_before.resize(count);
  const std::string prefix = IndexPrefix("", sm::ExecutionStatusName(sm::ExecutionStatus::kRunning));
  RETURN_IF_ERROR(
      store_->Scan(storage::Column::kIndexes, prefix, "", false, [&](std::string_view key, std::string_view) {
        std::string id(IndexKeyExecutionId(prefix, key));
        if (!id.empty()) {
          recovery->starts[id] = IndexKeyStart(prefix, key);
          recovery->pending.insert(id);
          recovery->running[ThreadOf(id)].push_back(std::move(id));
          ++recovery->total;
        }
        return true;
      }));
  recovery->pending_count = recovery->pending.size();
  // Read before the partitions run: from then on, overdue timers fire and their rows go.
  ASSIGN_OR_RETURN(recovery->rows, ReadTimerRows(*store_));
  recovery->partitions_left = count;
  recovery_ = recovery;
  for (auto& p : partitions_) {
    p->Run();
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (!partitions_[i]->Post([this, recovery, i] { RecoverChunk(recovery, i, 0); })) {
      return errors::ShuttingDown();
    }
  }
  return absl::OkStatus();
}

void DurableEngine::RecoverChunk(const std::shared_ptr<Recovery>& recovery, std::size_t p, std::size_t begin) {
  // Executions replayed per posted work item: small enough that a call posted during recovery waits for
  // about a millisecond's replay, large enough that the chunks' overhead stays negligible.
  constexpr std::size_t kRecoveryChunk = 64;
  const std::vector<std::string>& ids = recovery->running[p];
  const std::size_t end = std::min(ids.size(), begin + kRecoveryChunk);
  RecoverPending(*recovery, p,
                 std::vector<std::string>(ids.begin() + static_cast<std::ptrdiff_t>(begin),
                                          ids.begin() + static_cast<std::ptrdiff_t>(end)));
  if (end < ids.size()) {
    if (partitions_[p]->Post([this, recovery, p, end] { RecoverChunk(recovery, p, end); })) {
      return;
    }
    recovery->errors[p] = errors::ShuttingDown();
    recovery->cut_short = true;
  }
  if (--recovery->partitions_left == 0) {
    FinishRecovery(*recovery);
  }
}

void DurableEngine::RecoverPending(Recovery& recovery, std::size_t p, const std::vector<std::string>& ids) {
  std::vector<std::string> due;  // those a call has not had replayed already
  {
    std::lock_guard<std::mutex> lock(recovery.pending_mu);
    for (const std::string& id : ids) {
      if (recovery.pending.count(id) != 0) {
        due.push_back(id);
      }
    }
  }
  if (due.empty()) {
    return;
  }
  Recovery::Unrecoverable& unrecoverable = recovery.unrecoverable[p];
  const std::size_t known = unrecoverable.size();
  absl::Status s = partitions_[p]->Recover(due, &recovery.armed[p], &unrecoverable, &recovery.loaded_before[p]);
  if (!s.ok() && recovery.errors[p].ok()) {
    recovery.errors[p] = s;
  }
  if (unrecoverable.size() > known) {
    const Recovery::Unrecoverable found(unrecoverable.begin() + static_cast<std::ptrdiff_t>(known),
                                        unrecoverable.end());
    Quarantine(found, recovery.starts);
  }
  std::lock_guard<std::mutex> lock(recovery.pending_mu);
  for (const std::string& id : due) {
    recovery.pending.erase(id);
  }
  recovery.pending_count = recovery.pending.size();
}

absl::Status DurableEngine::AwaitRecovered(const std::vector<std::string>& ids) {
  const std::shared_ptr<Recovery>& recovery = recovery_;
  if (recovery == nullptr || recovery->pending_count.load() == 0) {
    return absl::OkStatus();
  }
  std::map<std::size_t, std::vector<std::string>> by_partition;
  {
    std::lock_guard<std::mutex> lock(recovery->pending_mu);
    for (const std::string& id : ids) {
      if (recovery->pending.count(id) != 0) {
        by_partition[ThreadOf(id)].push_back(id);
      }
    }
  }
  std::vector<std::future<void>> replays;
  for (auto& [partition, due] : by_partition) {
    const auto p = partition;  // a structured binding cannot be captured by name before clang 16
    auto replayed = std::make_shared<std::promise<void>>();
    replays.push_back(replayed->get_future());
    // Runs after whatever the partition has queued (at most one chunk of recovery), in a commit group of
    // its own: RecoverPending skips what that chunk replayed meanwhile.
    if (!partitions_[p]->Post([this, recovery, p, due = std::move(due), replayed] {
          RecoverPending(*recovery, p, due);
          replayed->set_value();
        })) {
      return errors::ShuttingDown();
    }
  }
  for (std::future<void>& r : replays) {
    r.wait();
  }
  return absl::OkStatus();
}

absl::Status DurableEngine::AwaitRecoveryEnd() {
  const std::shared_ptr<Recovery>& recovery = recovery_;
  if (recovery == nullptr || recovery->pending_count.load() == 0) {
    return absl::OkStatus();
  }
  recovery->finished.wait();
  return recovery->pending_count.load() == 0 ? absl::OkStatus() : errors::ShuttingDown();
}

void DurableEngine::FinishRecovery(Recovery& recovery) {
  if (recovery.cut_short) {
    // Nothing to compare: the executions left were never replayed, and the next start will.
    spdlog::info("recovery stopped by the shutdown before every execution was replayed");
    recovery.done.set_value(errors::ShuttingDown());
    return;
  }
  absl::Status first_error;
  for (const absl::Status& s : recovery.errors) {
    if (first_error.ok()) {
      first_error = s;
    }
  }
  std::set<std::string> quarantined;  // by recovery, even if an operator has stopped some since
  for (const Recovery::Unrecoverable& u : recovery.unrecoverable) {
    for (const auto& [id, why] : u) {
      quarantined.insert(id);
    }
  }
  TimerSet replayed;
  for (TimerSet& t : recovery.armed) {
    replayed.merge(t);
  }
  // Rows of executions a call loaded (and may have changed) before their chunk say nothing about replay.
  std::erase_if(recovery.rows, [&](const auto& row) {
    const std::string& id = std::get<1>(row);
    if (quarantined.count(id) != 0) {
      return true;
    }
    for (const std::set<std::string>& loaded : recovery.loaded_before) {
      if (loaded.count(id) != 0) {
        return true;
      }
    }
    return false;
  });
  if (replayed != recovery.rows) {
    // Never a reason to refuse the store: a stray row is never fired (the heap comes from replay).
    spdlog::error("recovery: the replayed executions have {} pending timers but the timers column holds {} rows "
                  "that differ from them",
                  replayed.size(), recovery.rows.size());
  }
  if (!first_error.ok()) {
    spdlog::error("recovery: a storage error left executions to be replayed later: {}",
                  std::string(first_error.message()));
  }
  spdlog::info("recovered {} running executions, {} pending timers, {} quarantined",
               recovery.total - quarantined.size(), replayed.size(), quarantined.size());
  recovery.done.set_value(first_error);
}

void DurableEngine::Quarantine(const std::vector<std::pair<std::string, absl::Status>>& unrecoverable,
                               const std::map<std::string, common::EpochMillis>& starts) {
  std::lock_guard<std::mutex> lock(quarantine_mu_);
  for (const auto& [id, why] : unrecoverable) {
    auto start = starts.find(id);
    std::string reason(errors::WithErrorName(why).message());
    spdlog::error("QUARANTINED execution={}: it cannot be recovered and will not run until an operator stops it: {}",
                  id, reason);
    quarantined_[id] = ReadQuarantined(*store_, id, start == starts.end() ? 0 : start->second, std::move(reason));
  }
  quarantined_count_ = quarantined_.size();
}

std::optional<QuarantinedExecution> DurableEngine::Quarantined(const std::string& id) const {
  if (quarantined_count_.load() == 0) {
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(quarantine_mu_);
  auto it = quarantined_.find(id);
  if (it == quarantined_.end()) {
    return std::nullopt;
  }
  return it->second;
}

absl::Status DurableEngine::RefuseIfQuarantined(const std::string& id) {
  RETURN_IF_ERROR(AwaitRecovered(id));
  std::optional<QuarantinedExecution> q = Quarantined(id);
  return q ? errors::ExecutionQuarantined(id, q->reason) : absl::OkStatus();
}

DurableEngine::~DurableEngine() { Shutdown(); }

void DurableEngine::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    if (shut_down_) {
      return;
    }
    shut_down_ = true;
    accepting_ = false;
  }
  if (leases_ != nullptr) {
    leases_->StopRounds();  // no partition is taken or dropped from here on
  }
  for (auto& p : partitions_) {
    p->watchers().Close();
  }
  matcher_.Close();  // parked polls return empty
  for (auto& p : partitions_) {
    p->Stop();  // drains the inbox: every posted call is answered
  }
  if (leases_ != nullptr) {
    leases_->ReleaseAll();  // after the partitions' last commits: the next owners start from them
  }
  std::unique_lock<std::mutex> lock(calls_mu_);
  calls_cv_.wait(lock, [&] { return calls_ == 0; });
  spdlog::info("engine shut down");
}

DurableEngine::CallGuard::CallGuard(DurableEngine* engine) : engine_(engine) {
  std::lock_guard<std::mutex> lock(engine_->calls_mu_);
  admitted_ = engine_->accepting_;
  if (admitted_) {
    ++engine_->calls_;
  }
}

DurableEngine::CallGuard::~CallGuard() {
  if (!admitted_) {
    return;
  }
  std::lock_guard<std::mutex> lock(engine_->calls_mu_);
  if (--engine_->calls_ == 0) {
    engine_->calls_cv_.notify_all();
  }
}

std::size_t DurableEngine::ThreadOf(std::string_view execution_id) const {
  return static_cast<std::size_t>(LogicalPartitionOf(execution_id, logical_partitions_)) % partitions_.size();
}

Partition& DurableEngine::PartitionFor(const std::string& execution_id) {
  return *partitions_[ThreadOf(execution_id)];
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::CallPartition(const std::string& id,
                                                                 absl::AnyInvocable<void(Partition&, Done)> op) {
  RETURN_IF_ERROR(RefuseIfServedElsewhere(id));
  auto promise = std::make_shared<std::promise<absl::StatusOr<ExecutionInfoRecord>>>();
  std::future<absl::StatusOr<ExecutionInfoRecord>> answer = promise->get_future();
  Partition& partition = PartitionFor(id);
  if (!partition.Post([&partition, op = std::move(op), promise]() mutable {
        op(partition, [promise](absl::StatusOr<ExecutionInfoRecord> result) { promise->set_value(std::move(result)); });
      })) {
    return errors::ShuttingDown();
  }
  return answer.get();
}

absl::StatusOr<StateMachineInfo> DurableEngine::CreateStateMachine(const std::string& name,
                                                                   const std::string& definition, bool express) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->Create(name, definition, express);
}

absl::StatusOr<StateMachineInfo> DurableEngine::UpdateStateMachine(const std::string& state_machine,
                                                                   const std::string& definition) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->Update(state_machine, definition);
}

absl::StatusOr<StateMachineInfo> DurableEngine::DescribeStateMachine(const std::string& state_machine) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->Describe(state_machine);
}

absl::StatusOr<Page<StateMachineInfo>> DurableEngine::ListStateMachines(int page_size, const std::string& page_token) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->List(page_size, page_token);
}

absl::Status DurableEngine::DeleteStateMachine(const std::string& state_machine) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->Delete(state_machine);
}

std::string DurableEngine::StartArn(const std::string& state_machine, bool express, const std::string& name,
                                    std::string& picked) const {
  // Draws enough for a node serving one partition in 64 to find one of its own almost surely (1 - (63/64)^512).
  constexpr int kMaxDraws = 512;
  std::string arn;
  for (int draw = 0; draw < kMaxDraws; ++draw) {
    picked = name.empty() ? NewUuid() : name;
    arn = express ? ExpressExecutionArn(state_machine, picked, NewUuid()) : ExecutionArn(state_machine, picked);
    if (!name.empty() || leases_ == nullptr || leases_->owned() == 0 ||
        serving_[static_cast<std::size_t>(LogicalPartitionOf(arn, logical_partitions_))].load() != 0) {
      break;
    }
  }
  return arn;
}

absl::StatusOr<StartRequest> DurableEngine::MakeStartRequest(const std::string& state_machine,
                                                             const std::string& name, const std::string& input) {
  if (!name.empty()) {
    RETURN_IF_ERROR(ValidateName(name, "execution"));
  }
  const std::string input_text = input.empty() ? "{}" : input;
  if (input_text.size() > options_.limits.max_payload_bytes) {
    return errors::InvalidExecutionInput(absl::StrCat("the input is ", input_text.size(), " bytes; at most ",
                                                      options_.limits.max_payload_bytes, " are allowed"));
  }
  absl::StatusOr<boost::json::value> parsed = ParseExecutionInput(input_text);
  if (!parsed.ok()) {
    return errors::InvalidExecutionInput(absl::StrCat("the input is not valid JSON: ", parsed.status().message()));
  }
  ASSIGN_OR_RETURN(StartTarget target, definitions_->ResolveStart(state_machine, RouteUnit()));
  const StateMachineInfo& latest = target.info;
  StartRequest request;
  request.machine = std::move(target.machine);
  sm::ExecutionInfo& info = request.info;
  info.state_machine_name = latest.name;
  info.state_machine_arn = latest.arn;
  info.express = latest.express;
  info.version_arn = target.version_arn;
  info.alias_arn = target.alias_arn;
  info.execution_arn = StartArn(info.state_machine_name, info.express, name, info.name);
  info.role_arn = std::string(kRoleArn);
  info.start_time = clock_->NowMillis();
  request.meta.state_machine_version = latest.version;
  request.meta.input_text = input_text;
  request.input = *std::move(parsed);
  // A start naming an execution that exists returns it (same input) or is refused: recovery must have reached
  // it first, so that one it quarantines is refused as such rather than answered from its stored rows.
  RETURN_IF_ERROR(RefuseIfQuarantined(info.execution_arn));
  return request;
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::SubmitStart(StartRequest request) {
  const std::string id = request.info.execution_arn;
  return CallPartition(id, [request = std::move(request)](Partition& p, Done done) mutable {
    p.StartExecution(std::move(request), std::move(done));
  });
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::StartExecution(const std::string& state_machine,
                                                                  const std::string& name, const std::string& input) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  ASSIGN_OR_RETURN(StartRequest request, MakeStartRequest(state_machine, name, input));
  return SubmitStart(std::move(request));
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::StopExecution(const std::string& execution_arn,
                                                                 const std::string& error, const std::string& cause) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  RETURN_IF_ERROR(ValidateExecutionArn(execution_arn));
  RETURN_IF_ERROR(AwaitRecovered(execution_arn));
  if (std::optional<QuarantinedExecution> q = Quarantined(execution_arn)) {
    absl::StatusOr<ExecutionInfoRecord> ended =
        CallPartition(execution_arn, [q = *std::move(q), error, cause](Partition& p, Done done) mutable {
          p.TerminateQuarantined(q, error, cause, std::move(done));
        });
    if (ended.ok()) {
      std::lock_guard<std::mutex> lock(quarantine_mu_);
      quarantined_.erase(execution_arn);
      quarantined_count_ = quarantined_.size();
      spdlog::warn("quarantined execution={} stopped by an operator: ABORTED", execution_arn);
    }
    return ended;
  }
  return CallPartition(execution_arn, [execution_arn, error, cause](Partition& p, Done done) mutable {
    p.StopExecution(execution_arn, error, cause, std::move(done));
  });
}

EngineMetrics DurableEngine::Metrics() {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  EngineMetrics m;
  for (const auto& p : partitions_) {
    const DriverCounters& c = p->counters();
    m.commits += c.commits.load(kRelaxed);
    m.history_events += c.history_events.load(kRelaxed);
    m.executions_started += c.executions_started.load(kRelaxed);
    m.tasks_scheduled += c.tasks_scheduled.load(kRelaxed);
    m.dead_letters_recorded += c.dead_letters.load(kRelaxed);
    for (sm::ExecutionStatus status : {sm::ExecutionStatus::kSucceeded, sm::ExecutionStatus::kFailed,
                                       sm::ExecutionStatus::kTimedOut, sm::ExecutionStatus::kAborted}) {
      m.executions_ended[sm::ExecutionStatusName(status)] += c.executions_ended[static_cast<int>(status)].load(kRelaxed);
    }
  }
  m.queue_depths = matcher_.Depths();
  m.polls_waiting = matcher_.PollsWaiting();
  m.tasks_started_at_schedule = matcher_.delivered();
  m.executions_quarantined = quarantined_count_.load();
  if (leases_ != nullptr) {
    m.clustered = true;
    m.cluster_partitions_owned = leases_->owned();
    m.cluster_nodes_seen = leases_->nodes_seen();
  }
  return m;
}

}  // namespace stepflow::engine
