// Execution::SaveState / Execution::Restore: the interpreter's state as plain JSON data (format 1).
//
// Layout (every key always written; numbers are JSON integers unless said otherwise):
//   {"format":1, "status":"RUNNING", "started":bool, "input", "output", "error", "cause", "nextEventId",
//    "redriveCount", "redriveTime" (epoch ms of the last redrive, 0 = none), "nextId", "frames":[frame...] (id order), "timers":[[id, kind, frame, task]...],
//    "tasks":[[task id, frame id]...], "closedTasks":[[task id, standing]...], "ready":[frame id...]}
// A frame is an object of the Frame fields under their own names in camelCase; `state` is the state's name in
// the frame's machine, which is the root machine for the root frame (parent 0) and, for a child, the branch
// `childIndex` of its parent's Parallel state or its parent's Map ItemProcessor. Resume points name their
// state the same way, in the machine a redrive would give the child at their index.
//
// Restore trusts nothing: every reference (parent, child, timer, task, ready frame, state name, index into a
// branch list, results or items array) is checked against what the runner will dereference, so a forged
// state is refused with InvalidArgument instead of being run.

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "statemachine/core/execution.h"
#include "statemachine/core/execution_internal.h"

namespace stepflow::sm {
namespace json = boost::json;

namespace {

using Frame = Execution::Frame;

// Returns the first problem a Reader met, if any.
#define STEPFLOW_RETURN_IF_READ_FAILED(r) \
  if (!(r).error().ok()) {                \
    return (r).error();                   \
  }

constexpr const char* kPhaseNames[] = {"enter", "running", "waitTask", "waitTimer", "waitRetry", "waitChildren",
                                       "done"};
constexpr const char* kTimerKindNames[] = {"wait", "retry", "executionTimeout", "taskTimeout", "heartbeatTimeout"};
constexpr const char* kStandingNames[] = {"unknown", "pending", "started", "answered", "timedOut", "cancelled"};
constexpr const char* kStatusNames[] = {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"};
constexpr ExecutionStatus kStatuses[] = {ExecutionStatus::kRunning, ExecutionStatus::kSucceeded,
                                         ExecutionStatus::kFailed, ExecutionStatus::kTimedOut,
                                         ExecutionStatus::kAborted};

json::value Optional(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::array Attempts(const std::vector<TaskAttempt>& attempts) {
  json::array out;
  for (const TaskAttempt& a : attempts) {
    out.push_back(json::array{a.task_id, a.attempt, a.worker, a.scheduled, a.started, a.ended, a.error, a.cause});
  }
  return out;
}

// The index in `machines` (ListMachines) of the machine that holds `state`; -1 when none does.
std::int64_t MachineOf(const std::vector<const StateMachine*>& machines, const State* state) {
  for (std::size_t i = 0; state != nullptr && i < machines.size(); ++i) {
    auto it = machines[i]->states.find(state->name);
    if (it != machines[i]->states.end() && &it->second == state) {
      return static_cast<std::int64_t>(i);
    }
  }
  return -1;
}

json::object SaveFrame(const Frame& f, const std::vector<const StateMachine*>& machines) {
  json::object o;
  o["id"] = f.id;
  o["parent"] = f.parent;
  o["childIndex"] = f.child_index;
  o["state"] = f.state != nullptr ? json::value(f.state->name) : json::value(nullptr);
  o["phase"] = kPhaseNames[static_cast<int>(f.phase)];
  o["rawInput"] = f.input();
  o["rawInputText"] = f.raw_input_text != nullptr ? json::string(*f.raw_input_text) : json::string();
  o["effectiveInput"] = f.effective_input;
  o["enteredEventId"] = f.entered_event_id;
  o["enteredTime"] = f.entered_time;
  o["lastEventId"] = f.last_event_id;
  o["retryAttempts"] = json::value_from(f.retry_attempts);
  o["retryCount"] = f.retry_count;
  o["variables"] = f.variables;
  o["pendingTask"] = f.pending_task;
  o["taskStarted"] = f.task_started;
  o["taskToken"] = f.task_token;
  o["pendingTimer"] = f.pending_timer;
  o["taskHeartbeat"] = Optional(f.task_heartbeat);
  o["taskTimeoutTimer"] = f.task_timeout_timer;
  o["heartbeatTimer"] = f.heartbeat_timer;
  o["taskInput"] = f.task_input;
  o["taskAttempts"] = Attempts(f.task_attempts);
  o["taskInputOverride"] = f.task_input_override ? json::value(json::array{*f.task_input_override}) : nullptr;
  o["childResults"] = json::array(f.child_results.begin(), f.child_results.end());
  json::array children;
  for (std::uint64_t c : f.child_frames) {
    children.push_back(c);
  }
  o["childFrames"] = std::move(children);
  o["items"] = f.items;
  o["nextChild"] = f.next_child;
  o["doneChildren"] = f.done_children;
  o["failedChildren"] = f.failed_children;
  o["maxConcurrency"] = f.max_concurrency;
  o["toleratedFailureCount"] =
      f.tolerated_failure_count ? json::value(*f.tolerated_failure_count) : json::value(nullptr);
  o["toleratedFailurePercentage"] = Optional(f.tolerated_failure_percentage);
  o["childrenStarted"] = f.children_started;
  json::array points;
  for (const auto& [index, rp] : f.resume_points) {
    // The child's machine is written: the frame may have left the Parallel/Map state the point belongs to (a
    // Catch moved on, and the next state is not entered yet).
    points.push_back(json::array{index, rp.state != nullptr ? json::value(rp.state->name) : json::value(nullptr),
                                 rp.raw_input, rp.variables, rp.last_task_id,
                                 MachineOf(machines, rp.state)});
  }
  o["resumePoints"] = std::move(points);
  return o;
}

// Reads fields of one JSON object, remembering the first problem (named with `where` and the key).
class Reader {
 public:
  explicit Reader(std::string where) : where_(std::move(where)) {}

  const json::value* Field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) {
      Fail(key, "is missing");
    }
    return v;
  }
  std::uint64_t U64(const json::value* v, std::string_view what) {
    if (v != nullptr && v->is_uint64()) {
      return v->get_uint64();
    }
    if (v != nullptr && v->is_int64() && v->get_int64() >= 0) {
      return static_cast<std::uint64_t>(v->get_int64());
    }
    Fail(what, "is not a non-negative integer");
    return 0;
  }
  std::int64_t I64(const json::value* v, std::string_view what) {
    if (v != nullptr && v->is_int64()) {
      return v->get_int64();
    }
    Fail(what, "is not a 64-bit integer");
    return 0;
  }
  int Int(const json::value* v, std::string_view what) {
    std::int64_t n = I64(v, what);
    if (n < 0 || n > std::numeric_limits<int>::max()) {
      Fail(what, "is out of range");
      return 0;
    }
    return static_cast<int>(n);
  }
  bool Bool(const json::value* v, std::string_view what) {
    if (v != nullptr && v->is_bool()) {
      return v->get_bool();
    }
    Fail(what, "is not a boolean");
    return false;
  }
  std::string Str(const json::value* v, std::string_view what) {
    if (v != nullptr && v->is_string()) {
      return std::string(v->get_string());
    }
    Fail(what, "is not a string");
    return "";
  }
  const json::array& Array(const json::value* v, std::string_view what) {
    static const json::array kEmpty;
    if (v != nullptr && v->is_array()) {
      return v->get_array();
    }
    Fail(what, "is not an array");
    return kEmpty;
  }
  const json::object& Object(const json::value* v, std::string_view what) {
    static const json::object kEmpty;
    if (v != nullptr && v->is_object()) {
      return v->get_object();
    }
    Fail(what, "is not an object");
    return kEmpty;
  }
  std::optional<double> OptionalNumber(const json::value* v, std::string_view what) {
    if (v != nullptr && v->is_null()) {
      return std::nullopt;
    }
    if (v != nullptr && v->is_number()) {
      double d = v->to_number<double>();
      if (std::isfinite(d)) {
        return d;
      }
    }
    Fail(what, "is not a finite number or null");
    return std::nullopt;
  }
  // The index of `v` in `names`.
  template <std::size_t N>
  int Enum(const json::value* v, const char* const (&names)[N], std::string_view what) {
    std::string s = Str(v, what);
    for (std::size_t i = 0; i < N; ++i) {
      if (s == names[i]) {
        return static_cast<int>(i);
      }
    }
    Fail(what, absl::StrCat("is not one of its names (\"", s, "\")"));
    return 0;
  }
  void Fail(std::string_view what, std::string_view problem) {
    if (error_.ok()) {
      error_ = absl::InvalidArgumentError(
          absl::StrCat("execution state: ", where_, std::string(what), " ", std::string(problem)));
    }
  }
  void Check(bool ok, std::string_view what, std::string_view problem) {
    if (!ok) {
      Fail(what, problem);
    }
  }
  void set_where(std::string where) { where_ = std::move(where); }
  const absl::Status& error() const { return error_; }

 private:
  std::string where_;
  absl::Status error_;
};

// Every machine of the model in pre-order (the root first, then each state's branches and ItemProcessor, states
// in name order): an index into it names a machine, the same for the same definition.
void ListMachines(const StateMachine* m, std::vector<const StateMachine*>& out) {
  out.push_back(m);
  for (const auto& [name, state] : m->states) {
    for (const auto& branch : state.branches) {
      ListMachines(branch.get(), out);
    }
    if (state.item_processor != nullptr) {
      ListMachines(state.item_processor.get(), out);
    }
  }
}

// The machine a child at `index` of a frame in state `s` runs (as RunParallel, RunMap and ResumeFrame choose
// it); nullptr when `s` starts no children or has no such branch.
const StateMachine* ChildMachine(const State* s, std::size_t index) {
  if (s == nullptr) {
    return nullptr;
  }
  if (s->type == StateType::kMap) {
    return s->item_processor.get();
  }
  if (s->type == StateType::kParallel && index < s->branches.size()) {
    return s->branches[index].get();
  }
  return nullptr;
}

std::vector<TaskAttempt> ReadAttempts(Reader& r, const json::value* v) {
  std::vector<TaskAttempt> out;
  for (const json::value& item : r.Array(v, "taskAttempts")) {
    const json::array& a = r.Array(&item, "taskAttempts[]");
    if (a.size() != 8) {
      r.Fail("taskAttempts[]", "does not have 8 fields");
      return out;
    }
    TaskAttempt t;
    t.task_id = r.U64(&a[0], "taskAttempts[].taskId");
    t.attempt = r.Int(&a[1], "taskAttempts[].attempt");
    t.worker = r.Str(&a[2], "taskAttempts[].worker");
    t.scheduled = r.I64(&a[3], "taskAttempts[].scheduled");
    t.started = r.I64(&a[4], "taskAttempts[].started");
    t.ended = r.I64(&a[5], "taskAttempts[].ended");
    t.error = r.Str(&a[6], "taskAttempts[].error");
    t.cause = r.Str(&a[7], "taskAttempts[].cause");
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

json::object Execution::SaveState() const {
  json::object o;
  o["format"] = kStateFormat;
  o["status"] = ExecutionStatusName(status_);
  o["started"] = started_;
  o["input"] = input_ != nullptr ? *input_ : json::value();
  o["output"] = *output_;
  o["error"] = error_;
  o["cause"] = cause_;
  o["nextEventId"] = next_event_id_;
  o["redriveCount"] = redrive_count_;
  o["redriveTime"] = redrive_time_;
  o["nextId"] = next_id_;
  std::vector<const StateMachine*> machines;
  ListMachines(machine_.get(), machines);
  json::array frames;
  for (const auto& [id, frame] : frames_) {
    frames.push_back(SaveFrame(*frame, machines));
  }
  o["frames"] = std::move(frames);
  json::array timers;
  for (const auto& [id, t] : timer_storage_) {
    timers.push_back(json::array{t->id, kTimerKindNames[static_cast<int>(t->kind)], t->frame, t->task});
  }
  o["timers"] = std::move(timers);
  // Hashed maps: written in id order, so that equal states give equal objects.
  std::map<std::uint64_t, std::uint64_t> tasks(tasks_.begin(), tasks_.end());
  json::array task_list;
  for (const auto& [task, frame] : tasks) {
    task_list.push_back(json::array{task, frame});
  }
  o["tasks"] = std::move(task_list);
  std::map<std::uint64_t, TaskStanding> closed(closed_tasks_.begin(), closed_tasks_.end());
  json::array closed_list;
  for (const auto& [task, standing] : closed) {
    closed_list.push_back(json::array{task, kStandingNames[static_cast<int>(standing)]});
  }
  o["closedTasks"] = std::move(closed_list);
  json::array ready;
  for (std::uint64_t id : ready_) {
    ready.push_back(id);
  }
  o["ready"] = std::move(ready);
  return o;
}

namespace {

// Reads one frame's own fields; references to other frames are checked by the caller.
std::unique_ptr<Frame> ReadFrame(Reader& r, const json::object& o) {
  auto f = std::make_unique<Frame>();
  f->id = r.U64(r.Field(o, "id"), "id");
  f->parent = r.U64(r.Field(o, "parent"), "parent");
  f->child_index = r.U64(r.Field(o, "childIndex"), "childIndex");
  f->phase = static_cast<Frame::Phase>(r.Enum(r.Field(o, "phase"), kPhaseNames, "phase"));
  if (const json::value* v = r.Field(o, "rawInput")) {
    f->owned_input = *v;
  }
  if (std::string text = r.Str(r.Field(o, "rawInputText"), "rawInputText"); !text.empty()) {
    f->raw_input_text = std::make_shared<const std::string>(std::move(text));
  }
  if (const json::value* v = r.Field(o, "effectiveInput")) {
    f->effective_input = *v;
  }
  f->entered_event_id = r.I64(r.Field(o, "enteredEventId"), "enteredEventId");
  f->entered_time = r.I64(r.Field(o, "enteredTime"), "enteredTime");
  f->last_event_id = r.I64(r.Field(o, "lastEventId"), "lastEventId");
  for (const json::value& a : r.Array(r.Field(o, "retryAttempts"), "retryAttempts")) {
    f->retry_attempts.push_back(r.Int(&a, "retryAttempts[]"));
  }
  f->retry_count = r.Int(r.Field(o, "retryCount"), "retryCount");
  f->variables = r.Object(r.Field(o, "variables"), "variables");
  f->pending_task = r.U64(r.Field(o, "pendingTask"), "pendingTask");
  f->task_started = r.Bool(r.Field(o, "taskStarted"), "taskStarted");
  f->task_token = r.Str(r.Field(o, "taskToken"), "taskToken");
  f->pending_timer = r.U64(r.Field(o, "pendingTimer"), "pendingTimer");
  f->task_heartbeat = r.OptionalNumber(r.Field(o, "taskHeartbeat"), "taskHeartbeat");
  f->task_timeout_timer = r.U64(r.Field(o, "taskTimeoutTimer"), "taskTimeoutTimer");
  f->heartbeat_timer = r.U64(r.Field(o, "heartbeatTimer"), "heartbeatTimer");
  if (const json::value* v = r.Field(o, "taskInput")) {
    f->task_input = *v;
  }
  f->task_attempts = ReadAttempts(r, r.Field(o, "taskAttempts"));
  if (const json::value* v = r.Field(o, "taskInputOverride"); v != nullptr && !v->is_null()) {
    const json::array& a = r.Array(v, "taskInputOverride");
    r.Check(a.size() == 1, "taskInputOverride", "is not [value] or null");
    if (a.size() == 1) {
      f->task_input_override = a[0];
    }
  }
  const json::array& results = r.Array(r.Field(o, "childResults"), "childResults");
  f->child_results.assign(results.begin(), results.end());
  for (const json::value& c : r.Array(r.Field(o, "childFrames"), "childFrames")) {
    f->child_frames.insert(r.U64(&c, "childFrames[]"));
  }
  if (const json::value* v = r.Field(o, "items")) {
    f->items = r.Array(v, "items");
  }
  f->next_child = r.U64(r.Field(o, "nextChild"), "nextChild");
  f->done_children = r.U64(r.Field(o, "doneChildren"), "doneChildren");
  f->failed_children = r.U64(r.Field(o, "failedChildren"), "failedChildren");
  f->max_concurrency = r.U64(r.Field(o, "maxConcurrency"), "maxConcurrency");
  if (const json::value* v = r.Field(o, "toleratedFailureCount"); v != nullptr && !v->is_null()) {
    f->tolerated_failure_count = r.U64(v, "toleratedFailureCount");
  }
  f->tolerated_failure_percentage =
      r.OptionalNumber(r.Field(o, "toleratedFailurePercentage"), "toleratedFailurePercentage");
  f->children_started = r.Bool(r.Field(o, "childrenStarted"), "childrenStarted");
  r.Check(f->next_child <= f->items.size(), "nextChild", "is past the items");
  return f;
}

// Resolves the frame's state (and its resume points' states) in the machine it runs, which follows from its
// parent; checks what the state handlers index with.
void ResolveStates(Reader& r, const json::object& o, Frame& f, const StateMachine* machine,
                   const std::vector<const StateMachine*>& machines) {
  f.machine = machine;
  const json::value* name = r.Field(o, "state");
  f.state = machine != nullptr && name != nullptr && name->is_string() ? machine->Find(std::string(name->get_string()))
                                                                        : nullptr;
  if (f.state == nullptr) {
    r.Fail("state", "names no state of the frame's machine");
    return;
  }
  const State& s = *f.state;
  r.Check(f.phase == Frame::Phase::kEnter || f.retry_attempts.size() == s.retry.size(), "retryAttempts",
          "does not have one entry per retrier of the state");
  r.Check(f.phase != Frame::Phase::kWaitTask || s.type == StateType::kTask, "phase", "waits for a task outside a Task");
  r.Check(f.phase != Frame::Phase::kWaitTimer || s.type == StateType::kWait, "phase", "waits for a timer outside a Wait");
  r.Check(f.phase != Frame::Phase::kWaitChildren || s.type == StateType::kParallel || s.type == StateType::kMap,
          "phase", "waits for children outside a Parallel or Map state");
  for (const json::value& item : r.Array(r.Field(o, "resumePoints"), "resumePoints")) {
    const json::array& a = r.Array(&item, "resumePoints[]");
    if (a.size() != 6) {
      r.Fail("resumePoints[]", "does not have 6 fields");
      return;
    }
    std::size_t index = r.U64(&a[0], "resumePoints[].index");
    const std::uint64_t machine_index = r.U64(&a[5], "resumePoints[].machine");
    const StateMachine* child = machine_index < machines.size() ? machines[machine_index] : nullptr;
    r.Check(child != nullptr, "resumePoints[].machine", "names no machine of the definition");
    // A redrive resumes the points of a frame still in its Parallel or Map state, in the machine that state gives
    // the child; a frame that moved on clears them when it enters its next state.
    r.Check(!(s.type == StateType::kParallel || s.type == StateType::kMap) || child == ChildMachine(&s, index),
            "resumePoints[].machine", "is not the machine of the state's child at that index");
    Frame::ResumePoint rp;
    rp.state = child != nullptr && a[1].is_string() ? child->Find(std::string(a[1].get_string())) : nullptr;
    r.Check(rp.state != nullptr, "resumePoints[].state", "names no state of the child's machine");
    rp.raw_input = a[2];
    rp.variables = r.Object(&a[3], "resumePoints[].variables");
    rp.last_task_id = r.U64(&a[4], "resumePoints[].lastTaskId");
    f.resume_points[index] = std::move(rp);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Execution>> Execution::Restore(std::shared_ptr<const StateMachine> machine,
                                                             ExecutionInfo info, ExecutionLimits limits,
                                                             const json::value& state) {
  if (machine == nullptr) {
    return absl::InvalidArgumentError("execution state: no state machine");
  }
  auto ex = std::make_unique<Execution>(std::move(machine), std::move(info), limits);
  Reader r("");
  const json::object& o = r.Object(&state, "the value");
  STEPFLOW_RETURN_IF_READ_FAILED(r);
  const json::value* format = r.Field(o, "format");
  if (format == nullptr || !format->is_int64() || format->get_int64() != kStateFormat) {
    return absl::InvalidArgumentError(absl::StrCat("execution state: format is not ", kStateFormat));
  }
  ex->status_ = kStatuses[r.Enum(r.Field(o, "status"), kStatusNames, "status")];
  ex->started_ = r.Bool(r.Field(o, "started"), "started");
  if (const json::value* v = r.Field(o, "input")) {
    ex->input_ = std::make_shared<const json::value>(*v);
  }
  if (const json::value* v = r.Field(o, "output"); v != nullptr && ex->status_ == ExecutionStatus::kSucceeded) {
    ex->output_ = std::make_shared<const json::value>(*v);  // only a SUCCEEDED execution has one (output())
  }
  ex->error_ = r.Str(r.Field(o, "error"), "error");
  ex->cause_ = r.Str(r.Field(o, "cause"), "cause");
  ex->next_event_id_ = r.I64(r.Field(o, "nextEventId"), "nextEventId");
  r.Check(ex->next_event_id_ >= 1, "nextEventId", "is below 1");
  ex->redrive_count_ = r.Int(r.Field(o, "redriveCount"), "redriveCount");
  ex->redrive_time_ = r.I64(r.Field(o, "redriveTime"), "redriveTime");
  r.Check(ex->redrive_time_ >= 0, "redriveTime", "is negative");
  ex->next_id_ = r.U64(r.Field(o, "nextId"), "nextId");
  STEPFLOW_RETURN_IF_READ_FAILED(r);

  std::vector<const StateMachine*> machines;
  ListMachines(ex->machine_.get(), machines);
  // Frames, in id order: a parent always has a lower id than its children (ids only grow).
  for (const json::value& item : r.Array(r.Field(o, "frames"), "frames")) {
    const json::object& fo = r.Object(&item, "frames[]");
    STEPFLOW_RETURN_IF_READ_FAILED(r);
    std::unique_ptr<Frame> f = ReadFrame(r, fo);
    r.set_where(absl::StrCat("frame ", f->id, ": "));
    r.Check(f->id != 0 && f->id < ex->next_id_, "id", "is not below nextId");
    r.Check(ex->frames_.empty() || f->id > ex->frames_.rbegin()->first, "id", "is out of order or repeated");
    const StateMachine* frame_machine = nullptr;
    if (f->parent == 0) {
      r.Check(ex->frames_.empty(), "parent", "makes a second root");
      frame_machine = ex->machine_.get();
    } else if (auto parent = ex->frames_.find(f->parent); parent != ex->frames_.end()) {
      frame_machine = ChildMachine(parent->second->state, f->child_index);
      r.Check(f->child_index < parent->second->child_results.size(), "childIndex", "is past its parent's results");
      r.Check(parent->second->child_frames.count(f->id) == 1, "parent", "does not list the frame as its child");
    } else {
      r.Fail("parent", "is not an earlier frame");
    }
    ResolveStates(r, fo, *f, frame_machine, machines);
    STEPFLOW_RETURN_IF_READ_FAILED(r);
    ex->frames_.emplace(f->id, std::move(f));
  }
  r.set_where("");
  for (const auto& [id, f] : ex->frames_) {
    for (std::uint64_t child : f->child_frames) {
      auto it = ex->frames_.find(child);
      r.Check(it != ex->frames_.end() && it->second->parent == id, absl::StrCat("frame ", id, ": childFrames"),
              "names a frame that is not its child");
    }
  }
  STEPFLOW_RETURN_IF_READ_FAILED(r);
  RETURN_IF_ERROR(ex->RestoreBookkeeping(o));
  return ex;
}

absl::Status Execution::RestoreBookkeeping(const json::object& o) {
  Reader r("");
  for (const json::value& item : r.Array(r.Field(o, "timers"), "timers")) {
    const json::array& a = r.Array(&item, "timers[]");
    if (a.size() != 4) {
      r.Fail("timers[]", "does not have 4 fields");
      break;
    }
    auto t = std::make_unique<TimerInfo>();
    t->id = r.U64(&a[0], "timers[].id");
    t->kind = static_cast<TimerInfo::Kind>(r.Enum(&a[1], kTimerKindNames, "timers[].kind"));
    t->frame = r.U64(&a[2], "timers[].frame");
    t->task = r.U64(&a[3], "timers[].task");
    r.Check(t->id != 0 && t->id < next_id_ && timer_storage_.count(t->id) == 0, "timers[].id",
            "is repeated or not below nextId");
    r.Check(t->kind == TimerInfo::Kind::kExecutionTimeout ? t->frame == 0 : frames_.count(t->frame) == 1,
            "timers[].frame", "names no frame");
    STEPFLOW_RETURN_IF_READ_FAILED(r);
    timers_[t->id] = t.get();
    timer_storage_.emplace(t->id, std::move(t));
  }
  for (const json::value& item : r.Array(r.Field(o, "tasks"), "tasks")) {
    const json::array& a = r.Array(&item, "tasks[]");
    if (a.size() != 2) {
      r.Fail("tasks[]", "does not have 2 fields");
      break;
    }
    std::uint64_t task = r.U64(&a[0], "tasks[].task");
    std::uint64_t frame = r.U64(&a[1], "tasks[].frame");
    auto f = frames_.find(frame);
    r.Check(f != frames_.end() && f->second->pending_task == task, "tasks[].frame",
            "names no frame waiting for that task");
    tasks_[task] = frame;
  }
  for (const json::value& item : r.Array(r.Field(o, "closedTasks"), "closedTasks")) {
    const json::array& a = r.Array(&item, "closedTasks[]");
    if (a.size() != 2) {
      r.Fail("closedTasks[]", "does not have 2 fields");
      break;
    }
    closed_tasks_[r.U64(&a[0], "closedTasks[].task")] =
        static_cast<TaskStanding>(r.Enum(&a[1], kStandingNames, "closedTasks[].standing"));
  }
  for (const json::value& item : r.Array(r.Field(o, "ready"), "ready")) {
    std::uint64_t id = r.U64(&item, "ready[]");
    r.Check(frames_.count(id) == 1, "ready[]", "names no frame");
    ready_.push_back(id);
  }
  STEPFLOW_RETURN_IF_READ_FAILED(r);
  return absl::OkStatus();
}

#undef STEPFLOW_RETURN_IF_READ_FAILED

}  // namespace stepflow::sm
