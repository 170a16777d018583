#pragma once
// An in-memory engine::Engine for the API and client tests: state machines and executions in maps, no
// interpreter. Executions stay RUNNING until the test moves them with AppendEvent / Finish, so waits,
// streams and deadlines can be tested deterministically. Errors carry the same names as the real engine.
//
// Thread-safety: all methods lock one mutex; waits use a condition variable.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/engine.h"
#include "statemachine/validator.h"

namespace stepflow::api::testing {

inline constexpr char kArnPrefix[] = "arn:aws:states:local:000000000000:";

class FakeEngine final : public engine::Engine {
 public:
  void Shutdown() override {}
  static absl::Status Unused() { return absl::UnimplementedError("not part of the fake"); }

  absl::StatusOr<engine::StateMachineInfo> CreateStateMachine(const std::string& name,
                                                              const std::string& definition,
                                                              bool express) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto problems = Validate(definition, express); !problems.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("InvalidDefinition: ", problems));
    }
    if (auto it = machines_.find(name); it != machines_.end()) {
      if (it->second.definition == definition && it->second.express == express) {
        return it->second;  // idempotent, as AWS's CreateStateMachine
      }
      return absl::AlreadyExistsError(absl::StrCat("StateMachineAlreadyExists: ", name));
    }
    engine::StateMachineInfo info{
        name, absl::StrCat(kArnPrefix, "stateMachine:", name), definition, express, 1, 1000, 1000};
    machines_[name] = info;
    return info;
  }

  absl::StatusOr<engine::StateMachineInfo> UpdateStateMachine(const std::string& state_machine,
                                                              const std::string& definition) override {
    std::lock_guard<std::mutex> lock(mu_);
    engine::StateMachineInfo* info = FindMachine(state_machine);
    if (info == nullptr) {
      return NoMachine(state_machine);
    }
    info->definition = definition;
    ++info->version;
    return *info;
  }

  absl::StatusOr<engine::StateMachineInfo> DescribeStateMachine(const std::string& state_machine) override {
    std::lock_guard<std::mutex> lock(mu_);
    engine::StateMachineInfo* info = FindMachine(state_machine);
    if (info == nullptr) {
      return NoMachine(state_machine);
    }
    return *info;
  }

  absl::StatusOr<engine::Page<engine::StateMachineInfo>> ListStateMachines(
      int page_size, const std::string& page_token) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_page_size_ = page_size;
    engine::Page<engine::StateMachineInfo> page;
    for (auto it = machines_.upper_bound(page_token); it != machines_.end(); ++it) {
      if (static_cast<int>(page.items.size()) == page_size) {
        page.next_page_token = page.items.back().name;
        break;
      }
      page.items.push_back(it->second);
    }
    return page;
  }

  absl::Status DeleteStateMachine(const std::string& state_machine) override {
    std::lock_guard<std::mutex> lock(mu_);
    engine::StateMachineInfo* info = FindMachine(state_machine);
    if (info == nullptr) {
      return NoMachine(state_machine);
    }
    machines_.erase(info->name);
    return absl::OkStatus();
  }

  absl::StatusOr<engine::ExecutionInfoRecord> StartExecution(const std::string& state_machine,
                                                             const std::string& name,
                                                             const std::string& input) override {
    std::lock_guard<std::mutex> lock(mu_);
    engine::StateMachineInfo* info = FindMachine(state_machine);
    if (info == nullptr) {
      return NoMachine(state_machine);
    }
    std::string exec_name = name.empty() ? absl::StrCat("generated-", ++generated_) : name;
    std::string arn = absl::StrCat(kArnPrefix, "execution:", info->name, ":", exec_name);
    if (auto it = executions_.find(arn); it != executions_.end()) {
      if (it->second.record.input != input) {
        return absl::AlreadyExistsError(absl::StrCat("ExecutionAlreadyExists: ", arn));
      }
      return it->second.record;
    }
    Exec& e = executions_[arn];
    e.record = {arn,
                exec_name,
                info->arn,
                info->name,
                info->version,
                sm::ExecutionStatus::kRunning,
                input,
                "",
                "",
                "",
                2000 + static_cast<common::EpochMillis>(executions_.size()),
                0};
    e.definition = *info;
    e.history.push_back({1, 0, 2000, "ExecutionStarted", "executionStartedEventDetails", "{}"});
    cv_.notify_all();
    return e.record;
  }

  absl::StatusOr<engine::ExecutionInfoRecord> DescribeExecution(const std::string& execution_arn) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = executions_.find(execution_arn);
    if (it == executions_.end()) {
      return NoExecution(execution_arn);
    }
    return it->second.record;
  }

  absl::StatusOr<engine::Page<engine::ExecutionInfoRecord>> ListExecutions(
      const engine::ExecutionFilter& filter, int page_size, const std::string& page_token) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_filter_ = filter;
    last_page_size_ = page_size;
    engine::Page<engine::ExecutionInfoRecord> page;
    for (auto it = executions_.upper_bound(page_token); it != executions_.end(); ++it) {
      const engine::ExecutionInfoRecord& r = it->second.record;
      if (!filter.state_machine.empty() && filter.state_machine != r.state_machine_name &&
          filter.state_machine != r.state_machine_arn) {
        continue;
      }
      if (filter.status.has_value() && *filter.status != r.status) {
        continue;
      }
      if (!r.name.starts_with(filter.name_prefix)) {
        continue;
      }
      if (static_cast<int>(page.items.size()) == page_size) {
        page.next_page_token = page.items.back().arn;
        break;
      }
      page.items.push_back(r);
    }
    return page;
  }

  absl::StatusOr<engine::ExecutionCounts> CountExecutions(const std::string& state_machine) override {
    std::lock_guard<std::mutex> lock(mu_);
    engine::ExecutionCounts counts;
    for (const auto& [arn, e] : executions_) {
      if (state_machine.empty() || state_machine == e.record.state_machine_name ||
          state_machine == e.record.state_machine_arn) {
        ++counts.by_status[e.record.status];
      }
    }
    return counts;
  }

  absl::StatusOr<engine::ExecutionInfoRecord> StopExecution(const std::string& execution_arn,
                                                            const std::string& error,
                                                            const std::string& cause) override {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = executions_.find(execution_arn);
    if (it == executions_.end()) {
      return NoExecution(execution_arn);
    }
    if (it->second.record.status != sm::ExecutionStatus::kRunning) {
      return absl::FailedPreconditionError(absl::StrCat("ExecutionNotRunning: ", execution_arn));
    }
    FinishLocked(it->second, sm::ExecutionStatus::kAborted, "", error, cause);
    return it->second.record;
  }

  absl::StatusOr<engine::Page<engine::HistoryEventRecord>> GetExecutionHistory(
      const std::string& execution_arn, int page_size, const std::string& page_token,
      bool reverse_order) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_page_size_ = page_size;
    auto it = executions_.find(execution_arn);
    if (it == executions_.end()) {
      return NoExecution(execution_arn);
    }
    std::vector<engine::HistoryEventRecord> events = it->second.history;
    if (reverse_order) {
      std::reverse(events.begin(), events.end());
    }
    std::size_t start = 0;
    if (!page_token.empty() && !absl::SimpleAtoi(page_token, &start)) {
      return absl::InvalidArgumentError("InvalidToken: bad page token");
    }
    engine::Page<engine::HistoryEventRecord> page;
    for (std::size_t i = start; i < events.size(); ++i) {
      if (static_cast<int>(page.items.size()) == page_size) {
        page.next_page_token = absl::StrCat(i);
        break;
      }
      page.items.push_back(events[i]);
    }
    return page;
  }

  absl::StatusOr<std::vector<engine::HistoryEventRecord>> WaitForHistory(
      const std::string& execution_arn, std::int64_t after_event_id, common::EpochMillis deadline) override {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = executions_.find(execution_arn);
    if (it == executions_.end()) {
      return NoExecution(execution_arn);
    }
    Exec& e = it->second;
    cv_.wait_until(lock, ToTimePoint(deadline), [&] {
      return e.history.back().id > after_event_id || e.record.status != sm::ExecutionStatus::kRunning;
    });
    std::vector<engine::HistoryEventRecord> out;
    for (const engine::HistoryEventRecord& event : e.history) {
      if (event.id > after_event_id) {
        out.push_back(event);
      }
    }
    return out;
  }

  // Counted (start_and_wait_calls), then the Engine's own.
  absl::StatusOr<engine::ExecutionInfoRecord> StartExecutionAndWait(const std::string& state_machine,
                                                                    const std::string& name, const std::string& input,
                                                                    common::EpochMillis deadline) override {
    ++start_and_wait_calls;
    return Engine::StartExecutionAndWait(state_machine, name, input, deadline);
  }
  std::atomic<int> start_and_wait_calls{0};

  absl::StatusOr<engine::ExecutionInfoRecord> WaitForCompletion(const std::string& execution_arn,
                                                                common::EpochMillis deadline) override {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = executions_.find(execution_arn);
    if (it == executions_.end()) {
      return NoExecution(execution_arn);
    }
    Exec& e = it->second;
    if (!cv_.wait_until(lock, ToTimePoint(deadline),
                        [&] { return e.record.status != sm::ExecutionStatus::kRunning; })) {
      return absl::DeadlineExceededError(absl::StrCat("Timeout: ", execution_arn, " is still running"));
    }
    return e.record;
  }

  absl::StatusOr<engine::StateMachineInfo> DescribeStateMachineForExecution(
      const std::string& execution_arn) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = executions_.find(execution_arn);
    if (it == executions_.end()) {
      return NoExecution(execution_arn);
    }
    return it->second.definition;
  }

  // Tasks, dead letters and redrive are tested against the real engine (tests/unit/engine, tests/integration).
  absl::StatusOr<engine::ExecutionInfoRecord> RedriveExecution(const std::string&) override { return Unused(); }
  absl::StatusOr<std::optional<engine::PolledTask>> PollTask(const std::string&, const std::string&,
                                                             common::EpochMillis, const std::function<bool()>&,
                                                             const std::function<void()>&) override {
    return Unused();
  }
  absl::Status CompleteTask(const std::string&, const std::string&) override { return Unused(); }
  absl::Status FailTask(const std::string&, const std::string&, const std::string&) override { return Unused(); }
  absl::StatusOr<bool> HeartbeatTask(const std::string&) override { return Unused(); }
  absl::StatusOr<engine::Page<engine::DeadLetterRecord>> ListDeadLetters(const engine::DeadLetterFilter&, int,
                                                                         const std::string&) override {
    return Unused();
  }
  absl::StatusOr<engine::DeadLetterRecord> GetDeadLetter(const std::string&) override { return Unused(); }
  absl::StatusOr<std::vector<engine::DeadLetterOutcome>> RedriveDeadLetters(
      const std::string&, const engine::DeadLetterFilter&, const std::optional<std::string>&) override {
    return Unused();
  }
  absl::StatusOr<std::vector<engine::DeadLetterOutcome>> DiscardDeadLetters(const std::string&,
                                                                            const engine::DeadLetterFilter&) override {
    return Unused();
  }

  engine::EngineMetrics Metrics() override {
    engine::EngineMetrics m;
    m.executions_started = 7;
    m.executions_ended["SUCCEEDED"] = 5;
    m.queue_depths["images \"big\""] = 2;
    return m;
  }

  // --- Test controls.
  void AppendEvent(const std::string& arn, const std::string& type) {
    std::lock_guard<std::mutex> lock(mu_);
    Exec& e = executions_.at(arn);
    std::int64_t id = e.history.back().id + 1;
    e.history.push_back({id, id - 1, 3000, type, "", "{}"});
    cv_.notify_all();
  }
  void Finish(const std::string& arn, sm::ExecutionStatus status, const std::string& output) {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(executions_.at(arn), status, output, "", "");
  }

  // What the last list call asked for. Read under the lock: the handler thread wrote it, and the test thread
  // learns that only through gRPC, whose synchronisation ThreadSanitizer cannot see.
  engine::ExecutionFilter LastFilter() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_filter_;
  }
  int LastPageSize() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_page_size_;
  }

 private:
  engine::ExecutionFilter last_filter_;  // guarded by mu_
  int last_page_size_ = -1;              // guarded by mu_
  struct Exec {
    engine::ExecutionInfoRecord record;
    engine::StateMachineInfo definition;
    std::vector<engine::HistoryEventRecord> history;
  };

  static std::string Validate(const std::string& definition, bool express) {
    sm::ValidateOptions options;
    options.express = express;
    std::vector<std::string> lines;
    for (const sm::Diagnostic& d : sm::ValidateDefinitionText(definition, options)) {
      lines.push_back(sm::FormatDiagnostic(d));
    }
    return absl::StrJoin(lines, "; ");
  }
  static std::chrono::system_clock::time_point ToTimePoint(common::EpochMillis t) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(t));
  }
  static absl::Status NoMachine(const std::string& sm) {
    return absl::NotFoundError(absl::StrCat("StateMachineDoesNotExist: ", sm));
  }
  static absl::Status NoExecution(const std::string& arn) {
    return absl::NotFoundError(absl::StrCat("ExecutionDoesNotExist: ", arn));
  }
  engine::StateMachineInfo* FindMachine(const std::string& name_or_arn) {
    for (auto& [name, info] : machines_) {
      if (name == name_or_arn || info.arn == name_or_arn) {
        return &info;
      }
    }
    return nullptr;
  }
  void FinishLocked(Exec& e, sm::ExecutionStatus status, const std::string& output, const std::string& error,
                    const std::string& cause) {
    e.record.status = status;
    e.record.output = output;
    e.record.error = error;
    e.record.cause = cause;
    e.record.stop = 4000;
    std::int64_t id = e.history.back().id + 1;
    const char* type = status == sm::ExecutionStatus::kSucceeded ? "ExecutionSucceeded"
                       : status == sm::ExecutionStatus::kAborted ? "ExecutionAborted"
                                                                 : "ExecutionFailed";
    e.history.push_back({id, id - 1, 4000, type, "", "{}"});
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, engine::StateMachineInfo> machines_;
  std::map<std::string, Exec> executions_;
  int generated_ = 0;
};

}  // namespace stepflow::api::testing
