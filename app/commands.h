#pragma once
// The local commands of the `stepflow` program: they work on the embedded engine and the statemachine library,
// never over the API. The remote verbs (sm, exec, dlq, worker) are clients/cli's; `server` is server_command.h.

#include <string>
#include <vector>

#include "clients/cli/cli_util.h"

namespace stepflow::app {

// The file helpers and exit codes are the CLI's (clients/cli/cli_util.h), shared with the remote verbs.
using cli::kExitExecutionFailed;
using cli::kExitOk;
using cli::kExitUsage;
using cli::kMaxDefinitionFileBytes;
using cli::kMaxInputFileBytes;
using cli::kMaxOtherFileBytes;
using cli::ReadFile;
using cli::ReadJsonFile;

// Each takes the arguments after its command's name and returns the process exit status (cli_util.h).
int RunCommand(int argc, char** argv);       // stepflow run ...
int ValidateCommand(int argc, char** argv);  // stepflow validate ...
int JsonataCommand(int argc, char** argv);   // stepflow jsonata ...
int ClusterCommand(int argc, char** argv);   // stepflow cluster status --store postgres:URL
// stepflow test-state ...: local, or asks a server when --server is given (the global flags go with it).
int TestStateCommand(const std::vector<std::string>& args);

}  // namespace stepflow::app
