// DurableEngine's task, dead-letter and redrive calls (engine/engine.h has the contract).
#include <algorithm>
#include <future>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/durable_engine.h"
#include "engine/errors.h"
#include "engine/input_log.h"
#include "engine/names.h"
#include "engine/paging.h"
#include "engine/records.h"
#include "engine/tasks.h"

namespace stepflow::engine {
namespace {

// The driver input of a report, checked as far as it can be without the task: an output that is not JSON
// (or far too large) is InvalidOutput.
absl::StatusOr<DriverInput> ReportInput(const TaskReport& report, std::size_t max_payload_bytes) {
  DriverInput input;
  switch (report.kind) {
    case TaskReport::Kind::kComplete: {
      const std::string text = report.output.empty() ? "{}" : report.output;
      // The interpreter fails the state with States.DataLimitExceeded past max_payload_bytes; this only
      // guards the server.
      if (text.size() > 4 * max_payload_bytes) {
        return errors::InvalidOutput(absl::StrCat("the output is ", text.size(), " bytes"));
      }
      absl::StatusOr<boost::json::value> parsed = ParseExecutionInput(text);
      if (!parsed.ok()) {
        return errors::InvalidOutput(absl::StrCat("the output is not valid JSON: ", parsed.status().message()));
      }
      input.kind = DriverInput::Kind::kTaskSucceeded;
      input.output = *std::move(parsed);
      break;
    }
    case TaskReport::Kind::kFail:
      input.kind = DriverInput::Kind::kTaskFailed;
      input.error = report.error.empty() ? "States.TaskFailed" : report.error;
      input.cause = report.cause;
      break;
    case TaskReport::Kind::kHeartbeat:
      input.kind = DriverInput::Kind::kTaskHeartbeat;
      break;
  }
  return input;
}

// The task a poll hands out, under `token`.
PolledTask ToPolled(QueuedTask task, std::string token) {
  PolledTask polled;
  polled.token = std::move(token);
  polled.queue = std::move(task.queue);
  polled.input = std::move(task.input);
  polled.execution_arn = std::move(task.execution_id);
  polled.state_machine_arn = std::move(task.state_machine_arn);
  polled.state_name = std::move(task.state_name);
  polled.attempt = task.attempt;
  polled.scheduled = task.scheduled;
  if (task.timeout_seconds) {
    polled.deadline = task.scheduled + static_cast<common::EpochMillis>(*task.timeout_seconds * 1000);
  }
  polled.heartbeat_seconds = task.heartbeat_seconds ? static_cast<int>(*task.heartbeat_seconds) : 0;
  polled.slot = task.slot;
  return polled;
}

}  // namespace

template <typename T>
absl::StatusOr<T> DurableEngine::Call(
    const std::string& id, absl::AnyInvocable<void(Partition&, absl::AnyInvocable<void(absl::StatusOr<T>)>)> op) {
  RETURN_IF_ERROR(RefuseIfServedElsewhere(id));
  auto promise = std::make_shared<std::promise<absl::StatusOr<T>>>();
  std::future<absl::StatusOr<T>> answer = promise->get_future();
  Partition& partition = PartitionFor(id);
  if (!partition.Post([&partition, op = std::move(op), promise]() mutable {
        op(partition, [promise](absl::StatusOr<T> result) { promise->set_value(std::move(result)); });
      })) {
    return errors::ShuttingDown();
  }
  return answer.get();
}

template <typename T>
std::vector<absl::StatusOr<T>> DurableEngine::CallEach(const std::vector<std::string>& ids, const EachOp<T>& op) {
  if (ids.empty()) {
    return {};
  }
  struct Gather {
    std::mutex mu;
    std::vector<absl::StatusOr<T>> results;  // guarded by mu
    std::size_t left = 0;                    // guarded by mu
    std::promise<void> all;
  };
  auto gather = std::make_shared<Gather>();
  gather->results.assign(ids.size(), absl::InternalError("InternalFailure: the item was not answered"));
  gather->left = ids.size();
  std::future<void> all = gather->all.get_future();
  auto answer = [gather](std::size_t k, absl::StatusOr<T> result) {
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(gather->mu);
      gather->results[k] = std::move(result);
      last = --gather->left == 0;
    }
    if (last) {
      gather->all.set_value();
    }
  };
  std::map<Partition*, std::vector<std::size_t>> by_partition;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    if (absl::Status refused = RefuseIfServedElsewhere(ids[k]); !refused.ok()) {
      answer(k, refused);
      continue;
    }
    by_partition[&PartitionFor(ids[k])].push_back(k);
  }
  for (auto& [partition, items] : by_partition) {
    Partition* p = partition;
    // An init-capture: a structured binding cannot be captured by name before clang 16.
    if (!p->Post([p, batch = items, op, answer] {
          for (std::size_t k : batch) {
            op(*p, k, [answer, k](absl::StatusOr<T> result) { answer(k, std::move(result)); });
          }
        })) {
      for (std::size_t k : items) {
        answer(k, errors::ShuttingDown());
      }
    }
  }
  all.wait();
  std::lock_guard<std::mutex> lock(gather->mu);
  return std::move(gather->results);
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::RedriveExecution(const std::string& execution_arn) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  RETURN_IF_ERROR(ValidateExecutionArn(execution_arn));
  RETURN_IF_ERROR(RefuseIfQuarantined(execution_arn));
  return CallPartition(execution_arn, [execution_arn](Partition& p, Done done) mutable {
    p.RedriveExecution(execution_arn, std::move(done));
  });
}

