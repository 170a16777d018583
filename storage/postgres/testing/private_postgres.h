#pragma once
// A private PostgreSQL server for tests and benchmarks: Debian's `postgresql` binaries (initdb, postgres)
// run in a fresh temp directory, listening on 127.0.0.1 on a free port only, stopped and removed by the
// destructor. PostgreSQL refuses to run as root: when the process is root, initdb and postgres run as the
// unprivileged user `nobody` (the child process drops to it with setgroups/setgid/setuid before exec, and the
// directory is chowned to it); otherwise they run as the current user. Authentication is `trust` on
// loopback, for the user `stepflow`.

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace stepflow::storage::testing {

class PrivatePostgres {
 public:
  struct Options {
    // PostgreSQL's fsync. Tests turn it off (nothing they check survives a power loss); benchmarks that
    // compare with RocksDB's synced writes keep it on. Default: false.
    bool fsync = false;
  };

  // OK when the PostgreSQL server binaries are found (initdb and postgres in $STEPFLOW_POSTGRES_BIN_DIR when
  // set, else Debian's /usr/lib/postgresql/N/bin, the newest N); NotFound saying what is missing otherwise.
  static absl::Status Available();

  // initdb + postgres, and waits until it accepts connections (at most 60 s). The server gets SIGKILL when
  // the thread that started it exits (PR_SET_PDEATHSIG follows the forking thread): start it from a thread
  // that outlives it, e.g. the test's main thread. NotFound when PostgreSQL is not
  // installed (see Available); Internal with the server's log when it does not start.
  static absl::StatusOr<std::unique_ptr<PrivatePostgres>> Start(const Options& options);
  static absl::StatusOr<std::unique_ptr<PrivatePostgres>> Start() { return Start(Options()); }
  ~PrivatePostgres();

  // Creates a new, empty database and returns its libpq conninfo ("host=127.0.0.1 port=P user=stepflow
  // dbname=D").
  absl::StatusOr<std::string> CreateDatabase();
  // Runs `sql` (one or more statements, no parameters) on the database `conninfo` names: for tests that
  // set up or inspect rows behind a store's back.
  static absl::Status Execute(const std::string& conninfo, const std::string& sql);
  // libpq URI of database `db` ("postgresql://stepflow@127.0.0.1:P/db").
  std::string Url(const std::string& db) const;

  // Stops the server (fast shutdown) and starts it again on the same port and directory, as a database
  // restart under load. Connections are cut.
  absl::Status Restart();
  // Restart in two halves, for an outage of some length: Shutdown stops the server (fast shutdown, connections
  // cut); Resume starts it again on the same port and directory (from a thread that outlives it, as Start).
  void Shutdown() { Stop(); }
  absl::Status Resume() { return Launch(); }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // The server's log so far.
  std::string log() const;

 private:
  PrivatePostgres() = default;
  absl::Status Launch();
  void Stop();

  Options options_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
};

}  // namespace stepflow::storage::testing
