#pragma once
// Small helpers shared by the CLI's commands: reading files and JSON with one-line errors.

#include <string>

#include <boost/json.hpp>

#include "absl/status/statusor.h"

namespace stepflow::cli {

// The whole file. InvalidArgument naming the file when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Parses `text` (from `path`, for messages) with sm::ParseJson. InvalidArgument "PATH: invalid JSON at line L,
// column C (offset N): why", or "PATH: number 1e400 at line L, ... is outside the range of a double".
absl::StatusOr<boost::json::value> ParseJson(const std::string& text, const std::string& path);

// Reads and parses a JSON file.
absl::StatusOr<boost::json::value> ReadJsonFile(const std::string& path);

// Exit codes of the stepflow CLI.
inline constexpr int kExitOk = 0;
inline constexpr int kExitExecutionFailed = 1;  // the run finished, but not SUCCEEDED; or validate found problems
inline constexpr int kExitUsage = 2;            // bad flags, unreadable or malformed input

int RunCommand(int argc, char** argv);       // stepflow run ...
int ValidateCommand(int argc, char** argv);  // stepflow validate ...

}  // namespace stepflow::cli
