// In-process benchmark of the embedded engine on the workloads of bench/workloads/: 10- and 100-state Pass
// chains, an inline Map over 1,000 items and a Choice loop of 100 iterations. For each workload it prints
// one line in the format of the peer benchmark (bench/peer/bench.mjs):
//   stepflow <workload> executions=N seconds=S exec_per_s=X transitions_per_s=Y engine=<mode> cpu_us_per_exec=C
// (C: the process's CPU time per execution over the timed span, less distorted than S by a busy machine)
// (with --engine reuse also a `RESULT {json}` line of workload W1 for bench/report.py) and at the end the
// process's peak RSS. A figure, not a test.
//
// Usage: stepflow_bench [--pass-chain N] [--pass-chain-100 N] [--map N] [--choice N] [--warmup W] [--workloads-dir DIR]
//                       [--engine reuse|keep|per-execution|both|all] [--only WORKLOAD]...
//
// What is measured, per workload (kept as close to bench.mjs as the two engines allow):
// - The definition is validated and parsed once, outside the timing, as a server registers it once.
// - Each execution is LocalEngine::Run: the real Driver committing every history event, the execution
//   record and timer/task rows to the in-memory Store (storage/memory_store.h), on a virtual clock.
// - --engine reuse (the default) runs all executions on one LocalEngine created before the timing, as an
//   application runs a stream of executions on one engine: each execution is forgotten (Forget, which returns
//   its outcome) inside the timing, so only the outputs are kept, as bench.mjs keeps only the peer's outputs.
//   --engine keep does the same but keeps every execution (nothing forgotten: the store and the driver's
//   table of finished executions grow during the run, what `reuse` measured before LocalEngine::Forget).
//   --engine per-execution creates (and destroys) a LocalEngine, with its store, inside the timing for every
//   execution. `both` is reuse and per-execution, `all` the three.
// - One untimed verification run per workload reads the history back from the store and counts the
//   states entered (*StateEntered events, Map iterations' inner states included): that is the number
//   of state transitions per execution. The timed runs' outputs are checked too (outside the timing
//   with --engine reuse and keep, inside it with per-execution, where the engine is gone afterwards).
// - Inputs are parsed once; JSON parsing is not timed. As bench.mjs hands the peer the same parsed object for
//   every run (which the peer clones once per execution), every run here shares the one parsed document
//   (LocalEngine::Run's shared overload). The execution reads it in place (it is immutable) until a state makes
//   an output of its own: a Pass chain's output is that document, not a copy (the peer's is its clone).
//   Executions run one after another on one thread.

#include <sys/resource.h>

#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "engine/local_engine.h"
#include "statemachine/compile.h"
#include "statemachine/core/execution.h"
#include "statemachine/core/model.h"
#include "statemachine/validator.h"