absl::StatusOr<std::optional<PolledTask>> DurableEngine::PollTask(const std::string& queue, const std::string& worker,
                                                                  common::EpochMillis deadline,
                                                                  const std::function<bool()>& gone,
                                                                  const std::function<void()>& taken) {
  // A batch of one: the first task always comes, whatever its size.
  ASSIGN_OR_RETURN(std::vector<PolledTask> polled,
                   PollTasks(queue, worker, 1, /*max_input_bytes=*/0, deadline, gone, taken));
  if (polled.empty()) {
    return std::optional<PolledTask>();
  }
  return std::optional<PolledTask>(std::move(polled.front()));
}

absl::StatusOr<std::vector<PolledTask>> DurableEngine::PollTasks(const std::string& queue, const std::string& worker,
                                                                 int max_tasks, std::size_t max_input_bytes,
                                                                 common::EpochMillis deadline,
                                                                 const std::function<bool()>& gone,
                                                                 const std::function<void()>& on_taken) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  if (queue.empty()) {
    return absl::InvalidArgumentError("InvalidArgument: the queue name is empty");
  }
  Poller poller;
  poller.worker = worker;
  poller.gone = gone;
  poller.max_tasks = static_cast<std::size_t>(std::max(1, max_tasks));
  poller.max_input_bytes = max_input_bytes;
  SlotsTaken taken;
  if (on_taken) {
    taken = [&on_taken](const std::vector<bool>&) { on_taken(); };
  }
  return PollWith(queue, poller, deadline, taken);
}

absl::StatusOr<std::vector<PolledTask>> DurableEngine::PollForSlots(const std::string& queue, const PollSlots& slots,
                                                                    common::EpochMillis deadline,
                                                                    const SlotsTaken& taken) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  if (queue.empty()) {
    return absl::InvalidArgumentError("InvalidArgument: the queue name is empty");
  }
  if (slots.workers.empty()) {
    return std::vector<PolledTask>();
  }
  Poller poller;
  poller.worker = slots.workers.front();
  poller.max_tasks = slots.workers.size();
  poller.max_input_bytes = std::numeric_limits<std::size_t>::max();  // each task goes to a call of its own
  poller.slot_workers = slots.workers;
  poller.slot_gone = slots.gone;  // no `gone`: a slotted poller whose slots are all gone takes nothing
  return PollWith(queue, poller, deadline, taken);
}

