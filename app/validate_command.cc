#include <cstdio>
#include <string>
#include <vector>

#include "app/commands.h"
#include "statemachine/compile.h"
#include "statemachine/validator.h"

namespace stepflow::app {

int ValidateCommand(int argc, char** argv) {
  std::string path;
  sm::ValidateOptions options;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--type" && i + 1 < argc) {
      std::string type = argv[++i];
      if (type != "STANDARD" && type != "EXPRESS") {
        std::fprintf(stderr, "stepflow validate: --type must be STANDARD or EXPRESS, not '%s'\n", type.c_str());
        return kExitUsage;
      }
      options.express = type == "EXPRESS";
    } else if (!arg.empty() && arg[0] != '-' && path.empty()) {
      path = arg;
    } else {
      std::fprintf(stderr, "stepflow validate: unexpected argument '%s'\n", arg.c_str());
      return kExitUsage;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "stepflow validate: missing DEF.json\n");
    return kExitUsage;
  }
  absl::StatusOr<std::string> text = ReadFile(path, kMaxDefinitionFileBytes);
  if (!text.ok()) {
    std::fprintf(stderr, "stepflow validate: %s\n", std::string(text.status().message()).c_str());
    return kExitUsage;
  }
  // Compile reports the validator's diagnostics; a definition without any is valid, as AWS says, even if
  // this release could not build its model (then `run` and Create say why).
  const std::vector<sm::Diagnostic> problems = sm::Compile(*text, options).diagnostics;
  if (problems.empty()) {
    std::printf("%s: valid\n", path.c_str());
    return kExitOk;
  }
  for (const sm::Diagnostic& d : problems) {
    std::printf("%s: %s\n", path.c_str(), sm::FormatDiagnostic(d).c_str());
  }
  std::fprintf(stderr, "stepflow validate: %s: %zu problem%s\n", path.c_str(), problems.size(),
               problems.size() == 1 ? "" : "s");
  return kExitExecutionFailed;
}

}  // namespace stepflow::app
