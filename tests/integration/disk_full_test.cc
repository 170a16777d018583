// A full disk (a 220 MB tmpfs mounted on the data directory; skipped where mounting is not permitted; full
// means fewer than the store's 128 MiB reserve free, storage::StoreOptions::min_free_bytes_to_write): writes
// are refused with RESOURCE_EXHAUSTED "disk full" while reads keep working, the server writes again by
// itself once space returns (the tmpfs grows), and a server killed while the disk is full starts on the full
// disk, serves reads, and loses or duplicates nothing.

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"

namespace stepflow::itest {
namespace {

class DiskFullTest : public ServerFixture {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(data_dir());
    if (::mount("tmpfs", data_dir().c_str(), "tmpfs", 0, "size=220m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs for the disk-full test (needs root or CAP_SYS_ADMIN): "
                   << std::strerror(errno);
    }
    mounted_ = true;
    StartServer();
  }
  void TearDown() override {
    ServerFixture::TearDown();
    if (mounted_) {
      ::umount2(data_dir().c_str(), MNT_DETACH);
    }
  }
  // Space returns: the tmpfs grows (its files stay).
  void GrowDisk() { ASSERT_EQ(::mount("tmpfs", data_dir().c_str(), "tmpfs", MS_REMOUNT, "size=600m"), 0) << errno; }

  // The store may win space back by itself once refused (a flush turns up to 32 MiB of write-ahead log into
  // zstd-compressed tables and deletes the log), which would let the next write through. A filler file
  // leaves 64 MiB free: under the 128 MiB reserve whatever the store reclaims, and room for its own flushes.
  void KeepFull() {
    struct statvfs fs {};
    ASSERT_EQ(::statvfs(data_dir().c_str(), &fs), 0) << errno;
    const std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    constexpr std::uint64_t kLeaveFree = 64ull << 20;
    if (free_bytes <= kLeaveFree) {
      return;
    }
    std::ofstream filler(data_dir() + "/filler.bin", std::ios::binary);
    const std::string chunk(1 << 20, 'f');
    for (std::uint64_t left = free_bytes - kLeaveFree; left > 0 && filler;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
      filler.write(chunk.data(), static_cast<std::streamsize>(n));
      left -= n;
    }
    ASSERT_TRUE(filler.good()) << "could not write the filler file";
  }

  // Starts executions with ~200 KB inputs until the disk is full; returns the ARNs of those that started.
  // The refused one is `refused_name_`.
  std::vector<std::string> FillDisk() {
    const std::string input = R"({"pad":")" + std::string(200'000, 'x') + R"("})";
    std::vector<std::string> started;
    for (int i = 0; i < 500; ++i) {
      const std::string name = "fill-" + std::to_string(i);
      absl::StatusOr<v1::Execution> e = client().StartExecution("P", input, name);
      if (!e.ok()) {
        EXPECT_TRUE(absl::IsResourceExhausted(e.status())) << e.status();
        EXPECT_NE(e.status().message().find("disk full"), std::string::npos) << e.status();
        refused_name_ = name;
        KeepFull();
        return started;
      }
      started.push_back(e->arn());
    }
    ADD_FAILURE() << "the disk never filled";
    return started;
  }
  void ExpectReadable(const std::vector<std::string>& arns) {
    for (const std::string& arn : arns) {
      absl::StatusOr<v1::Execution> e = client().DescribeExecution(arn);
      ASSERT_TRUE(e.ok()) << e.status();
      EXPECT_EQ(e->status(), v1::SUCCEEDED) << arn;
      absl::StatusOr<std::vector<v1::HistoryEvent>> history = client().GetExecutionHistory(arn);
      ASSERT_TRUE(history.ok()) << history.status();
      EXPECT_EQ(history->size(), 4u) << arn;  // started, entered, exited, succeeded: once each
    }
  }
  void ExpectWriteRefused(const std::string& name) {
    absl::StatusOr<v1::Execution> e = client().StartExecution("P", "{}", name);
    ASSERT_FALSE(e.ok());
    EXPECT_TRUE(absl::IsResourceExhausted(e.status())) << e.status();
    EXPECT_NE(e.status().message().find("disk full"), std::string::npos) << e.status();
  }

  bool mounted_ = false;
  std::string refused_name_;
};

constexpr char kPass[] = R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})";

TEST_F(DiskFullTest, WritesAreRefusedReadsServedAndWritesComeBackWithTheSpace) {
  Create("P", kPass);
  const std::vector<std::string> started = FillDisk();
  ASSERT_FALSE(started.empty());
  ExpectWriteRefused("while-full");
  ExpectReadable(started);
  absl::StatusOr<std::vector<v1::Execution>> listed = client().ListAllExecutions(v1::ListExecutionsRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();

  GrowDisk();
  // No restart: the next write makes the store writable again.
  absl::StatusOr<v1::Execution> after = client().StartExecution("P", "{}", "after-space-returned");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(WaitForEnd(after->arn()).status(), v1::SUCCEEDED);
  ExpectReadable(started);
}

TEST_F(DiskFullTest, AServerKilledOnAFullDiskStartsOnItServesReadsAndLosesNothing) {
  Create("P", kPass);
  const std::vector<std::string> started = FillDisk();
  ASSERT_FALSE(started.empty());
  StopServer(SIGKILL);

  StartServer();  // on the full disk: opens (read-only) and serves reads
  ExpectReadable(started);
  ExpectWriteRefused("after-restart");
  absl::StatusOr<std::vector<v1::Execution>> listed = client().ListAllExecutions(v1::ListExecutionsRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();
  // Each acknowledged start once; the refused one at most once (a failed commit is of unknown outcome).
  std::size_t refused_seen = 0;
  for (const v1::Execution& e : *listed) {
    refused_seen += e.name() == refused_name_ ? 1 : 0;
  }
  EXPECT_LE(refused_seen, 1u);
  EXPECT_EQ(listed->size(), started.size() + refused_seen);

  GrowDisk();
  absl::StatusOr<v1::Execution> after = client().StartExecution("P", "{}", "after-space-returned");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(WaitForEnd(after->arn()).status(), v1::SUCCEEDED);
  ExpectReadable(started);
}

// --min-free-disk raises the reserve: with one larger than any disk (1 PiB), a store that exists opens
// read-only, serves reads and refuses writes with the same DiskFull; with the default again it writes. No tmpfs
// needed, so this runs wherever the server does.
using DiskReserveTest = ServerFixture;

TEST_F(DiskReserveTest, AReserveAboveTheFreeSpaceRefusesWritesAndServesReads) {
  Create("P", kPass);
  absl::StatusOr<v1::Execution> before = client().StartExecution("P", "{}", "before");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(WaitForEnd(before->arn()).status(), v1::SUCCEEDED);
  StopServer();

  StartServer({"--min-free-disk", "1073741824"});
  absl::StatusOr<v1::Execution> read = client().DescribeExecution(before->arn());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->status(), v1::SUCCEEDED);
  absl::StatusOr<v1::Execution> refused = client().StartExecution("P", "{}", "refused");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("disk full"), std::string::npos) << refused.status();
  StopServer();

  StartServer();
  absl::StatusOr<v1::Execution> after = client().StartExecution("P", "{}", "after");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(WaitForEnd(after->arn()).status(), v1::SUCCEEDED);
}

}  // namespace
}  // namespace stepflow::itest
