// Pass, Choice, Wait, Succeed and Fail: the states that need no worker.
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "statemachine/core/runner.h"
#include "statemachine/json_text.h"
#include "statemachine/timestamp.h"

namespace stepflow::sm {
namespace json = boost::json;

void Execution::Runner::RunPass(Frame* f) {
  const State* s = f->state;
  if (s->passes_input_through && Inspecting(f) == nullptr) {  // inspected: each (identity) step is reported
    SharedText text = std::move(f->raw_input_text);  // kept by EnterState for this state
    return ExitState(f, nullptr, std::move(text), nullptr);
  }
  if (s->language == QueryLanguage::kJsonata && s->output.present() && !s->has_result && !s->parameters.present()) {
    // The result of a JSONata Pass state is its input, used only as the default Output (a Pass state binds
    // no $states.result): with an Output there is nothing to copy.
    return FinishWithResult(f, json::value());
  }
  Result<json::value> input = ParameterizedInput(f);
  if (!input.ok()) {
    return FailState(f, input.failure());
  }
  json::value result = std::move(input).value();
  if (s->has_result) {
    result = s->result;
  }
  FinishWithResult(f, std::move(result));
}

void Execution::Runner::RunChoice(Frame* f) {
  const State* s = f->state;
  // Without InputPath and OutputPath the rules read the input where it is, and it is the output, text and all
  // (inspected: each step is reported, so the paths are applied).
  const bool passes_through = s->passes_input_through && Inspecting(f) == nullptr;
  Result<json::value> eff = passes_through ? Result<json::value>(json::value()) : SelectInput(f);
  if (!eff.ok()) {
    return FailState(f, eff.failure());
  }
  const json::value& input = passes_through ? f->input() : eff.value();
  PathResolver resolve = MakeResolver(f, input);
  const std::string* next = nullptr;
  const CompiledTemplate* rule_assign = nullptr;
  for (const ChoiceRule& rule : s->choices) {
    Result<bool> matched = rule.Evaluate(resolve);
    if (!matched.ok()) {
      return FailState(f, Failure{matched.failure().error,
                                  RuntimeCausePrefix(Ref(f)) + matched.failure().cause});
    }
    if (matched.value()) {
      next = &rule.next();
      rule_assign = &rule.compiled_assign();
      break;
    }
  }
  if (next == nullptr) {
    if (s->default_next.empty()) {
      return FailState(f, Failure{errors::kNoChoiceMatched, "No Matches!"});
    }
    next = &s->default_next;
  }
  json::object new_vars = f->variables;
  for (const CompiledTemplate* assign : {rule_assign, &s->assign}) {
    if (assign != nullptr && assign->present()) {
      Result<bool> a = ApplyAssign(*assign, resolve, *rv_, Ref(f), new_vars);
      if (!a.ok()) {
        return FailState(f, a.failure());
      }
    }
  }
  if (passes_through) {
    CommitVariables(f, std::move(new_vars), {rule_assign, &s->assign});
    std::string target = *next;
    SharedText text = std::move(f->raw_input_text);  // kept by EnterState for this state
    return ExitState(f, nullptr, std::move(text), &target);
  }
  Result<json::value> out = ApplySelectPath(s->output_path, input, resolve, Ref(f));
  if (!out.ok()) {
    return FailState(f, out.failure());
  }
  CommitVariables(f, std::move(new_vars), {rule_assign, &s->assign});
  std::string target = *next;
  CompleteState(f, std::move(out).value(), &target);
}

namespace {

// The largest Wait the definition may state literally (the validator's limit for Seconds), and so the
// largest SecondsPath value accepted at run time.
constexpr long long kMaxWaitSeconds = 99999999;

// Wait's SecondsPath value: a non-negative integer (AWS parses it as a Java long) up to kMaxWaitSeconds.
Result<common::EpochMillis> SecondsFromPath(const json::value& v, const std::string& path, const StateRef& ref) {
  std::string shown = v.is_string() ? std::string(v.get_string()) : ToAwsJson(v);
  if (v.is_double()) {
    double d = v.get_double();
    if (std::trunc(d) == d && std::fabs(d) < 9.2e18) {
      shown = absl::StrCat(static_cast<long long>(d));
    } else {
      shown = absl::StrCat(d);
    }
  }
  std::optional<long long> seconds;
  if (v.is_int64()) {
    seconds = v.get_int64();
  } else if (v.is_uint64()) {
    seconds = std::numeric_limits<long long>::max();  // above any long: reported as too large below
  }
  if (!seconds) {
    return Failure{errors::kRuntime, absl::StrCat(RuntimeCausePrefix(ref),
                                                  "The SecondsPath parameter cannot be parsed as a long value: ",
                                                  path, " == ", shown)};
  }
  if (*seconds < 0) {
    return Failure{errors::kRuntime, absl::StrCat(RuntimeCausePrefix(ref),
                                                  "The SecondsPath parameter references a negative value: ", path,
                                                  " == ", shown)};
  }
  if (*seconds > kMaxWaitSeconds) {
    // Converted to milliseconds such a value overflowed and the Wait fired at once.
    return Failure{errors::kRuntime,
                   absl::StrCat(RuntimeCausePrefix(ref), "The SecondsPath parameter references a value larger than ",
                                kMaxWaitSeconds, " seconds: ", path, " == ", shown)};
  }
  return static_cast<common::EpochMillis>(*seconds) * 1000;
}

}  // namespace

Result<common::EpochMillis> Execution::Runner::WaitDueJsonata(Frame* f) {
  const State* s = f->state;
  JsonataStates states = StatesOf(f, f->effective_input);
  if (s->seconds_jsonata.present()) {
    Result<double> seconds = JsonataNumber(s->seconds_jsonata, states, *rv_, Ref(f), "Seconds", 0, kMaxWaitSeconds);
    if (!seconds.ok()) {
      return seconds.failure();
    }
    return now_ + static_cast<common::EpochMillis>(seconds.value()) * 1000;
  }
  std::string text;
  if (s->timestamp_jsonata.present()) {
    Result<json::value> v = EvaluateJsonata(s->timestamp_jsonata, states, *rv_, Ref(f), "Timestamp");
    if (!v.ok()) {
      return v.failure();
    }
    if (!v.value().is_string()) {
      return JsonataTypeFailure(s->timestamp_jsonata, Ref(f), "Timestamp", "string", v.value());
    }
    text = std::string(v.value().get_string());
  } else {
    text = *s->timestamp;
  }
  std::optional<Timestamp> t = ParseTimestamp(text);
  if (!t) {
    return Failure{errors::kQueryEvaluationError,
                   absl::StrCat(RuntimeCausePrefix(Ref(f)),
                                "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
                                "format string: ",
                                text),
                   "Timestamp"};
  }
  return t->EpochMillis();
}

void Execution::Runner::RunWait(Frame* f) {
  const State* s = f->state;
  Result<json::value> eff = SelectInput(f);
  if (!eff.ok()) {
    return FailState(f, eff.failure());
  }
  f->effective_input = std::move(eff).value();
  PathResolver resolve = MakeResolver(f, f->effective_input);
  common::EpochMillis due = now_;
  if (s->language == QueryLanguage::kJsonata && (s->seconds_jsonata.present() || s->timestamp_jsonata.present() ||
                                                 s->timestamp)) {
    Result<common::EpochMillis> jsonata_due = WaitDueJsonata(f);
    if (!jsonata_due.ok()) {
      return FailState(f, jsonata_due.failure());
    }
    due = jsonata_due.value();
  } else if (s->seconds) {
    due = now_ + static_cast<common::EpochMillis>(*s->seconds * 1000);
  } else if (s->timestamp) {
    std::optional<Timestamp> t = ParseTimestamp(*s->timestamp);
    if (!t) {
      return FailState(f, Failure{errors::kRuntime,
                                  absl::StrCat(RuntimeCausePrefix(Ref(f)),
                                               "The Timestamp field cannot be parsed as an ISO-8601 extended offset "
                                               "date-time format string: ",
                                               *s->timestamp)});
    }
    due = t->EpochMillis();
  } else if (s->seconds_path) {
    Result<json::value> v = SelectPath(*s->seconds_path, resolve, Ref(f));
    if (!v.ok()) {
      return FailState(f, v.failure());
    }
    Result<common::EpochMillis> delay = SecondsFromPath(v.value(), s->seconds_path->text(), Ref(f));
    if (!delay.ok()) {
      return FailState(f, delay.failure());
    }
    due = now_ + delay.value();
  } else if (s->timestamp_path) {
    PathValue found = resolve(*s->timestamp_path);
    if (!found.ok()) {
      return FailState(f, found.failure());
    }
    const std::optional<json::value>& v = found.value();
    std::optional<Timestamp> t;
    if (v && v->is_string()) {
      t = ParseTimestamp(std::string_view(v->get_string()));
    }
    if (!t) {
      std::string shown = !v ? "null" : v->is_string() ? std::string(v->get_string()) : ToAwsJson(*v);
      return FailState(f, Failure{errors::kRuntime,
                                  absl::StrCat(RuntimeCausePrefix(Ref(f)),
                                               "The TimestampPath parameter does not reference a valid ISO-8601 "
                                               "extended offset date-time format string: ",
                                               s->timestamp_path->text(), " == ", shown)});
    }
    due = t->EpochMillis();
  }
  f->phase = Frame::Phase::kWaitTimer;
  f->pending_timer = StartTimer(f, TimerInfo::Kind::kWait, std::max(due, now_));
}

void Execution::Runner::WaitTimerFired(Frame* f) {
  const State* s = f->state;
  if (s->language == QueryLanguage::kJsonata) {
    return CompleteJsonata(f, StatesOf(f, f->effective_input), json::value(f->effective_input), s->output,
                           {&s->assign});
  }
  PathResolver resolve = MakeResolver(f, f->effective_input);
  json::object new_vars = f->variables;
  if (s->assign.present()) {
    Result<bool> a = ApplyAssign(s->assign, resolve, *rv_, Ref(f), new_vars);
    if (!a.ok()) {
      return FailState(f, a.failure());
    }
  }
  Result<json::value> out = ApplySelectPath(s->output_path, f->effective_input, resolve, Ref(f));
  if (!out.ok()) {
    return FailState(f, out.failure());
  }
  CommitVariables(f, std::move(new_vars), {&s->assign});
  CompleteState(f, std::move(out).value());
}

void Execution::Runner::RunSucceed(Frame* f) {
  const State* s = f->state;
  if (s->language == QueryLanguage::kJsonata) {
    return CompleteJsonata(f, StatesOf(f, f->input()), json::value(f->input()), s->output, {&s->assign});
  }
  Result<json::value> eff = SelectInput(f);
  if (!eff.ok()) {
    return FailState(f, eff.failure());
  }
  Result<json::value> out = ApplySelectPath(s->output_path, eff.value(), MakeResolver(f, eff.value()), Ref(f));
  if (!out.ok()) {
    return FailState(f, out.failure());
  }
  CompleteState(f, std::move(out).value());
}

void Execution::Runner::RunFail(Frame* f) {
  const State* s = f->state;
  PathResolver resolve = MakeResolver(f, f->input());
  Failure failure;
  auto text_of = [&](const std::optional<std::string>& literal, const std::optional<CompiledExpression>& path,
                     const char* field, std::string* out) -> bool {
    if (literal) {
      *out = *literal;
      return true;
    }
    if (!path) {
      return true;
    }
    Result<json::value> v = ResolvePathOrIntrinsic(*path, resolve, *rv_, Ref(f), field);
    if (!v.ok()) {
      FailFrame(f, v.failure());
      return false;
    }
    *out = v.value().is_string() ? std::string(v.value().get_string()) : ToAwsJson(v.value());
    return true;
  };
  if (!text_of(s->error, s->error_path, "ErrorPath", &failure.error) ||
      !text_of(s->cause, s->cause_path, "CausePath", &failure.cause)) {
    return;
  }
  FailFrame(f, failure);
}

}  // namespace stepflow::sm