namespace stepflow::bench {
namespace {

namespace json = boost::json;

// Fixed so that runs are reproducible (execution names are UUIDs drawn from it).
constexpr std::uint64_t kSeed = 20240601;

// The parsed input every execution of a workload shares (LocalEngine::Run's shared overload).
using SharedInput = std::shared_ptr<const json::value>;

enum class EngineMode { kReuse, kKeep, kPerExecution };

const char* ModeName(EngineMode m) {
  switch (m) {
    case EngineMode::kReuse:
      return "reuse";
    case EngineMode::kKeep:
      return "keep";
    case EngineMode::kPerExecution:
      return "per-execution";
  }
  return "?";
}

// Returns "" when `output` is right for `input`, else what is wrong.
using OutputCheck = std::function<std::string(const json::value& output, const json::value& input)>;

struct Workload {
  std::string name;
  std::string definition_file;
  std::string input_file;
  int executions = 0;
  std::int64_t expected_transitions = 0;  // what the definition implies; the counted figure is used
  OutputCheck check;
};

struct Flags {
  std::string workloads_dir = STEPFLOW_BENCH_WORKLOADS_DIR;
  int warmup = 0;
  std::vector<EngineMode> modes = {EngineMode::kReuse};
  std::vector<std::string> only;
};

std::string CheckEqualsInput(const json::value& output, const json::value& input) {
  return output == input ? "" : "output differs from input";
}

std::string CheckMap(const json::value& output, const json::value& input) {
  if (!output.is_array() || output.get_array().size() != 1000) {
    return "expected an array of the 1000 input items";
  }
  return output == input ? "" : "the 1000 items differ from the input";
}

std::string CheckCounter(const json::value& output, const json::value&) {
  const json::object* o = output.if_object();
  const json::value* counter = o != nullptr ? o->if_contains("counter") : nullptr;
  if (counter == nullptr || !counter->is_number() || counter->to_number<double>() != 100) {
    return "expected counter 100";
  }
  return "";
}

// The chains of jsonata_chain_10.json / jsonpath_chain_10.json: order and customer passed through, step + 10.
std::string CheckChainOfTen(const json::value& output, const json::value& input) {
  const json::object* out = output.if_object();
  const json::object* in = input.if_object();
  if (out == nullptr || in == nullptr || out->size() != 3 || out->if_contains("order") == nullptr ||
      out->at("order") != in->at("order") || out->if_contains("customer") == nullptr ||
      out->at("customer") != in->at("customer") || out->if_contains("step") == nullptr ||
      !out->at("step").is_number() || out->at("step").to_number<double>() != in->at("step").to_number<double>() + 10) {
    return "expected order and customer unchanged and step + 10";
  }
  return "";
}

std::vector<Workload> DefaultWorkloads() {
  return {
      {"pass_chain_10", "pass_chain_10.json", "pass_chain_10_input.json", 20000, 10, CheckEqualsInput},
      {"pass_chain_100", "pass_chain_100.json", "pass_chain_10_input.json", 2000, 100, CheckEqualsInput},
      {"map_1000", "map_1000.json", "map_1000_input.json", 60, 1001, CheckMap},
      {"choice_loop_100", "choice_loop_100.json", "choice_loop_100_input.json", 800, 203, CheckCounter},
      // The same 10-state chain in each query language (JSONata states should be no slower).
      {"jsonata_chain_10", "jsonata_chain_10.json", "chain_10_input.json", 20000, 10, CheckChainOfTen},
      {"jsonpath_chain_10", "jsonpath_chain_10.json", "chain_10_input.json", 20000, 10, CheckChainOfTen},
  };
}

[[noreturn]] void Usage(const std::string& message) {
  if (!message.empty()) {
    std::fprintf(stderr, "stepflow_bench: %s\n", message.c_str());
  }
  std::fprintf(stderr,
               "usage: stepflow_bench [--pass-chain N] [--pass-chain-100 N] [--map N] [--choice N] [--warmup W]\n"
               "                      [--workloads-dir DIR]\n"
               "                      [--engine reuse|keep|per-execution|both|all] [--only WORKLOAD]...\n");
  std::exit(2);
}

int ParseCount(const std::string& flag, const char* text, int min) {
  char* end = nullptr;
  long n = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || n < min || n > 1000000000) {
    Usage(absl::StrCat(flag, " needs an integer >= ", min, ", got '", text, "'"));
  }
  return static_cast<int>(n);
}

Flags ParseFlags(int argc, char** argv, std::vector<Workload>& workloads) {
  Flags flags;
  auto executions_of = [&](const std::string& name) -> int& {
    for (Workload& w : workloads) {
      if (w.name == name) {
        return w.executions;
      }
    }
    Usage("unknown workload '" + name + "' (known: pass_chain_10, pass_chain_100, map_1000, choice_loop_100, "
          "jsonata_chain_10, jsonpath_chain_10)");
  };
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      Usage("");
    }
    if (i + 1 >= argc) {
      Usage(flag + " needs a value (or is unknown)");
    }
    const char* value = argv[++i];
    if (flag == "--pass-chain") {
      executions_of("pass_chain_10") = ParseCount(flag, value, 1);
    } else if (flag == "--pass-chain-100") {
      executions_of("pass_chain_100") = ParseCount(flag, value, 1);
    } else if (flag == "--map") {
      executions_of("map_1000") = ParseCount(flag, value, 1);
    } else if (flag == "--choice") {
      executions_of("choice_loop_100") = ParseCount(flag, value, 1);
    } else if (flag == "--warmup") {
      flags.warmup = ParseCount(flag, value, 0);
    } else if (flag == "--workloads-dir") {
      flags.workloads_dir = value;
    } else if (flag == "--engine") {
      std::string mode = value;
      if (mode == "reuse") {
        flags.modes = {EngineMode::kReuse};
      } else if (mode == "keep") {
        flags.modes = {EngineMode::kKeep};
      } else if (mode == "per-execution") {
        flags.modes = {EngineMode::kPerExecution};
      } else if (mode == "both") {
        flags.modes = {EngineMode::kReuse, EngineMode::kPerExecution};
      } else if (mode == "all") {
        flags.modes = {EngineMode::kReuse, EngineMode::kKeep, EngineMode::kPerExecution};
      } else {
        Usage("--engine is reuse, keep, per-execution, both or all");
      }
    } else if (flag == "--only") {
      executions_of(value);  // exits with a usage message on an unknown name
      flags.only.push_back(value);
    } else {
      Usage("unknown flag '" + flag + "'");
    }
  }
  return flags;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<json::value> ReadJson(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", ec.message()));
  }
  return v;
}

