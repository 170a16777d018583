#pragma once
// The server's default count of writer threads (partitions), in one place for the engine and the benchmarks
// that name it in their figures.

#include <algorithm>
#include <thread>

namespace stepflow::common {

// Writer threads when none are asked for (`--partitions 0`): one per two cores, at least one. Every writer's
// commits go through the one RocksDB log, and each writer syncs its own group: on 2 cores a second writer
// doubled the log's syncs and cost more than its interpreter gave back on every served workload; it helped
// only a restart's replay (docs/performance.md, "One writer thread per two cores").
inline int DefaultWriterThreads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency() / 2));
}

}  // namespace stepflow::common
