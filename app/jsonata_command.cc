// `stepflow jsonata 'EXPR' | --file EXPR_FILE [--input DATA.json] [--bindings BINDINGS.json]`: evaluates one
// JSONata expression, like jq for JSONata. The last stdout line is {"result": ...}, {"undefined": true} or
// {"error": "CODE", "message": "..."} (exit 0 / 0 / 1); bad flags or unreadable files exit 2.

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "app/commands.h"
#include "statemachine/json_parse.h"
#include "statemachine/jsonata/jsonata.h"

namespace stepflow::app {
namespace {

// Input documents may nest deeper than execution input (the evaluator bounds its own recursion).
constexpr std::size_t kMaxJsonataInputDepth = 1000;

absl::StatusOr<boost::json::value> ReadJsonataJson(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path, kMaxOtherFileBytes);
  if (!text.ok()) {
    return text.status();
  }
  sm::JsonParseOptions options;
  options.max_depth = kMaxJsonataInputDepth;
  return sm::ParseJson(*text, path, options);
}

int PrintError(const sm::jsonata::JsonataError& error) {
  boost::json::object line;
  line["error"] = error.code;
  line["message"] = error.message;
  if (error.position >= 0) {
    line["position"] = error.position;
  }
  std::printf("%s\n", sm::jsonata::ToJsonText(line).c_str());
  return kExitExecutionFailed;
}

int Usage(const std::string& why) {
  std::fprintf(stderr, "stepflow jsonata: %s\nusage: stepflow jsonata 'EXPR' | --file EXPR_FILE [--input DATA.json] "
               "[--bindings BINDINGS.json]\n", why.c_str());
  return kExitUsage;
}

}  // namespace

int JsonataCommand(int argc, char** argv) {
  std::string expression;
  bool have_expression = false;
  std::string input_path;
  std::string bindings_path;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--file" || arg == "--input" || arg == "--bindings") && i + 1 < argc) {
      std::string value = argv[++i];
      if (arg == "--file") {
        if (have_expression) {
          return Usage("give the expression once");
        }
        absl::StatusOr<std::string> text = ReadFile(value, sm::jsonata::kMaxExpressionBytes);
        if (!text.ok()) {
          return Usage(std::string(text.status().message()));
        }
        expression = *std::move(text);
        have_expression = true;
      } else if (arg == "--input") {
        input_path = value;
      } else {
        bindings_path = value;
      }
    } else if (!have_expression && (arg.empty() || arg[0] != '-' || arg == "-")) {
      expression = arg;
      have_expression = true;
    } else {
      return Usage("unexpected argument '" + arg + "'");
    }
  }
  if (!have_expression) {
    return Usage("missing EXPR");
  }
  std::optional<boost::json::value> input;
  if (!input_path.empty()) {
    absl::StatusOr<boost::json::value> parsed = ReadJsonataJson(input_path);
    if (!parsed.ok()) {
      return Usage(std::string(parsed.status().message()));
    }
    input = *std::move(parsed);
  }
  std::map<std::string, boost::json::value> bindings;
  if (!bindings_path.empty()) {
    absl::StatusOr<boost::json::value> parsed = ReadJsonataJson(bindings_path);
    if (!parsed.ok()) {
      return Usage(std::string(parsed.status().message()));
    }
    if (!parsed->is_object()) {
      return Usage(bindings_path + ": bindings must be a JSON object of name -> value");
    }
    for (const auto& kv : parsed->get_object()) {
      bindings[std::string(kv.key())] = kv.value();
    }
  }
  sm::jsonata::CompileResult compiled = sm::jsonata::Compile(expression);
  if (compiled.error) {
    return PrintError(*compiled.error);
  }
  sm::jsonata::EvaluationEnvironment environment;
  environment.now_millis = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   std::chrono::system_clock::now().time_since_epoch())
                                                   .count());
  std::mt19937_64 generator{std::random_device{}()};
  environment.random = [&generator] { return std::uniform_real_distribution<double>(0.0, 1.0)(generator); };
  sm::jsonata::EvaluationResult result = sm::jsonata::Evaluate(
      *compiled.expression, input ? &*input : nullptr, bindings, environment);
  if (result.error) {
    return PrintError(*result.error);
  }
  if (!result.value) {
    std::printf("{\"undefined\":true}\n");
    return kExitOk;
  }
  boost::json::object line;
  line["result"] = *result.value;
  std::printf("%s\n", sm::jsonata::ToJsonText(line).c_str());
  return kExitOk;
}

}  // namespace stepflow::app