absl::StatusOr<std::shared_ptr<const sm::StateMachine>> LoadMachine(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  sm::CompileResult compiled = sm::Compile(text);
  if (!compiled.diagnostics.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", sm::FormatDiagnostic(compiled.diagnostics.front())));
  }
  if (!compiled.ok()) {
    return compiled.model_status;
  }
  return std::move(compiled.model);
}

absl::StatusOr<std::unique_ptr<engine::LocalEngine>> NewEngine() {
  engine::LocalEngineOptions options;
  options.seed = kSeed;
  return engine::LocalEngine::Create(std::move(options));
}

// Checks how an execution ended: succeeded, with the output `w` expects for `input`.
absl::Status CheckOutcome(const Workload& w, sm::ExecutionStatus status, const std::string& error,
                          const std::string& cause, const json::value& output, const json::value& input) {
  if (status != sm::ExecutionStatus::kSucceeded) {
    return absl::InternalError(absl::StrCat(w.name, ": execution did not succeed: ", sm::ExecutionStatusName(status),
                                            " ", error, ": ", cause));
  }
  std::string wrong = w.check(output, input);
  if (!wrong.empty()) {
    return absl::InternalError(absl::StrCat(w.name, ": wrong output: ", wrong));
  }
  return absl::OkStatus();
}

// The outcome of execution `id`, still held by `local`.
absl::Status Verify(const engine::LocalEngine& local, const std::string& id, const Workload& w,
                    const json::value& input) {
  const sm::Execution* e = local.driver().Find(id);
  if (e == nullptr) {
    return absl::InternalError(absl::StrCat(w.name, ": execution did not succeed: unknown"));
  }
  return CheckOutcome(w, e->status(), e->error(), e->cause(), e->output(), input);
}

// One untimed execution whose history is read back: returns the number of states entered.
absl::StatusOr<std::int64_t> CountTransitions(engine::LocalEngine& local,
                                              const std::shared_ptr<const sm::StateMachine>& machine, const Workload& w,
                                              const SharedInput& input) {
  ASSIGN_OR_RETURN(std::string id, local.Run(machine, input));
  RETURN_IF_ERROR(Verify(local, id, w, *input));
  ASSIGN_OR_RETURN(std::vector<json::object> events, local.driver().ReadHistory(id));
  std::int64_t entered = 0;
  for (const json::object& event : events) {
    const json::value* type = event.if_contains("type");
    if (type != nullptr && type->is_string() && std::string_view(type->get_string()).ends_with("StateEntered")) {
      ++entered;
    }
  }
  if (entered != w.expected_transitions) {
    std::fprintf(stderr, "warning: %s: counted %lld state transitions, the definition implies %lld; using the count\n",
                 w.name.c_str(), static_cast<long long>(entered), static_cast<long long>(w.expected_transitions));
  }
  return entered;
}

struct Timing {
  double seconds = 0;
  double cpu_seconds = 0;  // the process's CPU time over the same span (a busy machine distorts it less)
};

double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// One engine for every execution: with `forget` each execution is forgotten and its outcome kept (reuse),
// else every execution is kept (keep); either way the outcomes are checked after the timing.
absl::StatusOr<Timing> TimeOneEngine(engine::LocalEngine& local, const std::shared_ptr<const sm::StateMachine>& machine,
                                     const Workload& w, const SharedInput& input, bool forget) {
  std::vector<std::string> ids;
  std::vector<engine::LocalRunResult> results;
  if (forget) {
    results.reserve(w.executions);
  } else {
    ids.reserve(w.executions);
  }
  const double cpu_start = ProcessCpuSeconds();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < w.executions; ++i) {
    ASSIGN_OR_RETURN(std::string id, local.Run(machine, input));
    if (forget) {
      ASSIGN_OR_RETURN(engine::LocalRunResult result, local.Forget(id));
      results.push_back(std::move(result));
    } else {
      ids.push_back(std::move(id));
    }
  }
  Timing t{std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
           ProcessCpuSeconds() - cpu_start};
  for (const std::string& id : ids) {
    RETURN_IF_ERROR(Verify(local, id, w, *input));
  }
  for (const engine::LocalRunResult& r : results) {
    RETURN_IF_ERROR(CheckOutcome(w, r.status, r.error, r.cause, *r.output, *input));
  }
  if (forget && local.driver().size() != 1) {  // the counting run's execution, kept for its history
    return absl::InternalError(absl::StrCat(w.name, ": ", local.driver().size(), " executions held after forgetting"));
  }
  return t;
}

