// Parallel and Map: states that run child frames (branches / iterations) and collect their outputs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "statemachine/core/runner.h"
#include "statemachine/json_text.h"

namespace stepflow::sm {
namespace json = boost::json;

namespace {

std::string Shown(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : ToAwsJson(v);
}

// Reads an integer-valued Map field given literally or by path (MaxConcurrency, ToleratedFailureCount).
Result<std::optional<long long>> IntegerField(const NumberOrPath& n, const char* field, const PathResolver& resolve,
                                              const StateRef& ref) {
  if (n.value) {
    return std::optional<long long>(static_cast<long long>(*n.value));
  }
  if (!n.path) {
    return std::optional<long long>();
  }
  PathValue found = resolve(*n.path);
  if (!found.ok()) {
    return found.failure();
  }
  const std::optional<json::value>& v = found.value();
  // AWS reads these as a Java int: values outside its range are "not a valid integer" (and a uint64 above
  // the long range would make Boost.JSON's to_number throw).
  auto in_int_range = [](long long n) {
    return n >= std::numeric_limits<std::int32_t>::min() && n <= std::numeric_limits<std::int32_t>::max();
  };
  if (v && v->is_int64() && in_int_range(v->get_int64())) {
    return std::optional<long long>(v->get_int64());
  }
  long long parsed = 0;
  if (v && v->is_string() && absl::SimpleAtoi(std::string(v->get_string()), &parsed) && in_int_range(parsed)) {
    return std::optional<long long>(parsed);  // AWS parses the value's text: "1" is 1
  }
  return Failure{errors::kRuntime,
                 absl::StrCat(RuntimeCausePrefix(ref), "The ", field, "Path field refers to value \"",
                              v ? Shown(*v) : "null", "\" which is not a valid integer: ", n.path->text())};
}

Result<std::optional<double>> FloatField(const NumberOrPath& n, const char* field, const PathResolver& resolve,
                                         const StateRef& ref) {
  if (n.value) {
    return std::optional<double>(*n.value);
  }
  if (!n.path) {
    return std::optional<double>();
  }
  PathValue found = resolve(*n.path);
  if (!found.ok()) {
    return found.failure();
  }
  const std::optional<json::value>& v = found.value();
  if (v && v->is_number()) {
    return std::optional<double>(v->to_number<double>());
  }
  double parsed = 0;
  if (v && v->is_string() && absl::SimpleAtod(std::string(v->get_string()), &parsed)) {
    return std::optional<double>(parsed);  // AWS parses the value's text: "1.5" is 1.5
  }
  return Failure{errors::kRuntime,
                 absl::StrCat(RuntimeCausePrefix(ref), "The ", field, "Path field refers to value \"",
                              v ? Shown(*v) : "null", "\" which is not a valid float: ", n.path->text())};
}

}  // namespace

void Execution::Runner::RunParallel(Frame* f) {
  const State* s = f->state;
  Result<json::value> parameterized = ParameterizedInput(f);
  if (!parameterized.ok()) {
    return FailState(f, parameterized.failure());
  }
  json::value input = std::move(parameterized).value();
  f->effective_input = input;
  f->child_results.assign(s->branches.size(), json::value());
  f->child_frames.clear();
  f->done_children = 0;
  f->phase = Frame::Phase::kWaitChildren;
  f->children_started = true;
  Emit(f, "ParallelStateStarted", "", json::object());
  for (std::size_t i = 0; i < s->branches.size() && running(); ++i) {
    Frame* child = NewFrame(f->id, i, s->branches[i].get(), input, f->variables);
    f->child_frames.insert(f->child_frames.end(), child->id);
    ready_.push_back(child->id);
  }
}

void Execution::Runner::RunMap(Frame* f) {
  const State* s = f->state;
  Result<json::value> eff = SelectInput(f);
  if (!eff.ok()) {
    return FailState(f, eff.failure());
  }
  f->effective_input = std::move(eff).value();
  PathResolver resolve = MakeResolver(f, f->effective_input);
  json::value items;  // the effective input unless Items/ItemsPath selects them (copied only then)
  const bool jsonata = s->language == QueryLanguage::kJsonata;
  if (jsonata && s->items.present()) {
    Result<json::value> v = EvaluateJsonata(s->items, StatesOf(f, f->effective_input), *rv_, Ref(f), "Items");
    if (!v.ok()) {
      return FailState(f, v.failure());
    }
    if (!v.value().is_array()) {
      return FailState(f, JsonataTypeFailure(s->items, Ref(f), "Items", "array", v.value()));
    }
    items = std::move(v).value();
  } else if (s->items_path) {
    Result<json::value> v = SelectPath(*s->items_path, resolve, Ref(f));
    if (!v.ok()) {
      return FailState(f, v.failure());
    }
    items = std::move(v).value();
  } else {
    items = f->effective_input;
  }
  if (!items.is_array()) {
    return FailState(f, Failure{jsonata ? errors::kQueryEvaluationError : errors::kRuntime,
                                absl::StrCat(RuntimeCausePrefix(Ref(f)),
                                                               "Map state input must be an array but was: ",
                                                               ToCompactJson(items))});
  }
  // JSONata expressions for the numeric fields are evaluated (and range-checked) into literal values.
  NumberOrPath max_concurrency_field = s->max_concurrency;
  NumberOrPath tolerated_count_field = s->tolerated_failure_count;
  NumberOrPath tolerated_percentage_field = s->tolerated_failure_percentage;
  for (auto [n, field, max, fraction] :
       {std::tuple{&max_concurrency_field, "MaxConcurrency", 2147483647.0, false},
        std::tuple{&tolerated_count_field, "ToleratedFailureCount", 2147483647.0, false},
        std::tuple{&tolerated_percentage_field, "ToleratedFailurePercentage", 100.0, true}}) {
    if (!n->jsonata.present()) {
      continue;
    }
    Result<double> v = JsonataNumber(n->jsonata, StatesOf(f, f->effective_input), *rv_, Ref(f), field, 0, max, fraction);
    if (!v.ok()) {
      return FailState(f, v.failure());
    }
    n->value = v.value();
  }
  Result<std::optional<long long>> max_conc = IntegerField(max_concurrency_field, "MaxConcurrency", resolve, Ref(f));
  if (!max_conc.ok()) {
    return FailState(f, max_conc.failure());
  }
  Result<std::optional<long long>> tol_count =
      IntegerField(tolerated_count_field, "ToleratedFailureCount", resolve, Ref(f));
  if (!tol_count.ok()) {
    return FailState(f, tol_count.failure());
  }
  if (tol_count.value() && *tol_count.value() < 0) {
    return FailState(f, Failure{errors::kRuntime,
                                RuntimeCausePrefix(Ref(f)) + "ToleratedFailureCount cannot be negative."});
  }
  Result<std::optional<double>> tol_pct =
      FloatField(tolerated_percentage_field, "ToleratedFailurePercentage", resolve, Ref(f));
  if (!tol_pct.ok()) {
    return FailState(f, tol_pct.failure());
  }
  if (tol_pct.value() && (*tol_pct.value() < 0 || *tol_pct.value() > 100)) {
    return FailState(f, Failure{errors::kRuntime, RuntimeCausePrefix(Ref(f)) +
                                                      "ToleratedFailurePercentage must be between 0 and 100."});
  }
  f->max_concurrency = max_conc.value() && *max_conc.value() > 0 ? static_cast<std::size_t>(*max_conc.value()) : 0;
  f->tolerated_failure_count = tol_count.value() ? std::optional<std::size_t>(*tol_count.value()) : std::nullopt;
  f->tolerated_failure_percentage = tol_pct.value();
  f->items = std::move(items.as_array());
  if (StateInspection* inspection = Inspecting(f)) {
    if (!jsonata) {
      inspection->after_items_path = json::value(f->items);
    }
    inspection->max_concurrency = max_conc.value();
    inspection->tolerated_failure_count = tol_count.value();
    inspection->tolerated_failure_percentage = tol_pct.value();
    json::array selected;
    for (std::size_t i = 0; i < f->items.size(); ++i) {
      Result<json::value> item = SelectItem(f, i);
      if (!item.ok()) {
        break;  // the iteration that selects it fails the state: no array of inputs
      }
      selected.push_back(std::move(item).value());
    }
    if (selected.size() == f->items.size()) {
      inspection->after_item_selector = std::move(selected);
    }
  }
  f->child_results.assign(f->items.size(), json::value());
  f->child_frames.clear();
  f->next_child = 0;
  f->done_children = 0;
  f->failed_children = 0;
  f->phase = Frame::Phase::kWaitChildren;
  f->children_started = true;
  Emit(f, "MapStateStarted", "mapStateStartedEventDetails",
       json::object{{"length", static_cast<std::int64_t>(f->items.size())}});
  if (!running()) {
    return;
  }
  if (f->items.empty()) {
    Emit(f, "MapStateSucceeded", "", json::object());
    return FinishWithResult(f, json::array());
  }
  StartMapIterations(f);
}

void Execution::Runner::StartMapIterations(Frame* f) {
  const State* s = f->state;
  const std::size_t left = f->items.size() - f->next_child;
  const std::size_t in_flight = std::min(f->max_concurrency, f->child_frames.size());
  const std::size_t starting = f->max_concurrency == 0 ? left : std::min(left, f->max_concurrency - in_flight);
  if (starting > 0) {
    // Per iteration: started, a pass through each state of the processor, succeeded.
    ReserveEvents(starting * (2 + 2 * s->item_processor->states.size()));
  }
  while (running() && f->next_child < f->items.size() &&
         (f->max_concurrency == 0 || f->child_frames.size() < f->max_concurrency)) {
    std::size_t i = f->next_child++;
    Result<json::value> selected = SelectItem(f, i);
    if (!selected.ok()) {
      for (std::uint64_t id : std::vector<std::uint64_t>(f->child_frames.begin(), f->child_frames.end())) {
        if (Frame* child = FindFrame(id)) {
          CancelFrameTree(child);
        }
      }
      f->child_frames.clear();
      return FailState(f, selected.failure());
    }
    json::value input = std::move(selected).value();
    EmitTyped(f, TypedEventDetails{TypedEventDetails::Shape::kMapIteration, "MapIterationStarted",
                                   "mapIterationStartedEventDetails", s->name, nullptr, static_cast<std::int64_t>(i)});
    Frame* child = NewFrame(f->id, i, s->item_processor.get(), std::move(input), f->variables);
    f->child_frames.insert(f->child_frames.end(), child->id);
    ready_.push_back(child->id);
  }
}

Result<json::value> Execution::Runner::SelectItem(Frame* f, std::size_t i) {
  const State* s = f->state;
  if (!s->parameters.present()) {
    return f->items[i];
  }
  json::value index(static_cast<std::int64_t>(i));
  return s->language == QueryLanguage::kJsonata
             ? EvaluateJsonata(s->parameters, StatesOf(f, f->effective_input, &index, &f->items[i]), *rv_, Ref(f),
                               "ItemSelector")
             : ApplyTemplate(s->parameters, MakeResolver(f, f->effective_input, &index, &f->items[i]), *rv_, Ref(f));
}

void Execution::Runner::ChildSucceeded(Frame* parent, Frame* child, json::value output) {
  std::size_t index = child->child_index;
  parent->child_frames.erase(child->id);
  ex_.frames_.erase(child->id);  // `child` is dangling from here on
  if (parent->state->type == StateType::kMap) {
    EmitTyped(parent, TypedEventDetails{TypedEventDetails::Shape::kMapIteration, "MapIterationSucceeded",
                                        "mapIterationSucceededEventDetails", parent->state->name, nullptr,
                                        static_cast<std::int64_t>(index)});
  }
  CollectChildResult(parent, index, std::move(output));
}

void Execution::Runner::CollectChildResult(Frame* parent, std::size_t index, json::value output) {
  if (!running()) {
    return;
  }
  parent->child_results[index] = std::move(output);
  ++parent->done_children;
  bool is_map = parent->state->type == StateType::kMap;
  std::size_t total = parent->child_results.size();
  if (parent->done_children < total) {
    if (is_map) {
      StartMapIterations(parent);
    }
    return;
  }
  Emit(parent, is_map ? "MapStateSucceeded" : "ParallelStateSucceeded", "", json::object());
  if (!running()) {
    return;
  }
  json::array results;
  results.reserve(total);
  for (json::value& r : parent->child_results) {
    results.push_back(std::move(r));
  }
  parent->child_results.clear();
  FinishWithResult(parent, json::value(std::move(results)));
}

void Execution::Runner::ChildFailed(Frame* parent, Frame* child, const Failure& failure) {
  std::size_t index = child->child_index;
  Frame::ResumePoint resume = ResumePointOf(child);
  parent->child_frames.erase(child->id);
  ex_.frames_.erase(child->id);  // `child` is dangling from here on
  const State* s = parent->state;
  bool is_map = s->type == StateType::kMap;
  std::optional<Failure> exceeded;
  if (is_map) {
    Emit(parent, "MapIterationFailed", "mapIterationFailedEventDetails",
         json::object{{"name", s->name}, {"index", static_cast<std::int64_t>(index)}});
    if (!running()) {
      return;
    }
    ++parent->failed_children;
    std::size_t total = parent->items.size();
    bool has_tolerance = parent->tolerated_failure_count || parent->tolerated_failure_percentage;
    bool tolerated = false;
    if (parent->tolerated_failure_count && parent->failed_children <= *parent->tolerated_failure_count) {
      tolerated = true;
    }
    if (parent->tolerated_failure_percentage &&
        static_cast<double>(parent->failed_children) * 100.0 <=
            *parent->tolerated_failure_percentage * static_cast<double>(total)) {
      tolerated = true;
    }
    if (tolerated) {
      CollectChildResult(parent, index, json::value(json::object{{"Error", failure.error}, {"Cause", failure.cause}}));
      return;
    }
    parent->resume_points[index] = std::move(resume);
    if (has_tolerance) {
      exceeded = Failure{errors::kExceedToleratedFailureThreshold,
                         "The specified tolerated failure threshold was exceeded"};
    }
  }
  if (!is_map) {
    parent->resume_points[index] = std::move(resume);
  }
  for (std::uint64_t id : std::vector<std::uint64_t>(parent->child_frames.begin(), parent->child_frames.end())) {
    Frame* sibling = FindFrame(id);
    if (sibling == nullptr) {
      continue;
    }
    std::size_t sibling_index = sibling->child_index;
    parent->resume_points[sibling_index] = ResumePointOf(sibling);
    CancelFrameTree(sibling);
    if (is_map) {
      Emit(parent, "MapIterationAborted", "mapIterationAbortedEventDetails",
           json::object{{"name", s->name}, {"index", static_cast<std::int64_t>(sibling_index)}});
    }
  }
  parent->child_frames.clear();
  if (!running()) {
    return;
  }
  Emit(parent, is_map ? "MapStateFailed" : "ParallelStateFailed", "", json::object());
  if (!running()) {
    return;
  }
  FailState(parent, exceeded ? *exceeded : failure, FailureOrigin::kChild);
}

}  // namespace stepflow::sm
