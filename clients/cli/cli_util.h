#pragma once
// Small helpers shared by the CLI's commands: reading files and JSON with one-line errors.

#include <cstddef>
#include <string>

#include <boost/json.hpp>

#include "absl/status/statusor.h"

namespace stepflow::cli {

// Size bounds of the files the CLI reads (README "Limits on requests"): a definition as the server's
// (EngineOptions::max_definition_bytes), an execution or task input as AWS's payload limit, anything else
// (mock configs) 8 MiB.
inline constexpr std::size_t kMaxDefinitionFileBytes = 1 << 20;
inline constexpr std::size_t kMaxInputFileBytes = 256 * 1024;
inline constexpr std::size_t kMaxOtherFileBytes = 8 << 20;

// The whole file, at most `max_bytes`. InvalidArgument naming the file when it cannot be read, is a
// directory, a device or a socket (a pipe is fine), or is larger than `max_bytes`.
absl::StatusOr<std::string> ReadFile(const std::string& path, std::size_t max_bytes = kMaxOtherFileBytes);

// Parses `text` (from `path`, for messages) with sm::ParseJson. InvalidArgument "PATH: invalid JSON at line L,
// column C (offset N): why", or "PATH: number 1e400 at line L, ... is outside the range of a double".
absl::StatusOr<boost::json::value> ParseJson(const std::string& text, const std::string& path);

// Reads (at most `max_bytes`) and parses a JSON file.
absl::StatusOr<boost::json::value> ReadJsonFile(const std::string& path, std::size_t max_bytes = kMaxOtherFileBytes);

// Exit codes of the stepflow CLI.
inline constexpr int kExitOk = 0;
inline constexpr int kExitExecutionFailed = 1;  // the run finished, but not SUCCEEDED; or validate found problems
inline constexpr int kExitUsage = 2;            // bad flags, unreadable or malformed input

}  // namespace stepflow::cli
