#pragma once
// `stepflow server`: opens the durable engine, serves the gRPC API, the REST API and the console until SIGTERM or SIGINT, shuts down
// gracefully. Settings: app/server_config.h.

namespace stepflow::app {

// argv holds the arguments after "server". Returns the process exit status: 0 after a graceful shutdown,
// 1 when the server cannot start (store locked or unreadable, address in use), 2 for bad settings.
int ServerCommand(int argc, char** argv);

}  // namespace stepflow::app
