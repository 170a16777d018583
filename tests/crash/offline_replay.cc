#include "tests/crash/offline_replay.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "engine/definitions.h"
#include "engine/execution_record.h"
#include "engine/replay.h"
#include "storage/postgres/postgres_store.h"
#include "storage/store.h"

namespace stepflow::crash {
namespace {

// The server's store, opened for reading (nothing is written: no sync).
absl::StatusOr<std::unique_ptr<storage::Store>> OpenStore(const std::string& data_dir,
                                                          const std::string& postgres_conninfo) {
  if (!postgres_conninfo.empty()) {
    storage::PostgresStoreOptions options;
    options.conninfo = postgres_conninfo;
    options.sync_writes = false;
    absl::StatusOr<std::unique_ptr<storage::PostgresStore>> store = storage::OpenPostgresStore(options);
    if (!store.ok()) {
      return store.status();
    }
    return std::unique_ptr<storage::Store>(std::move(*store));
  }
  storage::StoreOptions options;
  options.path = data_dir;
  options.sync_writes = false;
  return storage::OpenRocksDbStore(options);
}

}  // namespace

OfflineReplayResult ReplayAll(const std::string& data_dir, const std::string& postgres_conninfo,
                              const std::vector<ReplayExpectation>& executions) {
  OfflineReplayResult result;
  absl::StatusOr<std::unique_ptr<storage::Store>> store = OpenStore(data_dir, postgres_conninfo);
  if (!store.ok()) {
    result.problems.push_back(absl::StrCat("cannot open the store: ", store.status().ToString()));
    return result;
  }
  common::SystemClock clock;
  engine::DefinitionStore definitions(store->get(), &clock, 1 << 20);
  engine::MachineLookup machines = [&](const std::string& name, std::int64_t version) {
    return definitions.Machine(name, version);
  };
  for (const ReplayExpectation& want : executions) {
    absl::StatusOr<std::optional<std::string>> value = (*store)->Get(storage::Column::kExecutions, want.arn);
    if (!value.ok() || !value->has_value()) {
      result.problems.push_back(absl::StrCat(want.arn, ": no execution record"));
      continue;
    }
    absl::StatusOr<engine::StoredExecution> stored = engine::DecodeExecutionRecord(**value);
    if (!stored.ok()) {
      result.problems.push_back(absl::StrCat(want.arn, ": ", stored.status().ToString()));
      continue;
    }
    // LoadExecution = read the input log, replay it, VerifyReplay (status and last event id).
    absl::StatusOr<engine::ReplayedExecution> replayed = engine::LoadExecution(**store, want.arn, machines);
    if (!replayed.ok()) {
      result.problems.push_back(absl::StrCat(want.arn, ": ", replayed.status().ToString()));
      continue;
    }
    const sm::Execution& e = *replayed->execution;
    engine::ExecutionInfoRecord again =
        engine::MakeExecutionInfoRecord(replayed->info, replayed->meta, e, stored->record.stop);
    std::string problem;
    if (e.last_event_id() != want.history_events) {
      problem = absl::StrCat("replayed to event ", e.last_event_id(), " but GetHistory returned ",
                             want.history_events, " events");
    } else if (again.status != stored->record.status) {
      problem = absl::StrCat("replayed status ", sm::ExecutionStatusName(again.status), " != stored ",
                             sm::ExecutionStatusName(stored->record.status));
    } else if (again.output != stored->record.output) {
      problem = absl::StrCat("replayed output ", again.output, " != stored ", stored->record.output);
    } else if (again.error != stored->record.error || again.cause != stored->record.cause) {
      problem = absl::StrCat("replayed error/cause ", again.error, "/", again.cause, " != stored ",
                             stored->record.error, "/", stored->record.cause);
    } else if (again.input != stored->record.input || again.start != stored->record.start) {
      problem = "replayed input or start time differs from the stored record";
    }
    if (problem.empty()) {
      ++result.replayed;
    } else {
      result.problems.push_back(absl::StrCat(want.arn, ": ", problem));
    }
  }
  return result;
}

}  // namespace stepflow::crash