absl::StatusOr<std::vector<PolledTask>> DurableEngine::PollWith(const std::string& queue, const Poller& poller,
                                                                common::EpochMillis deadline,
                                                                const SlotsTaken& on_taken) {
  const std::size_t most = poller.max_tasks;
  const std::size_t max_input_bytes = poller.max_input_bytes;
  const bool slotted = !poller.slot_workers.empty();
  // Once `on_taken` was told which slots the tasks go to, only those may receive one (the others' polls may be
  // waiting elsewhere by then): a second round, after every task taken was withdrawn, serves them alone.
  Poller narrowed;
  const Poller* current = &poller;
  bool first_take = true;
  while (true) {
    // While this poll waits, tasks scheduled for its queue may be started for it in the commit that schedules
    // them (TaskMatcher::Reserve): they arrive with `started` set.
    std::vector<QueuedTask> taken = matcher_.Take(queue, deadline, current);
    if (taken.empty()) {
      return std::vector<PolledTask>();
    }
    std::vector<PolledTask> started;
    std::size_t bytes = 0;
    if (taken.front().started) {
      bytes = AppendStarted(std::move(taken), started);  // this poll's, as after StartTaken
      taken.clear();
    } else {
      bytes = taken.front().input.size();
    }
    while (started.size() + taken.size() < most) {
      std::vector<QueuedTask> next = matcher_.Take(queue, /*deadline=*/0);  // only what waits now
      if (next.empty()) {
        break;
      }
      if (next.front().input.size() > max_input_bytes - std::min(bytes, max_input_bytes)) {
        matcher_.Offer(std::move(next.front()), /*front=*/true);  // for the next poll
        break;
      }
      bytes += next.front().input.size();
      taken.push_back(std::move(next.front()));
    }
    // The slots the delivered tasks left free, in order, for the tasks taken from the queue: one each, none
    // for a slot whose poll went away; what finds no slot goes back to the front of the queue. (So a slotted
    // poller needs no `gone`: the matcher reserves no slot that is gone, and this keeps none.)
    std::vector<bool> served(slotted ? poller.slot_workers.size() : 1, !slotted);
    if (slotted) {
      for (const PolledTask& t : started) {
        served[t.slot] = true;
      }
      std::size_t slot = 0;
      std::size_t kept = 0;
      for (QueuedTask& t : taken) {
        while (slot < served.size() && (served[slot] || (current->slot_gone && current->slot_gone(slot)))) {
          ++slot;
        }
        if (slot == served.size()) {
          break;
        }
        t.slot = slot;
        served[slot++] = true;
        ++kept;
      }
      for (std::size_t k = taken.size(); k > kept; --k) {
        matcher_.Offer(std::move(taken[k - 1]), /*front=*/true);  // keep their order
      }
      taken.resize(kept);
    }
    if (first_take && on_taken) {
      on_taken(served);  // before the start's commit: another poll may wait on the queue meanwhile
      if (slotted) {
        narrowed = poller;
        narrowed.slot_gone = [&poller, served](std::size_t slot) {
          return !served[slot] || (poller.slot_gone && poller.slot_gone(slot));
        };
        current = &narrowed;
      }
    }
    first_take = false;
    if (current->gone && current->gone()) {
      for (auto it = taken.rbegin(); it != taken.rend(); ++it) {
        matcher_.Offer(std::move(*it), /*front=*/true);  // nobody would receive them; keep their order
      }
      return started;  // a started one is lost with the caller: its TimeoutSeconds or HeartbeatSeconds ends it
    }
    if (taken.empty()) {
      return started;
    }
    absl::StatusOr<std::vector<PolledTask>> polled = StartTaken(std::move(taken), *current);
    if (!polled.ok() && started.empty()) {
      return polled.status();
    }
    if (polled.ok()) {
      started.insert(started.end(), std::make_move_iterator(polled->begin()), std::make_move_iterator(polled->end()));
    }
    if (!started.empty()) {
      return started;
    }
    // Every one was withdrawn since it was offered: take the next ones.
  }
}

