// Recovery time of one execution with a long input log, with and without snapshots (issue 14, part 1).
//
// The execution waits in a Task state with HeartbeatSeconds while its worker heartbeats: every heartbeat is an
// input (a commit and an input row) without a history event, so the log grows without bound. The benchmark
// writes INPUTS inputs on the durable engine (RocksDB in a temp directory, durability=async: the figures are
// for reads), closes it, and then times, REPEAT times each:
//   - load: engine::LoadExecution of that execution alone (read the record, the snapshot when used, the
//     inputs, replay, verify the history), the work recovery does per execution;
//   - open: Engine::Open of the whole store until every running execution is recovered;
// and prints how long writing the inputs took (engine open, start, INPUTS heartbeat commits), which shows
// what writing the snapshots costs.
// once with snapshots every SNAPSHOT_EVERY inputs and once with snapshots off (the log replayed whole).
//
// Usage: snapshot_recovery_bench [INPUTS=10000] [REPEAT=5] [SNAPSHOT_EVERY=100]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/replay.h"
#include "engine/snapshots.h"
#include "engine/task_tokens.h"
#include "statemachine/compile.h"
#include "storage/store.h"

namespace {

using namespace stepflow;
using Clock = std::chrono::steady_clock;

constexpr char kDefinition[] = R"({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:::activity:beat","HeartbeatSeconds":3600,"End":true}}})";

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

engine::EngineOptions Options(const std::string& dir, std::int64_t every) {
  engine::EngineOptions o;
  o.data_dir = dir;
  o.sync_writes = false;
  o.partitions = 1;
  o.snapshot_every_inputs = every;
  return o;
}

// Writes one execution with `inputs` inputs; returns its ARN.
std::string Populate(const std::string& dir, std::int64_t every, int inputs) {
  auto engine = engine::Engine::Open(Options(dir, every));
  if (!engine.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(engine.status().message()).c_str());
    std::exit(1);
  }
  (void)(*engine)->CreateStateMachine("Beat", kDefinition, false);
  auto e = (*engine)->StartExecution("Beat", "long", "{}");
  auto task = (*engine)->PollTask("beat", "w", common::SystemClock().NowMillis() + 10'000);
  if (!e.ok() || !task.ok() || !task->has_value()) {
    std::fprintf(stderr, "start or poll failed\n");
    std::exit(1);
  }
  for (int i = 2; i < inputs; ++i) {  // the start and TaskStarted are inputs 0 and 1
    auto beat = (*engine)->HeartbeatTask((*task)->token);
    if (!beat.ok()) {
      std::fprintf(stderr, "heartbeat: %s\n", std::string(beat.status().message()).c_str());
      std::exit(1);
    }
  }
  return e->arn;
}

void Measure(const char* label, std::int64_t every, int inputs, int repeat) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("stepflow_snapshot_bench_" + std::to_string(every))).string();
  std::filesystem::remove_all(dir);
  auto w0 = Clock::now();
  const std::string arn = Populate(dir, every, inputs);
  const double write_ms = Ms(Clock::now() - w0);
  std::vector<double> load;
  {
    storage::StoreOptions so;
    so.path = dir;
    auto store = storage::OpenRocksDbStore(so);
    auto tokens = engine::TaskTokens::LoadOrCreate(**store);
    const std::string key = every > 0 ? tokens->DeriveKey(engine::kSnapshotKeyPurpose) : "";
    auto machine = sm::Compile(kDefinition).model;
    engine::MachineLookup machines = [&](const std::string&, std::int64_t) -> absl::StatusOr<std::shared_ptr<const sm::StateMachine>> {
      return machine;
    };
    for (int r = 0; r < repeat; ++r) {
      auto t0 = Clock::now();
      auto replayed = engine::LoadExecution(**store, arn, machines, &*tokens, key);
      load.push_back(Ms(Clock::now() - t0));
      if (!replayed.ok() || replayed->inputs != inputs) {
        std::fprintf(stderr, "load failed\n");
        std::exit(1);
      }
    }
  }
  std::vector<double> open;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = Clock::now();
    auto engine = engine::Engine::Open(Options(dir, every));
    open.push_back(Ms(Clock::now() - t0));
    if (!engine.ok()) {
      std::exit(1);
    }
  }
  std::printf("%-22s inputs=%d  write %.0f ms  load ms median %.2f [%.2f-%.2f]  open ms median %.1f [%.1f-%.1f]\n",
              label, inputs, write_ms, Median(load), *std::min_element(load.begin(), load.end()), *std::max_element(load.begin(), load.end()),
              Median(open), *std::min_element(open.begin(), open.end()), *std::max_element(open.begin(), open.end()));
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  const int inputs = argc > 1 ? std::atoi(argv[1]) : 10'000;
  const int repeat = argc > 2 ? std::atoi(argv[2]) : 5;
  const int every = argc > 3 ? std::atoi(argv[3]) : static_cast<int>(engine::kDefaultSnapshotEveryInputs);
  std::printf("durability=async (the figures are for recovery reads), 1 partition thread\n");
  Measure("without snapshots", 0, inputs, repeat);
  Measure(("snapshot every " + std::to_string(every)).c_str(), every, inputs, repeat);
  return 0;
}
