// `stepflow cluster status --store postgres:URL`: the nodes sharing a PostgreSQL store and the partitions they
// hold, read from the database's node and lease tables (storage/FORMAT.md), so that it works with any node
// down. Prints one JSON object:
//   {"nodes":[{"nodeId","address","live","expiresInMs","partitions":[...]}],
//    "partitions":[{"partition","owner","epoch","live","expiresInMs"}], "unowned":[...]}
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "app/commands.h"
#include "storage/postgres/postgres_store.h"

namespace stepflow::app {
namespace {

constexpr char kClusterUsage[] =
    "usage: stepflow cluster status --store postgres:URL\n"
    "  Prints the nodes sharing the PostgreSQL store (live: heartbeat not expired), the partitions each holds\n"
    "  with its lease epoch and expiry, and the partitions nobody holds now, as one JSON object.\n";

// The libpq connection string of `--store postgres:URL` (or a bare postgres:// URI); "" when not one.
std::string ConninfoOf(const std::string& store) {
  if (store.rfind("postgres://", 0) == 0 || store.rfind("postgresql://", 0) == 0) {
    return store;
  }
  if (store.rfind("postgres:", 0) == 0) {
    return store.substr(9);
  }
  return "";
}

}  // namespace

int ClusterCommand(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::string store;
  if (args.size() == 3 && args[0] == "status" && args[1] == "--store") {
    store = args[2];
  }
  const std::string conninfo = ConninfoOf(store);
  if (conninfo.empty()) {
    std::fputs(kClusterUsage, stderr);
    return kExitUsage;
  }
  storage::PostgresStoreOptions options;
  options.conninfo = conninfo;
  options.max_connections = 1;
  auto pg = storage::OpenPostgresStore(options);
  absl::StatusOr<std::vector<storage::NodeRow>> nodes =
      pg.ok() ? (*pg)->ListNodes() : absl::StatusOr<std::vector<storage::NodeRow>>(pg.status());
  absl::StatusOr<std::vector<storage::LeaseRow>> leases =
      nodes.ok() ? (*pg)->ListLeases() : absl::StatusOr<std::vector<storage::LeaseRow>>(nodes.status());
  if (!leases.ok()) {
    std::fprintf(stderr, "stepflow cluster: %s\n", std::string(leases.status().message()).c_str());
    return 1;
  }
  std::map<std::string, boost::json::array> held;  // live leases by owner
  boost::json::array partitions;
  for (const storage::LeaseRow& l : *leases) {
    const bool live = l.expires_in_ms > 0;
    partitions.push_back(boost::json::object{{"partition", l.lease.partition},
                                             {"owner", l.lease.owner},
                                             {"epoch", l.lease.epoch},
                                             {"live", live},
                                             {"expiresInMs", l.expires_in_ms}});
    if (live) {
      held[l.lease.owner].push_back(l.lease.partition);
    }
  }
  boost::json::array node_list;
  for (const storage::NodeRow& n : *nodes) {
    node_list.push_back(boost::json::object{{"nodeId", n.node_id},
                                            {"address", n.address},
                                            {"live", n.expires_in_ms > 0},
                                            {"expiresInMs", n.expires_in_ms},
                                            {"partitions", held[n.node_id]}});
  }
  std::printf("%s\n",
              boost::json::serialize(boost::json::object{{"nodes", node_list}, {"partitions", partitions}}).c_str());
  return kExitOk;
}

}  // namespace stepflow::app