std::size_t DurableEngine::AppendStarted(std::vector<QueuedTask> started, std::vector<PolledTask>& out) {
  std::size_t bytes = 0;
  for (QueuedTask& t : started) {
    bytes += t.input.size();
    std::string token = task_tokens_->Mint(t.execution_id, t.task_id);
    out.push_back(ToPolled(std::move(t), std::move(token)));
  }
  return bytes;
}

absl::StatusOr<std::vector<PolledTask>> DurableEngine::StartTaken(std::vector<QueuedTask> taken,
                                                                  const Poller& poller) {
  std::vector<std::string> ids;
  struct Start {
    std::uint64_t task_id = 0;
    bool lazy = false;
    std::string worker;
  };
  auto starts = std::make_shared<std::vector<Start>>();
  for (const QueuedTask& t : taken) {
    ids.push_back(t.execution_id);
    // Without HeartbeatSeconds, TaskStarted may wait for the task's result and be committed with it.
    starts->push_back(Start{t.task_id, options_.lazy_task_start && !t.heartbeat_seconds.has_value(),
                            poller.slot_workers.empty() ? poller.worker : poller.slot_workers[t.slot]});
  }
  std::vector<absl::StatusOr<bool>> started =
      CallEach<bool>(ids, [ids, starts](Partition& p, std::size_t k,
                                        absl::AnyInvocable<void(absl::StatusOr<bool>)> done) {
        const Start& start = (*starts)[k];
        p.StartTask(ids[k], start.task_id, start.worker, start.lazy, std::move(done));
      });
  std::vector<PolledTask> polled;
  absl::Status first_error;
  for (std::size_t k = 0; k < taken.size(); ++k) {
    if (!started[k].ok()) {
      if (first_error.ok()) {
        first_error = started[k].status();
      }
      continue;
    }
    if (*started[k]) {
      const std::uint64_t task_id = taken[k].task_id;
      polled.push_back(ToPolled(std::move(taken[k]), task_tokens_->Mint(ids[k], task_id)));
    }
  }
  if (polled.empty() && !first_error.ok()) {
    return first_error;
  }
  return polled;
}

absl::StatusOr<bool> DurableEngine::Report(const std::string& token, DriverInput input) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  ASSIGN_OR_RETURN(auto parsed, task_tokens_->Verify(token));
  input.execution_id = parsed.first;
  input.task_id = parsed.second;
  const std::string id = parsed.first;
  RETURN_IF_ERROR(RefuseIfQuarantined(id));
  return Call<bool>(id, [input = std::move(input), token](
                            Partition& p, absl::AnyInvocable<void(absl::StatusOr<bool>)> done) mutable {
    p.ReportTask(std::move(input), token, std::move(done));
  });
}

absl::Status DurableEngine::CompleteTask(const std::string& token, const std::string& output) {
  ASSIGN_OR_RETURN(DriverInput input,
                   ReportInput(TaskReport{TaskReport::Kind::kComplete, token, output, "", ""},
                               options_.limits.max_payload_bytes));
  return Report(token, std::move(input)).status();
}

absl::Status DurableEngine::FailTask(const std::string& token, const std::string& error, const std::string& cause) {
  ASSIGN_OR_RETURN(DriverInput input,
                   ReportInput(TaskReport{TaskReport::Kind::kFail, token, "", error, cause},
                               options_.limits.max_payload_bytes));
  return Report(token, std::move(input)).status();
}

