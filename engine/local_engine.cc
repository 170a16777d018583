#include "engine/local_engine.h"

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "storage/memory_store.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

constexpr char kArnPrefix[] = "arn:aws:states:us-east-1:123456789012:";
constexpr char kRoleArn[] = "arn:aws:iam::123456789012:role/stepflow-local";

// Without a mock config, a Task state cannot run locally: say which one and how to mock it.
class NoMockDispatcher final : public TaskDispatcher {
 public:
  absl::Status Dispatch(const TaskDispatch& task) override {
    return absl::FailedPreconditionError(absl::StrCat("Task state '", task.state_name, "' (Resource ", task.resource,
                                                      ") has no mocked result: pass --mock-config and --test-case"));
  }
  void Cancel(const std::string&, std::uint64_t) override {}
};

}  // namespace

LocalEngine::LocalEngine(LocalEngineOptions options) : options_(std::move(options)) {}
LocalEngine::~LocalEngine() = default;

absl::StatusOr<std::unique_ptr<LocalEngine>> LocalEngine::Create(LocalEngineOptions options) {
  std::unique_ptr<LocalEngine> engine(new LocalEngine(std::move(options)));
  engine->state_machine_arn_ = absl::StrCat(kArnPrefix, "stateMachine:", engine->options_.state_machine_name);
  // Nothing of a local run outlives the process: a map in memory, not RocksDB (no log, memtable or files).
  engine->store_ = storage::NewMemoryStore();
  if (engine->options_.time_skip) {
    auto clock = std::make_unique<common::VirtualClock>(common::SystemClock().NowMillis());
    engine->virtual_clock_ = clock.get();
    engine->clock_ = std::move(clock);
  } else {
    engine->clock_ = std::make_unique<common::SystemClock>();
  }
  engine->runtime_ = engine->options_.seed ? std::make_unique<RandomRuntimeValues>(*engine->options_.seed)
                                           : std::make_unique<RandomRuntimeValues>();
  if (engine->options_.mocks) {
    LocalEngine* self = engine.get();
    auto mock_dispatcher = std::make_unique<MockDispatcher>(
        *engine->options_.mocks, [self](const TaskDispatch& task, const MockedResponse& response) {
          DriverInput started;
          started.kind = DriverInput::Kind::kTaskStarted;
          started.execution_id = task.execution_id;
          started.task_id = task.task_id;
          self->driver_->Post(started);
          DriverInput done;
          done.execution_id = task.execution_id;
          done.task_id = task.task_id;
          if (response.is_throw) {
            done.kind = DriverInput::Kind::kTaskFailed;
            done.error = response.error;
            done.cause = response.cause;
          } else {
            done.kind = DriverInput::Kind::kTaskSucceeded;
            done.output = response.value;
          }
          self->driver_->Post(std::move(done));
        });
    engine->mock_dispatcher_ = mock_dispatcher.get();
    engine->dispatcher_ = std::move(mock_dispatcher);
  } else {
    engine->dispatcher_ = std::make_unique<NoMockDispatcher>();
  }
  DriverOptions driver_options;
  driver_options.limits = engine->options_.limits;
  driver_options.defer_history_encoding = true;  // the in-memory store encodes history rows when they are read
  engine->driver_ = std::make_unique<Driver>(engine->store_.get(), engine->clock_.get(), engine->dispatcher_.get(),
                                             engine->runtime_.get(), driver_options);
  return engine;
}

absl::StatusOr<std::string> LocalEngine::Run(std::shared_ptr<const sm::StateMachine> machine, const json::value& input,
                                             std::string execution_name) {
  return Run(std::move(machine), std::make_shared<const json::value>(input), std::move(execution_name));
}

absl::StatusOr<std::string> LocalEngine::Run(std::shared_ptr<const sm::StateMachine> machine,
                                             std::shared_ptr<const json::value> input, std::string execution_name) {
  if (execution_name.empty()) {
    execution_name = runtime_->NewUuid();
  }
  sm::ExecutionInfo info;
  info.state_machine_name = options_.state_machine_name;
  info.state_machine_arn = state_machine_arn_;
  info.execution_arn = options_.express ? absl::StrCat(kArnPrefix, "express:", options_.state_machine_name, ":",
                                                       execution_name, ":", runtime_->NewUuid())
                                        : absl::StrCat(kArnPrefix, "execution:", options_.state_machine_name, ":",
                                                       execution_name);
  info.name = std::move(execution_name);
  info.role_arn = kRoleArn;
  info.express = options_.express;
  info.start_time = clock_->NowMillis();
  const std::string id = info.execution_arn;
  RETURN_IF_ERROR(driver_->Start(std::move(machine), std::move(info), std::move(input)));
  while (true) {
    RETURN_IF_ERROR(driver_->ProcessInbox());
    if (driver_->has_yielded()) {
      RETURN_IF_ERROR(driver_->ContinueYielded());  // a long run of transitions, one batch at a time
      continue;
    }
    const sm::Execution* e = driver_->Find(id);
    if (e == nullptr || e->status() != sm::ExecutionStatus::kRunning) {
      return id;
    }
    std::optional<common::EpochMillis> due = driver_->NextTimerDue();
    if (!due) {
      return absl::InternalError(absl::StrCat("execution ", id, " is waiting on nothing (no timer, no task)"));
    }
    if (virtual_clock_ != nullptr) {
      virtual_clock_->AdvanceTo(*due);
    } else {
      common::EpochMillis now = clock_->NowMillis();
      if (*due > now) {
        std::this_thread::sleep_for(std::chrono::milliseconds(*due - now));
      }
    }
    RETURN_IF_ERROR(driver_->FireDueTimers());
  }
}

namespace {

// How `e` ended, with its output shared, not copied.
LocalRunResult Outcome(const std::string& execution_arn, const sm::Execution& e) {
  LocalRunResult result;
  result.execution_arn = execution_arn;
  result.status = e.status();
  result.output = e.shared_output();  // JSON null unless SUCCEEDED
  result.error = e.error();
  result.cause = e.cause();
  return result;
}

}  // namespace

absl::StatusOr<LocalRunResult> LocalEngine::Result(const std::string& execution_arn, bool with_history) const {
  const sm::Execution* e = driver_->Find(execution_arn);
  if (e == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("execution ", execution_arn, " was not run by this engine or was forgotten"));
  }
  LocalRunResult result = Outcome(execution_arn, *e);
  if (with_history) {
    ASSIGN_OR_RETURN(result.history, driver_->ReadHistory(execution_arn));
  }
  return result;
}

absl::StatusOr<LocalRunResult> LocalEngine::Forget(const std::string& execution_arn) {
  ASSIGN_OR_RETURN(std::unique_ptr<sm::Execution> e, driver_->Forget(execution_arn));
  if (mock_dispatcher_ != nullptr) {
    mock_dispatcher_->Forget(execution_arn);
  }
  return Outcome(execution_arn, *e);
}

}  // namespace stepflow::engine