absl::StatusOr<Timing> TimePerExecution(const std::shared_ptr<const sm::StateMachine>& machine, const Workload& w,
                                        const SharedInput& input) {
  const double cpu_start = ProcessCpuSeconds();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < w.executions; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<engine::LocalEngine> local, NewEngine());
    ASSIGN_OR_RETURN(std::string id, local->Run(machine, input));
    RETURN_IF_ERROR(Verify(*local, id, w, *input));
  }
  return Timing{std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                ProcessCpuSeconds() - cpu_start};
}

absl::Status RunWorkload(const Flags& flags, const Workload& w, EngineMode mode) {
  ASSIGN_OR_RETURN(std::shared_ptr<const sm::StateMachine> machine,
                   LoadMachine(absl::StrCat(flags.workloads_dir, "/", w.definition_file)));
  ASSIGN_OR_RETURN(json::value parsed, ReadJson(absl::StrCat(flags.workloads_dir, "/", w.input_file)));
  const SharedInput input = std::make_shared<const json::value>(std::move(parsed));
  ASSIGN_OR_RETURN(std::unique_ptr<engine::LocalEngine> local, NewEngine());
  ASSIGN_OR_RETURN(std::int64_t transitions, CountTransitions(*local, machine, w, input));
  for (int i = 0; i < flags.warmup; ++i) {
    ASSIGN_OR_RETURN(std::string id, local->Run(machine, input));
    RETURN_IF_ERROR(Verify(*local, id, w, *input));
    if (mode == EngineMode::kReuse) {
      RETURN_IF_ERROR(local->Forget(id).status());
    }
  }
  absl::StatusOr<Timing> timing;
  if (mode != EngineMode::kPerExecution) {
    timing = TimeOneEngine(*local, machine, w, input, mode == EngineMode::kReuse);
  } else {
    local.reset();
    timing = TimePerExecution(machine, w, input);
  }
  RETURN_IF_ERROR(timing.status());
  const double exec_per_s = w.executions / timing->seconds;
  std::printf("stepflow %s executions=%d seconds=%.3f exec_per_s=%.1f transitions_per_s=%.0f engine=%s "
              "cpu_us_per_exec=%.1f\n",
              w.name.c_str(), w.executions, timing->seconds, exec_per_s, exec_per_s * static_cast<double>(transitions),
              ModeName(mode), timing->cpu_seconds * 1e6 / w.executions);
  if (mode == EngineMode::kReuse) {
    std::printf(
        "RESULT {\"engine\":\"stepflow\",\"workload\":\"W1\",\"case\":\"%s\",\"durability\":\"in memory "
        "(LocalEngine: in-memory store, virtual clock)\",\"metrics\":{\"exec_per_s\":%.1f,"
        "\"transitions_per_s\":%.0f,\"executions\":%d}}\n",
        w.name.c_str(), exec_per_s, exec_per_s * static_cast<double>(transitions), w.executions);
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

bool Selected(const Flags& flags, const Workload& w) {
  if (flags.only.empty()) {
    return true;
  }
  for (const std::string& name : flags.only) {
    if (name == w.name) {
      return true;
    }
  }
  return false;
}

int Main(int argc, char** argv) {
  std::vector<Workload> workloads = DefaultWorkloads();
  Flags flags = ParseFlags(argc, argv, workloads);
  std::vector<std::string> mode_names;
  for (EngineMode m : flags.modes) {
    mode_names.push_back(ModeName(m));
  }
  std::fprintf(stderr,
               "# stepflow in-process (LocalEngine: driver + in-memory store, virtual clock), "
               "engine %s, warmup %d, workloads %s\n",
               absl::StrJoin(mode_names, ",").c_str(), flags.warmup, flags.workloads_dir.c_str());
  for (const Workload& w : workloads) {
    if (!Selected(flags, w)) {
      continue;
    }
    for (EngineMode mode : flags.modes) {
      absl::Status s = RunWorkload(flags, w, mode);
      if (!s.ok()) {
        std::fprintf(stderr, "stepflow_bench: %s: %s\n", w.name.c_str(), s.ToString().c_str());
        return 1;
      }
    }
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("stepflow peak_rss_kib=%ld\n", usage.ru_maxrss);
  return 0;
}

}  // namespace
}  // namespace stepflow::bench

int main(int argc, char** argv) { return stepflow::bench::Main(argc, argv); }