absl::StatusOr<bool> DurableEngine::HeartbeatTask(const std::string& token) {
  ASSIGN_OR_RETURN(DriverInput input, ReportInput(TaskReport{TaskReport::Kind::kHeartbeat, token, "", "", ""},
                                                  options_.limits.max_payload_bytes));
  return Report(token, std::move(input));
}

std::vector<absl::StatusOr<bool>> DurableEngine::ReportTasks(const std::vector<TaskReport>& reports) {
  std::vector<absl::StatusOr<bool>> results(reports.size(), errors::ShuttingDown());
  CallGuard guard(this);
  if (!guard) {
    return results;
  }
  // The reports that get as far as their partition, with where their answers go.
  std::vector<std::string> ids;
  std::vector<std::size_t> positions;
  auto inputs = std::make_shared<std::vector<std::pair<DriverInput, std::string>>>();  // input, token
  for (std::size_t i = 0; i < reports.size(); ++i) {
    absl::Status refused = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(DriverInput input, ReportInput(reports[i], options_.limits.max_payload_bytes));
      ASSIGN_OR_RETURN(auto parsed, task_tokens_->Verify(reports[i].token));
      RETURN_IF_ERROR(RefuseIfQuarantined(parsed.first));
      input.execution_id = parsed.first;
      input.task_id = parsed.second;
      ids.push_back(parsed.first);
      positions.push_back(i);
      inputs->emplace_back(std::move(input), reports[i].token);
      return absl::OkStatus();
    }();
    if (!refused.ok()) {
      results[i] = refused;
    }
  }
  std::vector<absl::StatusOr<bool>> answers =
      CallEach<bool>(ids, [inputs](Partition& p, std::size_t k, absl::AnyInvocable<void(absl::StatusOr<bool>)> done) {
        p.ReportTask(std::move((*inputs)[k].first), (*inputs)[k].second, std::move(done));
      });
  for (std::size_t k = 0; k < answers.size(); ++k) {
    results[positions[k]] = std::move(answers[k]);
  }
  return results;
}

ReportsAndTasks DurableEngine::ReportTasksAndPoll(const std::vector<TaskReport>& reports,
                                                 const std::vector<SlotPoll>& polls) {
  ReportsAndTasks out;
  out.tasks.resize(polls.size());
  CallGuard guard(this);
  if (!guard) {
    out.results.assign(reports.size(), errors::ShuttingDown());
    return out;
  }
  // Registered before the reports reach their partitions, so that the commits applying them may start the
  // tasks they schedule for these polls (TaskMatcher::Reserve), as for a poll waiting in the matcher. A
  // registration lasts for the commits of this call only, so `gone` is asked here, once, and not by the
  // partitions under the matcher's lock (it may be slow: a synchronous gRPC server's IsCancelled polls the
  // call's completion queue). A caller that goes away during the commits loses what they started for it, as a
  // parked poll does after its reservation: those tasks' TimeoutSeconds or HeartbeatSeconds end them.
  std::vector<std::unique_ptr<TaskMatcher::Registration>> registrations;
  registrations.reserve(polls.size());
  for (const SlotPoll& p : polls) {
    const bool gone = p.gone && p.gone();
    if (gone) {
      registrations.push_back(nullptr);
      continue;
    }
    Poller poller;
    poller.worker = p.worker;
    poller.max_tasks = static_cast<std::size_t>(std::max(1, p.max_tasks));
    poller.max_input_bytes = p.max_input_bytes;
    registrations.push_back(matcher_.Register(p.queue, std::move(poller)));
  }
  out.results = ReportTasks(reports);
  for (std::size_t i = 0; i < polls.size(); ++i) {
    if (registrations[i] == nullptr) {
      continue;  // gone before the reports: nothing is started for it
    }
    const SlotPoll& p = polls[i];
    std::vector<PolledTask>& tasks = out.tasks[i];
    const std::size_t bytes = AppendStarted(matcher_.Collect(*registrations[i]), tasks);
    const int room = std::max(1, p.max_tasks) - static_cast<int>(tasks.size());
    // PollTasks asks `gone` again before it starts what it takes.
    if (room <= 0 || (!tasks.empty() && bytes >= p.max_input_bytes)) {
      continue;
    }
    absl::StatusOr<std::vector<PolledTask>> waiting =
        PollTasks(p.queue, p.worker, room, p.max_input_bytes - std::min(bytes, p.max_input_bytes),
                  /*deadline=*/0, p.gone, {});
    if (waiting.ok()) {
      tasks.insert(tasks.end(), std::make_move_iterator(waiting->begin()), std::make_move_iterator(waiting->end()));
    }
  }
  return out;
}

