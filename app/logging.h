#pragma once
// Logging of `stepflow server`: spdlog's default logger, on stderr, as text or as JSON lines.
//
// Messages are written as "what happened key=value key=value" (every line about an execution carries
// execution=ARN). In JSON, each line is one object: {"time":"...","level":"info","msg":"...", plus every
// key=value token of the message as a string field}, so that `jq 'select(.execution == "...")'` works.

#include <string>

#include "app/server_config.h"

namespace stepflow::app {

// Installs the default logger (stderr, `format`, `level`: debug, info, warn or error).
void SetUpLogging(LogFormat format, const std::string& level);

// The JSON line for one message, without the newline (exposed for tests). `time_ms`: epoch milliseconds.
std::string FormatJsonLogLine(long long time_ms, const std::string& level, const std::string& logger,
                              const std::string& message);

}  // namespace stepflow::app
