#pragma once
// Shared fixture for the Execution tests: a fake RuntimeValues, a harness that drives one Execution with
// explicit instants and keeps the whole history, and small accessors over Decisions.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "statemachine/compile.h"
#include "statemachine/core/execution.h"
#include "statemachine/core/model.h"
#include "statemachine/runtime_values.h"
#include "statemachine/validator.h"

namespace stepflow::sm::testing {

// 2023-11-14T22:13:20.000Z.
inline constexpr common::EpochMillis kT0 = 1'700'000'000'000;
inline constexpr char kExecutionArn[] = "arn:aws:states:us-east-1:123456789012:execution:SM:run-1";

// Fixed UUIDs and a scripted random number, counting calls.
class FakeRuntime final : public RuntimeValues {
 public:
  std::string NewUuid() override {
    ++uuid_calls;
    return "11111111-2222-4333-8444-555555555555";
  }
  double NextRandomUnit() override {
    ++random_calls;
    return random_unit;
  }
  double random_unit = 0.5;
  int uuid_calls = 0;
  int random_calls = 0;
};

inline boost::json::value Json(std::string_view text) { return boost::json::parse(text); }

// Parses a definition that the validator accepts (a test with an invalid definition is itself wrong).
inline std::shared_ptr<const StateMachine> ParseMachine(std::string_view definition) {
  CompileResult compiled = Compile(definition);
  for (const Diagnostic& d : compiled.diagnostics) {
    ADD_FAILURE() << "invalid test definition: " << FormatDiagnostic(d);
  }
  EXPECT_TRUE(compiled.ok()) << compiled.model_status;
  return compiled.model;
}

inline ExecutionInfo TestInfo() {
  ExecutionInfo info;
  info.execution_arn = kExecutionArn;
  info.name = "run-1";
  info.state_machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:SM";
  info.state_machine_name = "SM";
  info.role_arn = "arn:aws:iam::123456789012:role/test";
  info.start_time = kT0;
  return info;
}

// Drives one Execution. Every call expects the input to be accepted and appends the Decision's events
// to `history`; use `ex()` directly to test refused inputs.
class Harness {
 public:
  explicit Harness(std::string_view definition, ExecutionLimits limits = {})
      : machine_(ParseMachine(definition)), ex_(machine_, TestInfo(), limits) {}

  Decision Start(std::string_view input) { return Keep(ex_.Start(Json(input), now, rv)); }
  Decision Started(std::uint64_t task) { return Keep(ex_.OnTaskStarted(task, now)); }
  Decision Succeed(std::uint64_t task, std::string_view output) {
    return Keep(ex_.OnTaskSucceeded(task, Json(output), now, rv));
  }
  Decision Fail(std::uint64_t task, const std::string& error, const std::string& cause = "") {
    return Keep(ex_.OnTaskFailed(task, error, cause, now, rv));
  }
  Decision Fire(std::uint64_t timer) { return Keep(ex_.OnTimerFired(timer, now, rv)); }
  Decision Stop(const std::string& error, const std::string& cause) { return Keep(ex_.Stop(error, cause, now)); }

  Execution& ex() { return ex_; }

  common::EpochMillis now = kT0;
  FakeRuntime rv;
  std::vector<HistoryEvent> history;

 private:
  Decision Keep(absl::StatusOr<Decision> d) {
    EXPECT_TRUE(d.ok()) << d.status();
    if (!d.ok()) {
      return Decision{};
    }
    history.insert(history.end(), d->events.begin(), d->events.end());
    return *std::move(d);
  }

  std::shared_ptr<const StateMachine> machine_;
  Execution ex_;
};

inline std::vector<std::string> Types(const std::vector<HistoryEvent>& events) {
  std::vector<std::string> out;
  for (const HistoryEvent& e : events) {
    out.push_back(e.type);
  }
  return out;
}

// (id, previousEventId) pairs.
inline std::vector<std::pair<std::int64_t, std::int64_t>> Links(const std::vector<HistoryEvent>& events) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (const HistoryEvent& e : events) {
    out.emplace_back(e.id, e.previous_event_id);
  }
  return out;
}

// The first event of `type`, or a default event (and a test failure) when there is none.
inline HistoryEvent FindEvent(const std::vector<HistoryEvent>& events, std::string_view type) {
  for (const HistoryEvent& e : events) {
    if (e.type == type) {
      return e;
    }
  }
  ADD_FAILURE() << "no " << type << " event";
  return HistoryEvent{};
}

inline std::string DetailString(const HistoryEvent& e, std::string_view field) {
  const boost::json::value* v = e.details.if_contains(field);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string("<absent>");
}

// A state's output as the StateExited event recorded it, parsed.
inline boost::json::value ExitedOutput(const std::vector<HistoryEvent>& events, std::string_view state) {
  for (const HistoryEvent& e : events) {
    if (e.type.ends_with("StateExited") && DetailString(e, "name") == state) {
      return boost::json::parse(DetailString(e, "output"));
    }
  }
  ADD_FAILURE() << "no StateExited event for " << state;
  return nullptr;
}

}  // namespace stepflow::sm::testing