// --- Engine's batch calls for engines without their own: one unary call per item.

absl::StatusOr<std::vector<PolledTask>> Engine::PollForSlots(const std::string& queue, const PollSlots& slots,
                                                             common::EpochMillis deadline, const SlotsTaken& taken) {
  // The first slot still wanted, as one PollTask; the others wait for the next call.
  std::size_t k = 0;
  while (k < slots.workers.size() && slots.gone && slots.gone(k)) {
    ++k;
  }
  if (k == slots.workers.size()) {
    return std::vector<PolledTask>();
  }
  std::function<void()> on_taken;
  if (taken) {
    on_taken = [&taken, &slots, k] {
      std::vector<bool> served(slots.workers.size());
      served[k] = true;
      taken(served);
    };
  }
  ASSIGN_OR_RETURN(std::optional<PolledTask> task,
                   PollTask(queue, slots.workers[k], deadline,
                            slots.gone ? std::function<bool()>([&slots, k] { return slots.gone(k); })
                                       : std::function<bool()>(),
                            on_taken));
  std::vector<PolledTask> tasks;
  if (task.has_value()) {
    task->slot = k;
    tasks.push_back(*std::move(task));
  }
  return tasks;
}

absl::StatusOr<std::vector<PolledTask>> Engine::PollTasks(const std::string& queue, const std::string& worker,
                                                          int max_tasks, std::size_t max_input_bytes,
                                                          common::EpochMillis deadline,
                                                          const std::function<bool()>& gone,
                                                          const std::function<void()>& taken) {
  std::vector<PolledTask> tasks;
  std::size_t bytes = 0;
  // Without a look at the next task's size before it starts, stop once the inputs reach the budget.
  while (tasks.size() < static_cast<std::size_t>(std::max(1, max_tasks)) && bytes < max_input_bytes) {
    // The first waits; the others take only what waits now.
    absl::StatusOr<std::optional<PolledTask>> task =
        PollTask(queue, worker, tasks.empty() ? deadline : 0, gone, tasks.empty() ? taken : std::function<void()>());
    if (!task.ok() && tasks.empty()) {
      return task.status();
    }
    if (!task.ok() || !task->has_value()) {
      break;  // the started ones go out; the error will come again on the next poll
    }
    bytes += (*task)->input.size();
    tasks.push_back(**std::move(task));
  }
  return tasks;
}

std::vector<absl::StatusOr<bool>> Engine::ReportTasks(const std::vector<TaskReport>& reports) {
  std::vector<absl::StatusOr<bool>> results;
  results.reserve(reports.size());
  for (const TaskReport& r : reports) {
    switch (r.kind) {
      case TaskReport::Kind::kComplete:
      case TaskReport::Kind::kFail: {
        absl::Status s = r.kind == TaskReport::Kind::kComplete ? CompleteTask(r.token, r.output)
                                                               : FailTask(r.token, r.error, r.cause);
        results.push_back(s.ok() ? absl::StatusOr<bool>(false) : absl::StatusOr<bool>(s));
        break;
      }
      case TaskReport::Kind::kHeartbeat:
        results.push_back(HeartbeatTask(r.token));
        break;
    }
  }
  return results;
}

