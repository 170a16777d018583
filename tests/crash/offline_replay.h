#pragma once
// The crash test's replay pass: with the server stopped, opens its data directory with the engine's own
// storage code and rebuilds every listed execution from its input log (engine/replay.h: the same code the
// server runs at recovery), then compares the result with the stored execution record. The server checks
// this at start-up for RUNNING executions only; this pass covers the finished ones too, and also compares
// outputs, errors and causes.

#include <cstdint>
#include <string>
#include <vector>

namespace stepflow::crash {

struct ReplayExpectation {
  std::string arn;
  std::int64_t history_events = 0;  // what GetHistory returned: the replay's last event id must equal it
};

struct OfflineReplayResult {
  int replayed = 0;                   // executions rebuilt and equal to their record
  std::vector<std::string> problems;  // one line per execution that is not
};

// Opens the RocksDB store in `data_dir`, or the PostgreSQL store `postgres_conninfo` names when it is not
// empty.
OfflineReplayResult ReplayAll(const std::string& data_dir, const std::string& postgres_conninfo,
                              const std::vector<ReplayExpectation>& executions);

}  // namespace stepflow::crash
