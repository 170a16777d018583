#include "engine/durable_engine.h"

#include <future>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/errors.h"
#include "engine/input_log.h"
#include "engine/names.h"
#include "engine/random_values.h"
#include "engine/records.h"
#include "spdlog/spdlog.h"

namespace stepflow::engine {
namespace {

// What the page-token key is derived for (TaskTokens::DeriveKey). Changing it invalidates every page token
// handed out before.
constexpr std::string_view kPageTokenKeyPurpose = "page tokens";

using TimerSet = std::set<std::tuple<common::EpochMillis, std::string, std::uint64_t>>;

// FNV-1a: a stable hash, so that an execution's partition does not depend on the standard library.
std::uint64_t Fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (char c : s) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

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
  storage::StoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.sync_writes = options.sync_writes;
  ASSIGN_OR_RETURN(engine->store_, storage::OpenRocksDbStore(store_options));
  engine->definitions_ =
      std::make_unique<DefinitionStore>(engine->store_.get(), engine->clock_, options.max_definition_bytes);
  ASSIGN_OR_RETURN(TaskTokens tokens, TaskTokens::LoadOrCreate(*engine->store_));
  engine->task_tokens_ = std::make_unique<TaskTokens>(std::move(tokens));
  engine->page_token_key_ = engine->task_tokens_->DeriveKey(kPageTokenKeyPurpose);
  int count = options.partitions > 0 ? options.partitions : static_cast<int>(std::thread::hardware_concurrency());
  count = count > 0 ? count : 1;
  PartitionOptions partition_options;
  partition_options.limits = options.limits;
  partition_options.max_timer_wait_ms = options.max_timer_wait_ms;
  partition_options.task_tokens = engine->task_tokens_.get();
  for (int i = 0; i < count; ++i) {
    engine->partitions_.push_back(std::make_unique<Partition>(i, engine->store_.get(), engine->clock_,
                                                              engine->definitions_.get(), &engine->matcher_,
                                                              partition_options));
  }
  absl::Status recovered = engine->Recover();
  if (!recovered.ok()) {
    engine->Shutdown();
    return recovered;
  }
  spdlog::info("engine open: {} partitions, data directory '{}', sync_writes={}", count, options.data_dir,
               options.sync_writes);
  return std::unique_ptr<Engine>(std::move(engine));
}

absl::Status DurableEngine::Recover() {
  std::vector<std::vector<std::string>> running(partitions_.size());
  std::map<std::string, common::EpochMillis> starts;
  const std::string prefix = IndexPrefix("", sm::ExecutionStatusName(sm::ExecutionStatus::kRunning));
  std::size_t total = 0;
  RETURN_IF_ERROR(
      store_->Scan(storage::Column::kIndexes, prefix, "", false, [&](std::string_view key, std::string_view) {
        std::string id(IndexKeyExecutionId(prefix, key));
        if (!id.empty()) {
          starts[id] = IndexKeyStart(prefix, key);
          running[Fnv1a(id) % partitions_.size()].push_back(std::move(id));
          ++total;
        }
        return true;
      }));
  // Read before the partitions run: from then on, overdue timers fire and their rows go.
  ASSIGN_OR_RETURN(TimerSet rows, ReadTimerRows(*store_));
  for (auto& p : partitions_) {
    p->Run();
  }
  std::vector<std::future<absl::Status>> results;
  std::vector<TimerSet> armed(partitions_.size());
  using Unrecoverable = std::vector<std::pair<std::string, absl::Status>>;
  std::vector<Unrecoverable> unrecoverable(partitions_.size());
  for (std::size_t i = 0; i < partitions_.size(); ++i) {
    auto promise = std::make_shared<std::promise<absl::Status>>();
    results.push_back(promise->get_future());
    Partition* p = partitions_[i].get();
    if (!p->Post([p, ids = std::move(running[i]), timers = &armed[i], bad = &unrecoverable[i], promise] {
          promise->set_value(p->Recover(ids, timers, bad));
        })) {
      return errors::ShuttingDown();
    }
  }
  absl::Status first_error;
  for (auto& r : results) {
    absl::Status s = r.get();
    if (first_error.ok()) {
      first_error = s;
    }
  }
  RETURN_IF_ERROR(first_error);
  Unrecoverable all_unrecoverable;
  for (Unrecoverable& u : unrecoverable) {
    all_unrecoverable.insert(all_unrecoverable.end(), u.begin(), u.end());
  }
  Quarantine(all_unrecoverable, starts);
  TimerSet replayed;
  for (TimerSet& t : armed) {
    replayed.merge(t);
  }
  std::erase_if(rows, [&](const auto& row) { return quarantined_.count(std::get<1>(row)) != 0; });
  if (replayed != rows) {
    // Never a reason to refuse the store: a stray row is never fired (the heap comes from replay).
    spdlog::error("recovery: the replayed executions have {} pending timers but the timers column holds {} rows "
                  "that differ from them",
                  replayed.size(), rows.size());
  }
  spdlog::info("recovered {} running executions, {} pending timers, {} quarantined", total - quarantined_.size(),
               replayed.size(), quarantined_.size());
  return absl::OkStatus();
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

absl::Status DurableEngine::RefuseIfQuarantined(const std::string& id) const {
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
  for (auto& p : partitions_) {
    p->watchers().Close();
  }
  matcher_.Close();  // parked polls return empty
  for (auto& p : partitions_) {
    p->Stop();  // drains the inbox: every posted call is answered
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

Partition& DurableEngine::PartitionFor(const std::string& execution_id) {
  return *partitions_[Fnv1a(execution_id) % partitions_.size()];
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::CallPartition(const std::string& id,
                                                                 absl::AnyInvocable<void(Partition&, Done)> op) {
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

absl::StatusOr<ExecutionInfoRecord> DurableEngine::StartExecution(const std::string& state_machine,
                                                                  const std::string& name, const std::string& input) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  const std::string execution_name = name.empty() ? NewUuid() : name;
  RETURN_IF_ERROR(ValidateName(execution_name, "execution"));
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
  info.name = execution_name;
  info.state_machine_name = latest.name;
  info.state_machine_arn = latest.arn;
  info.express = latest.express;
  info.version_arn = target.version_arn;
  info.alias_arn = target.alias_arn;
  info.execution_arn = info.express ? ExpressExecutionArn(info.state_machine_name, execution_name, NewUuid())
                                    : ExecutionArn(info.state_machine_name, execution_name);
  info.role_arn = std::string(kRoleArn);
  info.start_time = clock_->NowMillis();
  request.meta.state_machine_version = latest.version;
  request.meta.input_text = input_text;
  request.input = *std::move(parsed);
  const std::string id = info.execution_arn;
  return CallPartition(id, [request = std::move(request)](Partition& p, Done done) mutable {
    p.StartExecution(std::move(request), std::move(done));
  });
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::StopExecution(const std::string& execution_arn,
                                                                 const std::string& error, const std::string& cause) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  RETURN_IF_ERROR(ValidateExecutionArn(execution_arn));
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
  m.executions_quarantined = quarantined_count_.load();
  return m;
}

}  // namespace stepflow::engine