ReportsAndTasks Engine::ReportTasksAndPoll(const std::vector<TaskReport>& reports,
                                           const std::vector<SlotPoll>& polls) {
  ReportsAndTasks out;
  out.results = ReportTasks(reports);
  for (const SlotPoll& p : polls) {
    absl::StatusOr<std::vector<PolledTask>> tasks =
        PollTasks(p.queue, p.worker, p.max_tasks, p.max_input_bytes, /*deadline=*/0, p.gone);
    out.tasks.push_back(tasks.ok() ? *std::move(tasks) : std::vector<PolledTask>());
  }
  return out;
}

bool DurableEngine::Matches(const DeadLetterRecord& r, const DeadLetterFilter& filter, const std::string& machine) {
  return (filter.queue.empty() || r.queue == filter.queue) && (machine.empty() || r.state_machine_arn == machine) &&
         (filter.error.empty() || r.error() == filter.error) &&
         (!filter.created_after || r.created >= *filter.created_after) &&
         (!filter.created_before || r.created < *filter.created_before);
}

absl::StatusOr<Page<DeadLetterRecord>> DurableEngine::ListDeadLetters(const DeadLetterFilter& filter, int page_size,
                                                                      const std::string& page_token) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  std::string machine;
  if (!filter.state_machine.empty()) {
    ASSIGN_OR_RETURN(std::string name, StateMachineNameOf(filter.state_machine));
    machine = StateMachineArn(name);
  }
  ASSIGN_OR_RETURN(std::string start_after, DecodePageToken(page_token, ""));
  const int limit = ClampPageSize(page_size);
  Page<DeadLetterRecord> page;
  std::string last_key;
  std::size_t bytes = 0;
  bool more = false;
  absl::Status decode_error;
  RETURN_IF_ERROR(store_->Scan(storage::Column::kDeadLetters, "", start_after, false,
                               [&](std::string_view key, std::string_view value) {
                                 absl::StatusOr<DeadLetterRecord> r = DecodeDeadLetter(value);
                                 if (!r.ok()) {
                                   decode_error = r.status();
                                   return false;
                                 }
                                 if (!Matches(*r, filter, machine)) {
                                   return true;
                                 }
                                 // The stored row's size stands for the entry's (input, attempts).
                                 if (static_cast<int>(page.items.size()) == limit ||
                                     (!page.items.empty() &&
                                      value.size() > kMaxPageBytes - std::min(bytes, kMaxPageBytes))) {
                                   more = true;
                                   return false;
                                 }
                                 bytes += value.size();
                                 page.items.push_back(*std::move(r));
                                 last_key = std::string(key);
                                 return true;
                               }));
  RETURN_IF_ERROR(decode_error);
  if (more) {
    page.next_page_token = EncodePageToken(last_key);
  }
  return page;
}

absl::StatusOr<DeadLetterRecord> DurableEngine::GetDeadLetter(const std::string& id) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  absl::StatusOr<std::pair<std::string, std::uint64_t>> parsed = ParseDeadLetterId(id);
  if (!parsed.ok()) {
    return errors::DeadLetterDoesNotExist(id);
  }
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   store_->Get(storage::Column::kDeadLetters, DeadLetterKey(parsed->first, parsed->second)));
  if (!value) {
    return errors::DeadLetterDoesNotExist(id);
  }
  return DecodeDeadLetter(*value);
}

absl::StatusOr<std::vector<DeadLetterRecord>> DurableEngine::SelectDeadLetters(const std::string& id,
                                                                               const DeadLetterFilter& filter) {
  if (!id.empty()) {
    ASSIGN_OR_RETURN(DeadLetterRecord r, GetDeadLetter(id));
    return std::vector<DeadLetterRecord>{std::move(r)};
  }
  std::vector<DeadLetterRecord> all;
  std::string token;
  do {
    ASSIGN_OR_RETURN(Page<DeadLetterRecord> page, ListDeadLetters(filter, kMaxPageSize, token));
    for (DeadLetterRecord& r : page.items) {
      all.push_back(std::move(r));
    }
    token = page.next_page_token;
  } while (!token.empty());
  return all;
}

