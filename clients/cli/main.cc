// stepflow: the command-line interface. `run` and `validate` work locally on the embedded engine.
#include <cstdio>
#include <cstring>
#include <string>

#include "clients/cli/cli_util.h"

namespace {

constexpr char kUsage[] =
    "usage: stepflow <command> [options]\n"
    "\n"
    "commands:\n"
    "  run DEF.json [--input INPUT.json] [--time-skip] [--type STANDARD|EXPRESS] [--history]\n"
    "               [--name STATE_MACHINE_NAME] [--mock-config MOCKS.json --test-case CASE]\n"
    "      Runs the definition to completion on the embedded engine and prints, as the last line,\n"
    "      {\"status\":\"SUCCEEDED\",\"output\":...} or {\"status\":\"FAILED\",\"error\":...,\"cause\":...}.\n"
    "  validate DEF.json [--type STANDARD|EXPRESS]\n"
    "      Checks a definition; prints every problem with its JSON-pointer location.\n"
    "  help\n"
    "\n"
    "exit status: 0 ok, 1 execution not SUCCEEDED / definition invalid, 2 bad usage or input\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? stepflow::cli::kExitUsage : stepflow::cli::kExitOk;
  }
  std::string command = argv[1];
  if (command == "run") {
    return stepflow::cli::RunCommand(argc - 2, argv + 2);
  }
  if (command == "validate") {
    return stepflow::cli::ValidateCommand(argc - 2, argv + 2);
  }
  std::fprintf(stderr, "stepflow: unknown command '%s' (try 'stepflow help')\n", command.c_str());
  return stepflow::cli::kExitUsage;
}
