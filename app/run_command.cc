// stepflow run: one execution on the embedded engine, printed as AWS would report it.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "app/commands.h"
#include "engine/local_engine.h"
#include "statemachine/compile.h"
#include "statemachine/core/model.h"
#include "statemachine/json_text.h"
#include "statemachine/validator.h"

namespace stepflow::app {
namespace json = boost::json;

namespace {

struct RunFlags {
  std::string definition_path;
  std::string input_path;
  std::string mock_config_path;
  std::string test_case;
  std::string name;
  bool time_skip = false;
  bool express = false;
  bool history = false;
};

int Usage(const std::string& what) {
  std::fprintf(stderr, "stepflow run: %s (try 'stepflow help')\n", what.c_str());
  return kExitUsage;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "stepflow run: %s\n", std::string(status.message()).c_str());
  return kExitUsage;
}

// Returns an exit code on error, std::nullopt when the flags are good.
std::optional<int> ParseFlags(int argc, char** argv, RunFlags& flags) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string& out) -> bool {
      if (i + 1 >= argc) {
        return false;
      }
      out = argv[++i];
      return true;
    };
    if (arg == "--time-skip") {
      flags.time_skip = true;
    } else if (arg == "--history") {
      flags.history = true;
    } else if (arg == "--input" || arg == "--mock-config" || arg == "--test-case" || arg == "--name" ||
               arg == "--type") {
      std::string v;
      if (!value(v)) {
        return Usage(absl::StrCat(arg, " needs a value"));
      }
      if (arg == "--input") flags.input_path = v;
      if (arg == "--mock-config") flags.mock_config_path = v;
      if (arg == "--test-case") flags.test_case = v;
      if (arg == "--name") flags.name = v;
      if (arg == "--type") {
        if (v != "STANDARD" && v != "EXPRESS") {
          return Usage(absl::StrCat("--type must be STANDARD or EXPRESS, not '", v, "'"));
        }
        flags.express = v == "EXPRESS";
      }
    } else if (!arg.empty() && arg[0] != '-' && flags.definition_path.empty()) {
      flags.definition_path = arg;
    } else {
      return Usage(absl::StrCat("unexpected argument '", arg, "'"));
    }
  }
  if (flags.definition_path.empty()) {
    return Usage("missing DEF.json");
  }
  if (flags.mock_config_path.empty() != flags.test_case.empty()) {
    return Usage("--mock-config and --test-case go together");
  }
  return std::nullopt;
}

json::object ResultLine(const engine::LocalRunResult& run) {
  json::object result;
  result["status"] = sm::ExecutionStatusName(run.status);
  if (run.status == sm::ExecutionStatus::kSucceeded) {
    result["output"] = *run.output;
  } else {
    result["error"] = run.error.empty() ? json::value(nullptr) : json::value(run.error);
    result["cause"] = run.cause.empty() ? json::value(nullptr) : json::value(run.cause);
  }
  return result;
}

}  // namespace

int RunCommand(int argc, char** argv) {
  RunFlags flags;
  if (std::optional<int> bad = ParseFlags(argc, argv, flags)) {
    return *bad;
  }
  absl::StatusOr<std::string> text = ReadFile(flags.definition_path, kMaxDefinitionFileBytes);
  if (!text.ok()) {
    return Fail(text.status());
  }
  sm::ValidateOptions validate_options;
  validate_options.express = flags.express;
  sm::CompileResult compiled = sm::Compile(*text, validate_options);
  const std::vector<sm::Diagnostic>& problems = compiled.diagnostics;
  if (!problems.empty()) {
    for (const sm::Diagnostic& d : problems) {
      std::fprintf(stderr, "%s: %s\n", flags.definition_path.c_str(), sm::FormatDiagnostic(d).c_str());
    }
    std::fprintf(stderr, "stepflow run: %s: invalid definition (%zu problem%s)\n", flags.definition_path.c_str(),
                 problems.size(), problems.size() == 1 ? "" : "s");
    return kExitUsage;
  }
  if (!compiled.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(flags.definition_path, ": ", compiled.model_status.message())));
  }
  std::shared_ptr<const sm::StateMachine> machine = std::move(compiled.model);
  json::value input(json::object{});
  if (!flags.input_path.empty()) {
    absl::StatusOr<json::value> parsed = ReadJsonFile(flags.input_path, kMaxInputFileBytes);
    if (!parsed.ok()) {
      return Fail(parsed.status());
    }
    input = std::move(*parsed);
  }
  engine::LocalEngineOptions options;
  options.time_skip = flags.time_skip;
  options.express = flags.express;
  if (!flags.name.empty()) {
    options.state_machine_name = flags.name;
  }
  if (!flags.mock_config_path.empty()) {
    absl::StatusOr<json::value> config = ReadJsonFile(flags.mock_config_path);
    if (!config.ok()) {
      return Fail(config.status());
    }
    absl::StatusOr<engine::MockTestCase> mocks =
        engine::MockTestCase::FromConfig(*config, options.state_machine_name, flags.test_case);
    if (!mocks.ok()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(flags.mock_config_path, ": ", mocks.status().message())));
    }
    options.mocks = std::move(*mocks);
  }
  absl::StatusOr<std::unique_ptr<engine::LocalEngine>> local = engine::LocalEngine::Create(std::move(options));
  if (!local.ok()) {
    return Fail(local.status());
  }
  absl::StatusOr<std::string> id = (*local)->Run(machine, input);
  if (!id.ok()) {
    return Fail(id.status());
  }
  absl::StatusOr<engine::LocalRunResult> run = (*local)->Result(*id, flags.history);
  if (!run.ok()) {
    return Fail(run.status());
  }
  for (const json::object& event : run->history) {
    std::printf("%s\n", sm::ToAwsJson(json::value(event)).c_str());
  }
  std::printf("%s\n", sm::ToAwsJson(json::value(ResultLine(*run))).c_str());
  return run->status == sm::ExecutionStatus::kSucceeded ? kExitOk : kExitExecutionFailed;
}

}  // namespace stepflow::app