absl::StatusOr<std::vector<DeadLetterOutcome>> DurableEngine::RedriveDeadLetters(
    const std::string& id, const DeadLetterFilter& filter, const std::optional<std::string>& input) {
  std::optional<boost::json::value> patched;
  if (input) {
    absl::StatusOr<boost::json::value> parsed = ParseExecutionInput(*input);
    if (!parsed.ok()) {
      return errors::InvalidExecutionInput(absl::StrCat("the patched input is not valid JSON: ",
                                                        parsed.status().message()));
    }
    patched = *std::move(parsed);
  }
  ASSIGN_OR_RETURN(std::vector<DeadLetterRecord> selected, SelectDeadLetters(id, filter));
  // One redrive per execution, carrying every selected dead letter of it.
  std::map<std::string, sm::RedrivenDeadLetters> by_execution;
  for (const DeadLetterRecord& r : selected) {
    by_execution[r.execution_id][r.task_id] = patched;
  }
  // The partition checks that each entry is still in the list in the step that redrives it.
  std::vector<DeadLetterOutcome> outcomes;
  for (auto& [execution, dead_letters] : by_execution) {
    CallGuard guard(this);
    if (!guard) {
      return errors::ShuttingDown();
    }
    if (absl::Status refused = RefuseIfQuarantined(execution); !refused.ok()) {
      for (const auto& [task_id, unused] : dead_letters) {
        outcomes.push_back(DeadLetterOutcome{DeadLetterId(execution, task_id), execution, refused});
      }
      continue;
    }
    using Outcomes = std::vector<DeadLetterOutcome>;
    absl::StatusOr<Outcomes> redriven = Call<Outcomes>(
        execution, [id = execution, dls = dead_letters](Partition& p,
                                                        absl::AnyInvocable<void(absl::StatusOr<Outcomes>)> done) mutable {
          p.RedriveDeadLetters(id, std::move(dls), std::move(done));
        });
    if (!redriven.ok()) {
      for (const auto& [task_id, unused] : dead_letters) {
        outcomes.push_back(
            DeadLetterOutcome{DeadLetterId(execution, task_id), execution, errors::WithErrorName(redriven.status())});
      }
      continue;
    }
    for (DeadLetterOutcome& o : *redriven) {
      o.status = errors::WithErrorName(o.status);
      outcomes.push_back(std::move(o));
    }
  }
  return outcomes;
}

absl::StatusOr<std::vector<DeadLetterOutcome>> DurableEngine::DiscardDeadLetters(const std::string& id,
                                                                                 const DeadLetterFilter& filter) {
  ASSIGN_OR_RETURN(std::vector<DeadLetterRecord> selected, SelectDeadLetters(id, filter));
  std::vector<DeadLetterOutcome> outcomes;
  for (const DeadLetterRecord& r : selected) {
    CallGuard guard(this);
    if (!guard) {
      return errors::ShuttingDown();
    }
    const std::string execution = r.execution_id;
    if (absl::Status refused = RefuseIfQuarantined(execution); !refused.ok()) {
      outcomes.push_back(DeadLetterOutcome{r.id, execution, refused});
      continue;
    }
    const std::uint64_t task_id = r.task_id;
    const std::string state = r.state_name;
    absl::StatusOr<bool> discarded = Call<bool>(
        execution, [execution, task_id, state](Partition& p, absl::AnyInvocable<void(absl::StatusOr<bool>)> done) {
          p.DiscardDeadLetter(execution, task_id, state, std::move(done));
        });
    outcomes.push_back(DeadLetterOutcome{r.id, execution, errors::WithErrorName(discarded.status())});
  }
  return outcomes;
}

}  // namespace stepflow::engine
