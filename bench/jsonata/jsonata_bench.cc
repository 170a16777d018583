// Times Stepflow's JSONata evaluator on the expressions of bench/jsonata/cases.json over the data that
// bench/jsonata/make_data.py writes; bench/jsonata/jsonata_bench.mjs times jsonata-js 2.0.6 on the same
// expressions and data, and bench/jsonata/jsonata_bench.sh prints the two side by side. A figure, not a test.
//
// Usage: jsonata_bench --cases CASES.json --data DATA.json [--min-seconds S] [--only NAME]
//
// Per case: the expression is compiled once (outside the timing), then evaluated over and over against the
// case's input until at least --min-seconds (default 1) have passed (the clock read between batches of
// evaluations, as jsonata_bench.mjs reads it). Each evaluation is the public
// jsonata::Evaluate: the input read in place (its members converted as the expression reads them), the
// evaluation, the result converted back to JSON (what an ASL state pays per expression). Prints, per case:
//   stepflow <name> evals=N ns_per_eval=X result_bytes=B
// where B is the length of the result as JSON text (compared with jsonata-js's JSON.stringify length).

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "statemachine/jsonata/jsonata.h"

namespace {

namespace json = boost::json;
namespace jsonata = stepflow::sm::jsonata;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "jsonata_bench: %s\n", message.c_str());
  std::exit(2);
}

json::value ReadJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Die("cannot read " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(text.str(), ec);
  if (ec) {
    Die(path + ": " + ec.message());
  }
  return v;
}

struct Flags {
  std::string cases;
  std::string data;
  double min_seconds = 1;
  std::vector<std::string> only;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--cases") {
      flags.cases = value;
    } else if (flag == "--data") {
      flags.data = value;
    } else if (flag == "--min-seconds") {
      flags.min_seconds = std::atof(value.c_str());
    } else if (flag == "--only") {
      flags.only.push_back(value);
    } else {
      Die("unknown flag " + flag);
    }
  }
  if (flags.cases.empty() || flags.data.empty() || !(flags.min_seconds > 0)) {
    Die("usage: jsonata_bench --cases CASES.json --data DATA.json [--min-seconds S] [--only NAME]");
  }
  return flags;
}

bool Wanted(const Flags& flags, const std::string& name) {
  if (flags.only.empty()) {
    return true;
  }
  for (const std::string& o : flags.only) {
    if (o == name) {
      return true;
    }
  }
  return false;
}

double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// The clock is read once per batch of evaluations, the batch doubling while it takes less than this, so that
// a fast case's figure is the evaluation's cost rather than the clock's (a read costs ~20 ns here, ~45 ns in
// node); jsonata_bench.mjs batches the same way.
constexpr double kBatchSeconds = 1e-3;

void RunCase(const Flags& flags, const json::object& c, const json::object& data) {
  const std::string name(c.at("name").as_string());
  const std::string text(c.at("expr").as_string());
  const json::value& input = data.at(c.at("input").as_string());
  jsonata::CompileResult compiled = jsonata::Compile(text);
  if (!compiled.expression) {
    Die(name + ": " + compiled.error->code + ": " + compiled.error->message);
  }
  const jsonata::EvaluationEnvironment environment;
  const std::map<std::string, json::value> no_bindings;
  std::size_t result_bytes = 0;
  std::int64_t evals = 0;
  const double cpu_start = ProcessCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  std::int64_t batch = 1;
  while (elapsed < flags.min_seconds) {
    for (std::int64_t i = 0; i < batch; ++i) {
      jsonata::EvaluationResult r = jsonata::Evaluate(*compiled.expression, &input, no_bindings, environment);
      if (r.error) {
        Die(name + ": " + r.error->code + ": " + r.error->message);
      }
      if (evals == 0) {
        result_bytes = r.value ? jsonata::ToJsonText(*r.value).size() : 0;
      }
      ++evals;
    }
    const double before = elapsed;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed - before < kBatchSeconds) {
      batch *= 2;
    }
  }
  const double cpu = ProcessCpuSeconds() - cpu_start;
  std::printf("stepflow %s evals=%lld ns_per_eval=%.0f cpu_ns_per_eval=%.0f result_bytes=%zu\n", name.c_str(),
              static_cast<long long>(evals), elapsed * 1e9 / static_cast<double>(evals),
              cpu * 1e9 / static_cast<double>(evals), result_bytes);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  const json::value cases = ReadJson(flags.cases);
  const json::value data = ReadJson(flags.data);
  for (const json::value& c : cases.at("cases").as_array()) {
    if (Wanted(flags, std::string(c.at("name").as_string()))) {
      RunCase(flags, c.as_object(), data.as_object());
    }
  }
  return 0;
}
