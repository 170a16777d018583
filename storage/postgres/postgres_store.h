#pragma once
// The Store on PostgreSQL (issue 14): the same columns, keys and values as the RocksDB store, kept in one
// table of a PostgreSQL database (or one that speaks its protocol: CockroachDB, YugabyteDB) through libpq.
// The schema, the SQL and what it relies on are in storage/FORMAT.md ("PostgreSQL store"). libpq types stay
// in postgres_store.cc.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace stepflow::storage {

struct PostgresStoreOptions {
  // libpq connection string: a URI ("postgresql://user@host:port/db?sslmode=...") or "key=value ..."
  // words (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING). Required.
  std::string conninfo;
  // Acknowledge a commit only once the database has flushed its WAL (PostgreSQL's synchronous_commit=on).
  // false sets synchronous_commit=off on the store's sessions: a crash of the database may lose the last
  // commits, never tear one. Default: true.
  bool sync_writes = true;
  // Most connections the store holds open at once; callers beyond it wait for one. Default: 16.
  int max_connections = 16;
};

// A partition lease as the database holds it (table stepflow_partition_leases, FORMAT.md).
struct PartitionLease {
  std::uint32_t partition = 0;
  std::string owner;
  std::uint64_t epoch = 0;  // raised by every change of owner; commits carry it (LeaseFence)
};

// A node of a cluster as the database holds it (table stepflow_nodes, FORMAT.md): its heartbeat row.
struct NodeRow {
  std::string node_id;
  std::string address;  // the node's advertised API address (host:port, gRPC)
  std::int64_t expires_in_ms = 0;  // from the database's now; <= 0: the node is no longer live
};

// A partition lease with its time left, as ListLeases reads it.
struct LeaseRow {
  PartitionLease lease;
  std::int64_t expires_in_ms = 0;  // from the database's now; <= 0: expired (free to take)
};

// The PostgreSQL store. Thread-safe as every Store. Commit runs one transaction per batch; Scan reads its
// whole range from one snapshot (a REPEATABLE READ transaction), paging through it in bounded chunks.
class PostgresStore : public Store {
 public:
  // The partition-lease primitives part 3 (nodes) builds on. Every change of owner raises the epoch, so a
  // commit fenced with the previous owner's epoch is refused (LeaseFence). Time is the database's clock
  // (now()), so nodes' clocks need not agree.
  //
  // Takes `partition` for `owner` when it is free, expired, or already `owner`'s; for `ttl`. Returns the
  // lease (epoch raised unless `owner` held it unexpired already), or FailedPrecondition ("partition P is
  // leased to OTHER until ...") when another owner holds it unexpired.
  virtual absl::StatusOr<PartitionLease> AcquireLease(std::uint32_t partition, std::string_view owner,
                                                      std::chrono::milliseconds ttl) = 0;
  // Extends `lease` by `ttl` from now; FailedPrecondition ("lease lost: ...") when the partition's epoch or
  // owner is no longer `lease`'s.
  virtual absl::Status RenewLease(const PartitionLease& lease, std::chrono::milliseconds ttl) = 0;
  // Expires `lease` at once so that another node may take the partition; a no-op when it is no longer held.
  virtual absl::Status ReleaseLease(const PartitionLease& lease) = 0;
  // Every lease row, by partition.
  virtual absl::StatusOr<std::vector<LeaseRow>> ListLeases() = 0;

  // Cluster membership (engine/cluster/): a node's heartbeat row, kept live for `ttl` from now.
  virtual absl::Status Heartbeat(std::string_view node_id, std::string_view address,
                                 std::chrono::milliseconds ttl) = 0;
  // Removes the node's row (a node that shuts down cleanly); a no-op when it has none.
  virtual absl::Status RemoveNode(std::string_view node_id) = 0;
  // Every node row, live or not, by node id.
  virtual absl::StatusOr<std::vector<NodeRow>> ListNodes() = 0;

  // Writes `value` at (column, key) unless the key holds a value already, and returns the value it holds
  // after: `value`, or the one written first by another node. One transaction (FORMAT.md, "Statements"), so
  // that nodes opening a new database together agree on its server-wide settings. Errors as Commit's.
  virtual absl::StatusOr<std::string> PutIfAbsent(Column column, std::string_view key, std::string value) = 0;
};

// PutIfAbsent on any store: PostgresStore::PutIfAbsent on a PostgreSQL store; on a store one process owns
// (RocksDB, in memory), Get then Commit, one call of the process at a time. The first open's meta rows (the
// task token key, the logical partition count) are written through it.
absl::StatusOr<std::string> PutIfAbsent(Store& store, Column column, std::string_view key, std::string value);

// Connects, creates or migrates the schema (FORMAT.md) and returns the store. InvalidArgument for an
// unparsable conninfo; Unavailable when the database cannot be reached; FailedPrecondition when the schema
// was written by a newer release. Messages name the host, port and database, never a password.
absl::StatusOr<std::unique_ptr<PostgresStore>> OpenPostgresStore(const PostgresStoreOptions& options);

// The schema version this release writes (stepflow_schema, FORMAT.md).
inline constexpr int kPostgresSchemaVersion = 2;

}  // namespace stepflow::storage
