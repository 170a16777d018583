#pragma once
// Shared fixture of the durable engine tests: a real RocksDB in a temp directory per test, a VirtualClock
// the test advances, and helpers to reopen the engine on the same directory and to read rows directly.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "engine/engine.h"
#include "storage/store.h"

namespace stepflow::engine::testing {

inline constexpr common::EpochMillis kT0 = 1'700'000'000'000;

inline constexpr char kPassChain[] = R"({"StartAt":"A","States":{
    "A":{"Type":"Pass","Result":{"n":1},"ResultPath":"$.a","Next":"B"},
    "B":{"Type":"Pass","Next":"C"},"C":{"Type":"Pass","End":true}}})";
inline constexpr char kWait5[] = R"({"StartAt":"W","States":{
    "W":{"Type":"Wait","Seconds":5,"Next":"Done"},"Done":{"Type":"Pass","Result":"waited","End":true}}})";
inline constexpr char kTaskForever[] = R"({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true}}})";

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) / (std::string("stepflow_engine_") + info->test_suite_name() +
                                                          "_" + info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  EngineOptions Options() {
    EngineOptions o;
    o.data_dir = (dir_ / "data").string();
    o.partitions = partitions_;
    o.sync_writes = false;
    o.clock = &clock_;
    o.max_timer_wait_ms = 1;
    o.limits = limits_;
    o.lazy_task_start = lazy_task_start_;
    o.serve_during_recovery = serve_during_recovery_;
    o.timer_slack_ms = timer_slack_ms_;
    return o;
  }
  void Open() {
    auto engine = Engine::Open(Options());
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }
  // Closes the engine and opens a new one on the same directory.
  void Reopen() {
    engine_.reset();
    Open();
  }
  // Closes the engine, lets `change` write to the store directly, and opens the engine again.
  void WithStoreClosed(const std::function<void(storage::Store&)>& change) {
    engine_.reset();
    {
      storage::StoreOptions o;
      o.path = (dir_ / "data").string();
      o.sync_writes = false;
      auto store = storage::OpenRocksDbStore(o);
      ASSERT_TRUE(store.ok()) << store.status();
      change(**store);
    }
    Open();
  }

  // Rows of `column` (the engine must be closed: RocksDB allows one opener).
  int CountRows(storage::Column column, std::string_view prefix = "") {
    storage::StoreOptions o;
    o.path = (dir_ / "data").string();
    o.sync_writes = false;
    auto store = storage::OpenRocksDbStore(o);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) {
      return -1;
    }
    int n = 0;
    EXPECT_TRUE((*store)
                    ->Scan(column, prefix, "", false,
                           [&](std::string_view, std::string_view) {
                             ++n;
                             return true;
                           })
                    .ok());
    return n;
  }

  // A deadline far enough for any wait that should succeed, on the system clock, even on a loaded
  // machine under sanitizers (it bounds a hang; it is not a timing assertion).
  static common::EpochMillis Soon() { return common::SystemClock().NowMillis() + 120'000; }

  ExecutionInfoRecord Finish(const std::string& arn) {
    absl::StatusOr<ExecutionInfoRecord> r = engine_->WaitForCompletion(arn, Soon());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(ExecutionInfoRecord{});
  }

  int partitions_ = 3;
  sm::ExecutionLimits limits_;  // the engine's execution limits (set before Open)
  bool lazy_task_start_ = false;  // EngineOptions::lazy_task_start (set before Open)
  bool serve_during_recovery_ = false;  // EngineOptions::serve_during_recovery (set before Open)
  common::EpochMillis timer_slack_ms_ = 0;  // EngineOptions::timer_slack_ms (set before Open)
  std::filesystem::path dir_;
  common::VirtualClock clock_{kT0};
  std::unique_ptr<Engine> engine_;
};

}  // namespace stepflow::engine::testing
