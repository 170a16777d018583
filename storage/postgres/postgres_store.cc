// The Store on PostgreSQL through libpq. Layout, SQL and the SQL subset relied on are written down in
// storage/FORMAT.md ("PostgreSQL store"); every statement of the store is in this file.

#include "storage/postgres/postgres_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status.h"

namespace stepflow::storage {
namespace {

// Type OIDs of the parameters the store sends (pg_type.dat; fixed since PostgreSQL 7).
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kInt8Oid = 20;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kTextOid = 25;
constexpr Oid kByteaOid = 17;

// Rows per INSERT or DELETE statement of a commit: a statement takes at most 65,535 parameters, and a
// bounded statement keeps the planner's work per statement small.
constexpr std::size_t kRowsPerStatement = 500;
// A scan reads its range in pages: small first (most scans stop early: list pages, lookups by prefix), then
// larger, up to the most rows held in memory at once.
constexpr int kFirstScanPage = 128;
constexpr int kMaxScanPage = 4096;
// Attempts of one commit when the database asks for a retry (serialization failure, deadlock) or a pooled
// connection turned out to be dead before anything was written.
constexpr int kCommitAttempts = 5;

// The migrations, in order; migration N brings the schema from version N-1 to N. Every statement is
// idempotent (IF NOT EXISTS), so that nodes starting together may run the same migration.
const std::vector<std::vector<const char*>>& Migrations() {
  static const std::vector<std::vector<const char*>> migrations = {
      // 1: the rows of every column, and the partition leases.
      {"CREATE TABLE IF NOT EXISTS stepflow_rows ("
       "column_id SMALLINT NOT NULL, k BYTEA NOT NULL, v BYTEA NOT NULL, PRIMARY KEY (column_id, k))",
       "CREATE TABLE IF NOT EXISTS stepflow_partition_leases ("
       "partition_id INT NOT NULL PRIMARY KEY, owner TEXT NOT NULL, epoch BIGINT NOT NULL, "
       "expires_at TIMESTAMPTZ NOT NULL)"},
      // 2: cluster membership, one heartbeat row per node.
      {"CREATE TABLE IF NOT EXISTS stepflow_nodes ("
       "node_id TEXT NOT NULL PRIMARY KEY, address TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)"},
  };
  return migrations;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;
struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;

// The parameters of one statement. Text values are copied; binary (bytea) values are views that must outlive
// the statement's execution.
class Params {
 public:
  Params() = default;
  // Not copyable: the value pointers point into `owned_`, whose elements keep their addresses only when the
  // deque is moved (a vector of statements that grows moves its elements only if they cannot be copied).
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;
  Params(Params&&) = default;
  Params& operator=(Params&&) = default;

  void Text(std::string value, Oid type) {
    owned_.push_back(std::move(value));
    Add(owned_.back().data(), static_cast<int>(owned_.back().size()), 0, type);
  }
  void Int(std::int64_t value, Oid type) { Text(std::to_string(value), type); }
  void Bytes(std::string_view value) {
    // A null pointer is SQL NULL: an empty value needs a non-null one.
    Add(value.empty() ? "" : value.data(), static_cast<int>(value.size()), 1, kByteaOid);
  }
  int size() const { return static_cast<int>(values_.size()); }
  // "$N" of the next parameter.
  std::string Next() const { return absl::StrCat("$", values_.size() + 1); }

  const Oid* types() const { return types_.data(); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  void Add(const char* data, int length, int format, Oid type) {
    values_.push_back(data);
    lengths_.push_back(length);
    formats_.push_back(format);
    types_.push_back(type);
  }
  std::deque<std::string> owned_;  // stable addresses
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::vector<Oid> types_;
};

// "postgres HOST:PORT/DB" of a connection: what error messages name (never the password).
std::string Where(PGconn* c) {
  const char* host = PQhost(c);
  const char* port = PQport(c);
  const char* db = PQdb(c);
  return absl::StrCat("postgres ", host != nullptr ? host : "?", ":", port != nullptr ? port : "?", "/",
                      db != nullptr ? db : "?");
}

std::string Trimmed(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

// The SQLSTATE of a failed result ("" when libpq made none, e.g. the connection broke).
std::string SqlState(const PGresult* r) {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return state != nullptr ? state : "";
}

bool IsRetryableState(std::string_view state) { return state == "40001" || state == "40P01"; }

// Maps a failed statement to a status: Unavailable for a lost or refused connection (class 08, 57P0x admin
// shutdown), ResourceExhausted for class 53 (53100 is the disk full: "disk full: ..." as the RocksDB store
// says it), Aborted for serialization failures and deadlocks (the caller may retry), Internal otherwise.
absl::Status StatementError(PGconn* c, const PGresult* r, std::string_view what) {
  const std::string state = SqlState(r);
  std::string detail = Trimmed(r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(c));
  if (detail.empty()) {
    detail = Trimmed(PQerrorMessage(c));
  }
  const std::string message =
      absl::StrCat(Where(c), ": ", std::string(what), " failed", state.empty() ? "" : absl::StrCat(" (SQLSTATE ", state, ")"),
                   ": ", detail);
  if (PQstatus(c) == CONNECTION_BAD || state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 || state.empty()) {
    return absl::UnavailableError(message);
  }
  if (state == "53100") {
    return absl::ResourceExhaustedError(absl::StrCat("disk full: the database refuses writes: ", message));
  }
  if (state.rfind("53", 0) == 0) {
    return absl::ResourceExhaustedError(message);
  }
  if (IsRetryableState(state)) {
    return absl::AbortedError(message);
  }
  return absl::InternalError(message);
}

// Runs one statement. `expect` is PGRES_COMMAND_OK or PGRES_TUPLES_OK; results come back in binary.
absl::StatusOr<Result> Exec(PGconn* c, const std::string& sql, const Params& params, ExecStatusType expect,
                            std::string_view what) {
  Result r(PQexecParams(c, sql.c_str(), params.size(), params.types(), params.values(), params.lengths(),
                        params.formats(), /*resultFormat=*/1));
  if (r == nullptr || PQresultStatus(r.get()) != expect) {
    return StatementError(c, r.get(), what);
  }
  return r;
}

absl::Status ExecCommand(PGconn* c, const std::string& sql, std::string_view what) {
  Params none;
  absl::StatusOr<Result> r = Exec(c, sql, none, PGRES_COMMAND_OK, what);
  return r.ok() ? absl::OkStatus() : r.status();
}

// One statement of a pipeline, and the SQLSTATE it failed with ("" when it did not).
struct Statement {
  Statement(std::string sql_text, std::string what_for, ExecStatusType expected = PGRES_COMMAND_OK)
      : sql(std::move(sql_text)), what(std::move(what_for)), expect(expected) {}
  std::string sql;
  Params params;
  std::string what;
  ExecStatusType expect;
  std::string sqlstate;
  Result result;  // its result, when it succeeded
};

// Sends `statements` as one pipeline ending in one Sync and reads every result. OK when every statement
// gave its expected status; else the first failure's status, with `failed_at` its index (statements after
// it were skipped by the server). The connection is back in normal mode on return, unless it broke.
absl::Status RunPipeline(PGconn* c, std::vector<Statement>& statements, std::size_t& failed_at) {
  failed_at = statements.size();
  if (PQenterPipelineMode(c) != 1) {
    failed_at = 0;
    return StatementError(c, nullptr, statements.front().what);
  }
  absl::Status status;
  std::size_t sent = 0;
  for (; sent < statements.size(); ++sent) {
    const Statement& st = statements[sent];
    if (PQsendQueryParams(c, st.sql.c_str(), st.params.size(), st.params.types(), st.params.values(),
                          st.params.lengths(), st.params.formats(), /*resultFormat=*/1) != 1) {
      break;
    }
  }
  if (sent < statements.size() || PQpipelineSync(c) != 1) {
    failed_at = 0;
    status = StatementError(c, nullptr, statements[std::min(sent, statements.size() - 1)].what);
    PQexitPipelineMode(c);
    return status;
  }
  for (std::size_t i = 0; i < statements.size(); ++i) {
    Result r(PQgetResult(c));
    if (r == nullptr) {  // the connection broke
      if (status.ok()) {
        failed_at = i;
        status = StatementError(c, nullptr, statements[i].what);
      }
      break;
    }
    const ExecStatusType got = PQresultStatus(r.get());
    if (got != statements[i].expect && got != PGRES_PIPELINE_ABORTED && status.ok()) {
      failed_at = i;
      statements[i].sqlstate = SqlState(r.get());
      status = StatementError(c, r.get(), statements[i].what);
    } else if (got == statements[i].expect) {
      statements[i].result = std::move(r);
    }
    // Each statement's results end with a null result.
    while (Result(PQgetResult(c)) != nullptr) {
    }
  }
  if (PQstatus(c) == CONNECTION_OK) {
    Result sync(PQgetResult(c));  // PGRES_PIPELINE_SYNC
    if (sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
      if (status.ok()) {
        failed_at = statements.size() - 1;
        status = StatementError(c, sync.get(), "pipeline sync");
      }
    }
    PQexitPipelineMode(c);
  }
  return status;
}

// A column of a binary result as bytes.
std::string_view Field(const PGresult* r, int row, int column) {
  return std::string_view(PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column)));
}

// A binary int8 field.
std::uint64_t Int8Field(const PGresult* r, int row, int column) {
  std::string_view f = Field(r, row, column);
  return f.size() >= 8 ? ReadUint64BigEndian(f) : 0;
}

void IgnoreNotice(void*, const char*) {}

// True when an idle connection has something to read, which an idle session never has unless the server
// ended it (a FATAL "terminating connection" message, or EOF): the connection is then unusable.
bool ClosedByServer(PGconn* c) {
  pollfd p{PQsocket(c), POLLIN, 0};
  if (p.fd < 0) {
    return true;
  }
  if (::poll(&p, 1, 0) <= 0) {
    return false;
  }
  return PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK || PQisBusy(c) != 0 ||
         PQtransactionStatus(c) != PQTRANS_IDLE;
}

// Open connections, reused across calls. A connection goes back to the pool only when it is idle outside a
// transaction; one that failed is closed, and the next call opens a fresh one (a restarted database is
// reconnected to this way).
class ConnectionPool {
 public:
  class Handle {
   public:
    Handle(ConnectionPool* pool, Conn conn, bool reused) : pool_(pool), conn_(std::move(conn)), reused_(reused) {
      ++held_by_this_thread;
    }
    Handle(Handle&& other) noexcept = default;
    Handle& operator=(Handle&&) = delete;
    ~Handle() {
      if (pool_ != nullptr && conn_ != nullptr) {
        --held_by_this_thread;
        pool_->Return(std::move(conn_));
      }
    }
    PGconn* get() const { return conn_.get(); }
    // True when the connection had served an earlier call: if it fails before anything was written, it may
    // have died while idle (a database restart) and the call may be retried on a fresh one.
    bool reused() const { return reused_; }

   private:
    ConnectionPool* pool_;
    Conn conn_;
    bool reused_;
  };

  explicit ConnectionPool(PostgresStoreOptions options) : options_(std::move(options)) {}

  // A connection: an idle one, else a new one while fewer than max_connections are open, else waits for
  // one. A thread that already holds one (a scan's visitor calling the store) never waits: it may open one
  // beyond the limit, so that scans whose visitors call the store cannot deadlock on the pool.
  absl::StatusOr<Handle> Take() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (held_by_this_thread == 0) {
        cv_.wait(lock, [&] { return !idle_.empty() || open_ < options_.max_connections; });
      }
      while (!idle_.empty()) {
        Conn c = std::move(idle_.back());
        idle_.pop_back();
        if (ClosedByServer(c.get())) {
          --open_;  // a restarted or shut-down database closed it while idle
          continue;
        }
        return Handle(this, std::move(c), true);
      }
      ++open_;
    }
    absl::StatusOr<Conn> c = Connect();
    if (!c.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      --open_;
      cv_.notify_one();
      return c.status();
    }
    return Handle(this, std::move(*c), false);
  }

  // Closes every idle connection: called when a pooled connection turned out dead (the database restarted),
  // since the others opened before it are dead too.
  void DropIdle() {
    std::vector<Conn> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      dropped.swap(idle_);
      open_ -= static_cast<int>(dropped.size());
      cv_.notify_all();
    }
  }

  // A new connection, set up for the store. Unavailable when the database cannot be reached.
  absl::StatusOr<Conn> Connect() const {
    // Defaults first: the conninfo (expanded from "dbname") overrides them. TCP keepalives and a TCP user
    // timeout bound how long a call waits on a database that vanished from the network (no FIN, no RST):
    // about 30 s, after which the call fails Unavailable instead of blocking its partition forever.
    const char* keywords[] = {"connect_timeout",    "application_name", "keepalives",    "keepalives_idle",
                              "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname",
                              nullptr};
    const char* values[] = {"10", "stepflow", "1", "10", "5", "3", "30000", options_.conninfo.c_str(), nullptr};
    Conn c(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
    if (c == nullptr) {
      return absl::ResourceExhaustedError("postgres: out of memory opening a connection");
    }
    if (PQstatus(c.get()) != CONNECTION_OK) {
      return absl::UnavailableError(
          absl::StrCat(Where(c.get()), ": cannot connect: ", Trimmed(PQerrorMessage(c.get()))));
    }
    PQsetNoticeProcessor(c.get(), IgnoreNotice, nullptr);
    if (!options_.sync_writes) {
      if (absl::Status s = ExecCommand(c.get(), "SET synchronous_commit = off", "SET synchronous_commit"); !s.ok()) {
        return s;
      }
    }
    return c;
  }

 private:
  void Return(Conn c) {
    const bool healthy = PQstatus(c.get()) == CONNECTION_OK && PQtransactionStatus(c.get()) == PQTRANS_IDLE;
    std::lock_guard<std::mutex> lock(mu_);
    if (healthy) {
      idle_.push_back(std::move(c));
    } else {
      --open_;  // closed by Conn's deleter
    }
    cv_.notify_one();
  }

  // Connections the current thread holds, of any pool (Take's deadlock rule).
  static thread_local int held_by_this_thread;

  const PostgresStoreOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Conn> idle_;
  int open_ = 0;
};

thread_local int ConnectionPool::held_by_this_thread = 0;

// One row a commit leaves: the last op of the batch on its (column, key).
struct FinalRow {
  Column column;
  std::string key;
  std::optional<std::string> value;  // nullopt: deleted
};

// The batch reduced to one op per (column, key), the last one winning, ordered by (column, key): so that a
// statement never touches a row twice (ON CONFLICT DO UPDATE refuses that) and concurrent commits lock
// their rows in one order (no deadlocks between them). Deferred values are rendered here, before any
// connection is taken.
std::vector<FinalRow> FinalRows(const WriteBatch& batch) {
  std::map<std::pair<int, std::string>, const WriteBatch::Op*> last;
  for (const WriteBatch::Op& op : batch.ops()) {
    last[{static_cast<int>(op.column), op.key}] = &op;
  }
  std::vector<FinalRow> rows;
  rows.reserve(last.size());
  for (const auto& [column_key, op] : last) {
    rows.push_back(FinalRow{op->column, column_key.second,
                            op->is_put() ? std::optional<std::string>(op->Bytes()) : std::nullopt});
  }
  return rows;
}

class PostgresStoreImpl final : public PostgresStore {
 public:
  explicit PostgresStoreImpl(const PostgresStoreOptions& options) : pool_(options) {}

  absl::Status Migrate() {
    // Nodes starting together race on CREATE TABLE IF NOT EXISTS: PostgreSQL can answer the loser 23505
    // (unique violation in its catalog), 42P07 (duplicate table) or 42710 (duplicate object: the table's row
    // type). The migration is retried, and finds the tables there.
    absl::Status s;
    for (int attempt = 0; attempt < 5; ++attempt) {
      s = MigrateOnce();
      const bool lost_race = s.code() == absl::StatusCode::kInternal &&
                             (s.message().find("SQLSTATE 23505") != std::string_view::npos ||
                              s.message().find("SQLSTATE 42P07") != std::string_view::npos ||
                              s.message().find("SQLSTATE 42710") != std::string_view::npos);
      if (!lost_race) {
        return s;
      }
    }
    return s;
  }

  absl::Status Commit(const WriteBatch& batch) override {
    if (batch.empty()) {
      return absl::OkStatus();
    }
    const std::vector<FinalRow> rows = FinalRows(batch);
    absl::Status s;
    for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
      bool may_retry = false;
      s = CommitOnce(rows, batch.fence(), may_retry);
      if (s.ok() || !may_retry) {
        return s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 5));  // back off a little under contention
    }
    return s;
  }

  absl::StatusOr<std::optional<std::string>> Get(Column column, std::string_view key) override {
    Params p;
    p.Int(static_cast<int>(column), kInt2Oid);
    p.Bytes(key);
    static const std::string kSql = "SELECT v FROM stepflow_rows WHERE column_id = $1 AND k = $2";
    for (int attempt = 0;; ++attempt) {
      absl::StatusOr<ConnectionPool::Handle> conn = pool_.Take();
      if (!conn.ok()) {
        return conn.status();
      }
      absl::StatusOr<Result> r = Exec(conn->get(), kSql, p, PGRES_TUPLES_OK, "get");
      if (!r.ok()) {
        if (attempt == 0 && conn->reused() && absl::IsUnavailable(r.status())) {
          pool_.DropIdle();
          continue;  // a pooled connection that died while idle: once more on a fresh one
        }
        return r.status();
      }
      if (PQntuples(r->get()) == 0) {
        return std::optional<std::string>();
      }
      return std::optional<std::string>(std::string(Field(r->get(), 0, 0)));
    }
  }

  absl::Status Scan(Column column, std::string_view prefix, std::string_view start_after, bool reverse,
                    const std::function<bool(std::string_view key, std::string_view value)>& visit) override {
    for (int attempt = 0;; ++attempt) {
      absl::StatusOr<ConnectionPool::Handle> conn = pool_.Take();
      if (!conn.ok()) {
        return conn.status();
      }
      bool begun = false;
      absl::Status s = ScanOn(conn->get(), column, prefix, start_after, reverse, visit, begun);
      if (!s.ok() && !begun && attempt == 0 && conn->reused() && absl::IsUnavailable(s)) {
        pool_.DropIdle();
        continue;
      }
      return s;
    }
  }

  // Insert-if-absent, then read back what won, in one transaction sent as one pipeline. Under READ COMMITTED
  // an INSERT that meets a racing transaction's uncommitted row waits for it and then does nothing, and the
  // SELECT (a new snapshot) sees that row; where the transaction is serializable (CockroachDB) a conflict ends
  // it with 40001 and it is tried again.
  absl::StatusOr<std::string> PutIfAbsent(Column column, std::string_view key, std::string value) override {
    absl::Status s;
    for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
      absl::StatusOr<ConnectionPool::Handle> conn = pool_.Take();
      if (!conn.ok()) {
        return conn.status();
      }
      PGconn* c = conn->get();
      std::vector<Statement> statements;
      statements.emplace_back("BEGIN", "put if absent (BEGIN)");
      Statement insert("INSERT INTO stepflow_rows (column_id, k, v) VALUES ($1, $2, $3) "
                       "ON CONFLICT (column_id, k) DO NOTHING",
                       "put if absent (INSERT)");
      insert.params.Int(static_cast<int>(column), kInt2Oid);
      insert.params.Bytes(key);
      insert.params.Bytes(value);
      statements.push_back(std::move(insert));
      Statement select("SELECT v FROM stepflow_rows WHERE column_id = $1 AND k = $2", "put if absent (SELECT)",
                       PGRES_TUPLES_OK);
      select.params.Int(static_cast<int>(column), kInt2Oid);
      select.params.Bytes(key);
      statements.push_back(std::move(select));
      statements.emplace_back("COMMIT", "put if absent (COMMIT)");
      std::size_t failed_at = statements.size();
      s = RunPipeline(c, statements, failed_at);
      if (s.ok()) {
        const PGresult* r = statements[2].result.get();
        if (r == nullptr || PQntuples(r) != 1) {
          return absl::InternalError(absl::StrCat(Where(c), ": put if absent: the row is not there after its insert"));
        }
        return std::string(Field(r, 0, 0));
      }
      if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
        ExecCommand(c, "ROLLBACK", "rollback").IgnoreError();
      }
      const std::string state = failed_at < statements.size() ? statements[failed_at].sqlstate : "";
      if (failed_at == 0 && conn->reused() && absl::IsUnavailable(s)) {
        pool_.DropIdle();  // a pooled connection died while idle (a database restart): once more on a fresh one
        continue;
      }
      if (!IsRetryableState(state)) {
        return s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 5));
    }
    return s;
  }

  absl::StatusOr<PartitionLease> AcquireLease(std::uint32_t partition, std::string_view owner,
                                              std::chrono::milliseconds ttl) override {
    Params p;
    p.Int(partition, kInt4Oid);
    p.Text(std::string(owner), kTextOid);
    p.Text(std::to_string(ttl.count()), kFloat8Oid);
    // Free (no row), expired, or `owner`'s: take it. The epoch rises unless `owner` still held it.
    static const std::string kSql =
        "INSERT INTO stepflow_partition_leases AS l (partition_id, owner, epoch, expires_at) "
        "VALUES ($1, $2, 1, now() + $3 * INTERVAL '1 millisecond') "
        "ON CONFLICT (partition_id) DO UPDATE SET "
        "epoch = CASE WHEN l.owner = excluded.owner AND l.expires_at > now() THEN l.epoch ELSE l.epoch + 1 END, "
        "owner = excluded.owner, expires_at = excluded.expires_at "
        "WHERE l.owner = excluded.owner OR l.expires_at <= now() "
        "RETURNING epoch";
    absl::StatusOr<ConnectionPool::Handle> conn = pool_.Take();
    if (!conn.ok()) {
      return conn.status();
    }
    absl::StatusOr<Result> r = Exec(conn->get(), kSql, p, PGRES_TUPLES_OK, "acquire lease");
    if (!r.ok()) {
      return r.status();
    }
    if (PQntuples(r->get()) == 1) {
      return PartitionLease{partition, std::string(owner), Int8Field(r->get(), 0, 0)};
    }
    Params q;
    q.Int(partition, kInt4Oid);
    absl::StatusOr<Result> holder = Exec(conn->get(),
                                         "SELECT owner, expires_at::TEXT FROM stepflow_partition_leases "
                                         "WHERE partition_id = $1",
                                         q, PGRES_TUPLES_OK, "read lease");
    if (!holder.ok()) {
      return holder.status();
    }
    if (PQntuples(holder->get()) == 0) {
      return absl::AbortedError(absl::StrCat("partition ", partition, "'s lease changed meanwhile: try again"));
    }
    return absl::FailedPreconditionError(absl::StrCat("partition ", partition, " is leased to ",
                                                      std::string(Field(holder->get(), 0, 0)), " until ",
                                                      std::string(Field(holder->get(), 0, 1))));
  }

  absl::Status RenewLease(const PartitionLease& lease, std::chrono::milliseconds ttl) override {
    return UpdateLease(lease, "now() + $4 * INTERVAL '1 millisecond'", ttl, "renew lease");
  }

  absl::Status ReleaseLease(const PartitionLease& lease) override {
    absl::Status s = UpdateLease(lease, "now()", std::chrono::milliseconds(0), "release lease");
    return absl::IsFailedPrecondition(s) ? absl::OkStatus() : s;
  }

  absl::StatusOr<std::vector<LeaseRow>> ListLeases() override {
    std::vector<LeaseRow> rows;
    RETURN_IF_ERROR(Query(
        "SELECT partition_id::BIGINT, owner, epoch, "
        "(EXTRACT(EPOCH FROM (expires_at - now())) * 1000)::BIGINT "
        "FROM stepflow_partition_leases ORDER BY partition_id",
        Params(), "list leases", [&](const PGresult* r, int row) {
          LeaseRow l;
          l.lease.partition = static_cast<std::uint32_t>(Int8Field(r, row, 0));
          l.lease.owner = std::string(Field(r, row, 1));
          l.lease.epoch = Int8Field(r, row, 2);
          l.expires_in_ms = static_cast<std::int64_t>(Int8Field(r, row, 3));
          rows.push_back(std::move(l));
        }));
    return rows;
  }

  absl::Status Heartbeat(std::string_view node_id, std::string_view address, std::chrono::milliseconds ttl) override {
    Params p;
    p.Text(std::string(node_id), kTextOid);
    p.Text(std::string(address), kTextOid);
    p.Text(std::to_string(ttl.count()), kFloat8Oid);
    return Query("INSERT INTO stepflow_nodes (node_id, address, expires_at) "
                 "VALUES ($1, $2, now() + $3 * INTERVAL '1 millisecond') "
                 "ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, expires_at = excluded.expires_at",
                 std::move(p), "heartbeat", nullptr, PGRES_COMMAND_OK);
  }

  absl::Status RemoveNode(std::string_view node_id) override {
    Params p;
    p.Text(std::string(node_id), kTextOid);
    return Query("DELETE FROM stepflow_nodes WHERE node_id = $1", std::move(p), "remove node", nullptr,
                 PGRES_COMMAND_OK);
  }

  absl::StatusOr<std::vector<NodeRow>> ListNodes() override {
    std::vector<NodeRow> rows;
    RETURN_IF_ERROR(Query("SELECT node_id, address, "
                                "(EXTRACT(EPOCH FROM (expires_at - now())) * 1000)::BIGINT "
                                "FROM stepflow_nodes ORDER BY node_id",
                                Params(), "list nodes", [&](const PGresult* r, int row) {
                                  rows.push_back(NodeRow{std::string(Field(r, row, 0)), std::string(Field(r, row, 1)),
                                                         static_cast<std::int64_t>(Int8Field(r, row, 2))});
                                }));
    return rows;
  }

 private:
  // One statement outside a transaction, on a pooled connection (once more on a fresh one when a pooled
  // connection died while idle); `row` (when given) is called for every result row.
  absl::Status Query(const std::string& sql, Params params, std::string_view what,
                     const std::function<void(const PGresult*, int)>& row,
                     ExecStatusType expect = PGRES_TUPLES_OK) {
    for (int attempt = 0;; ++attempt) {
      absl::StatusOr<ConnectionPool::Handle> conn = pool_.Take();
      if (!conn.ok()) {
        return conn.status();
      }
      absl::StatusOr<Result> r = Exec(conn->get(), sql, params, expect, what);
      if (!r.ok()) {
        if (attempt == 0 && conn->reused() && absl::IsUnavailable(r.status())) {
          pool_.DropIdle();
          continue;
        }
        return r.status();
      }
      if (row) {
        for (int i = 0; i < PQntuples(r->get()); ++i) {
          row(r->get(), i);
        }
      }
      return absl::OkStatus();
    }
  }

  absl::Status MigrateOnce() {
    absl::StatusOr<ConnectionPool::Handle> conn = pool_.Take();
    if (!conn.ok()) {
      return conn.status();
    }
    PGconn* c = conn->get();
    if (absl::Status s = ExecCommand(c,
                                     "CREATE TABLE IF NOT EXISTS stepflow_schema (version INT NOT NULL PRIMARY KEY, "
                                     "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                                     "create stepflow_schema");
        !s.ok()) {
      return s;
    }
    Params none;
    absl::StatusOr<Result> r =
        Exec(c, "SELECT COALESCE(MAX(version), 0)::BIGINT FROM stepflow_schema", none, PGRES_TUPLES_OK,
             "read the schema version");
    if (!r.ok()) {
      return r.status();
    }
    const std::uint64_t version = Int8Field(r->get(), 0, 0);
    const std::uint64_t known = Migrations().size();
    if (version > known) {
      return absl::FailedPreconditionError(
          absl::StrCat(Where(c), ": the schema is at version ", version, ", written by a newer release; this server ",
                       "knows versions up to ", known, ": upgrade the server"));
    }
    for (std::uint64_t next = version + 1; next <= known; ++next) {
      for (const char* statement : Migrations()[next - 1]) {
        if (absl::Status s = ExecCommand(c, statement, absl::StrCat("schema migration ", next)); !s.ok()) {
          return s;
        }
      }
      Params p;
      p.Int(static_cast<std::int64_t>(next), kInt4Oid);
      absl::StatusOr<Result> done = Exec(c, "INSERT INTO stepflow_schema (version) VALUES ($1) ON CONFLICT DO NOTHING",
                                         p, PGRES_COMMAND_OK, "record the schema version");
      if (!done.ok()) {
        return done.status();
      }
    }
    return absl::OkStatus();
  }

  // One attempt of a commit in its own transaction, sent as one pipeline (libpq pipeline mode: BEGIN, the
  // fence check, the DELETEs and INSERTs, COMMIT, then one Sync), so that a commit costs one round trip to
  // the database. An error skips the rest of the pipeline, COMMIT included, and the transaction is rolled
  // back. `may_retry` is set when nothing was applied and trying again may succeed (serialization failure,
  // deadlock, a pooled connection found dead before BEGIN was answered).
  absl::Status CommitOnce(const std::vector<FinalRow>& rows, const std::optional<LeaseFence>& fence,
                          bool& may_retry) {
    absl::StatusOr<ConnectionPool::Handle> conn = pool_.Take();
    if (!conn.ok()) {
      return conn.status();
    }
    PGconn* c = conn->get();
    std::vector<Statement> statements;
    statements.emplace_back("BEGIN", "commit (BEGIN)");
    if (fence.has_value()) {
      // Division by zero (SQLSTATE 22012) when the epoch is not the fence's or the partition has no lease: a
      // pipeline cannot branch, so the check fails the transaction itself. FOR SHARE: a takeover's UPDATE of
      // the lease row waits for this transaction, or this read waits for the takeover and sees its epoch.
      Statement check{"SELECT 1 / COALESCE((SELECT CASE WHEN epoch = $2 THEN 1 ELSE 0 END "
                      "FROM stepflow_partition_leases WHERE partition_id = $1 FOR SHARE), 0)",
                      "commit (lease check)", PGRES_TUPLES_OK};
      check.params.Int(fence->partition, kInt4Oid);
      check.params.Int(static_cast<std::int64_t>(fence->epoch), kInt8Oid);
      statements.push_back(std::move(check));
    }
    AppendWrites(rows, statements);
    statements.emplace_back("COMMIT", "commit (COMMIT)");

    std::size_t failed_at = statements.size();
    absl::Status s = RunPipeline(c, statements, failed_at);
    if (s.ok()) {
      return s;
    }
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
      ExecCommand(c, "ROLLBACK", "rollback").IgnoreError();
    }
    const std::string state = failed_at < statements.size() ? statements[failed_at].sqlstate : "";
    if (fence.has_value() && failed_at == 1 && state == "22012") {
      return LeaseLost(*fence);
    }
    if (failed_at == 0 && conn->reused() && absl::IsUnavailable(s)) {
      // The database never answered BEGIN on a connection that had been idle: it died meanwhile (a restart).
      // A commit that reached the database is never retried: its outcome is unknown (Store::Commit).
      may_retry = true;
      pool_.DropIdle();
    }
    may_retry = may_retry || IsRetryableState(state);
    return s;
  }

  // The status of a commit refused by the fence check, with the partition's epoch now (read outside the
  // failed transaction).
  absl::Status LeaseLost(const LeaseFence& fence) {
    std::string now = "has no lease";
    if (absl::StatusOr<ConnectionPool::Handle> conn = pool_.Take(); conn.ok()) {
      Params p;
      p.Int(fence.partition, kInt4Oid);
      absl::StatusOr<Result> r = Exec(conn->get(), "SELECT epoch FROM stepflow_partition_leases WHERE partition_id = $1",
                                      p, PGRES_TUPLES_OK, "read lease");
      if (r.ok() && PQntuples(r->get()) == 1) {
        now = absl::StrCat("is at epoch ", Int8Field(r->get(), 0, 0));
      }
    }
    return absl::FailedPreconditionError(absl::StrCat("lease lost: partition ", fence.partition, " ", now,
                                                      "; the commit was made under epoch ", fence.epoch));
  }

  // The commit's DELETEs (per column, `k IN (...)`) and multi-row upserts, in statements of at most
  // kRowsPerStatement rows.
  // The writes in (column, key) order, as `rows` is sorted: each run of consecutive deletes of one column is one
  // DELETE, each run of consecutive puts one upsert (at most kRowsPerStatement rows each). Every commit thus
  // takes its row locks in the same global order, so concurrent commits over the same keys wait for each other
  // instead of deadlocking (deleting all, then inserting all, locked in two passes and did deadlock).
  static void AppendWrites(const std::vector<FinalRow>& rows, std::vector<Statement>& statements) {
    for (std::size_t i = 0; i < rows.size();) {
      const bool put = rows[i].value.has_value();
      const Column column = rows[i].column;
      std::size_t n = 0;
      if (!put) {
        Statement st("DELETE FROM stepflow_rows WHERE column_id = $1 AND k IN (", "commit (DELETE)");
        st.params.Int(static_cast<int>(column), kInt2Oid);
        for (; i < rows.size() && !rows[i].value.has_value() && rows[i].column == column && n < kRowsPerStatement;
             ++i, ++n) {
          absl::StrAppend(&st.sql, n == 0 ? "" : ", ", st.params.Next());
          st.params.Bytes(rows[i].key);
        }
        st.sql += ")";
        statements.push_back(std::move(st));
        continue;
      }
      Statement st("INSERT INTO stepflow_rows (column_id, k, v) VALUES ", "commit (INSERT)");
      for (; i < rows.size() && rows[i].value.has_value() && n < kRowsPerStatement; ++i, ++n) {
        absl::StrAppend(&st.sql, n == 0 ? "(" : ", (", st.params.Next());
        st.params.Int(static_cast<int>(rows[i].column), kInt2Oid);
        absl::StrAppend(&st.sql, ", ", st.params.Next());
        st.params.Bytes(rows[i].key);
        absl::StrAppend(&st.sql, ", ", st.params.Next(), ")");
        st.params.Bytes(*rows[i].value);
      }
      st.sql += " ON CONFLICT (column_id, k) DO UPDATE SET v = excluded.v";
      statements.push_back(std::move(st));
    }
  }

  // The scan on one connection, in one REPEATABLE READ transaction (one snapshot for every page); the BEGIN
  // and the first page go in one pipeline. `begun` is set once the database answered the BEGIN.
  absl::Status ScanOn(PGconn* c, Column column, std::string_view prefix, std::string_view start_after, bool reverse,
                      const std::function<bool(std::string_view key, std::string_view value)>& visit, bool& begun) {
    const std::optional<std::string> prefix_end = PrefixSuccessor(prefix);
    std::string after(start_after);  // exclusive bound in the scan's direction; empty: none
    int page = kFirstScanPage;
    std::vector<Statement> first;
    first.emplace_back("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", "scan (BEGIN)");
    first.push_back(PageQuery(column, prefix, prefix_end, after, reverse, page));
    std::size_t failed_at = 0;
    absl::Status status = RunPipeline(c, first, failed_at);
    begun = status.ok() || failed_at > 0;
    Result r = std::move(first.back().result);
    while (status.ok()) {
      const int n = PQntuples(r.get());
      bool more = true;
      for (int row = 0; row < n && more; ++row) {
        more = visit(Field(r.get(), row, 0), Field(r.get(), row, 1));
      }
      if (!more || n < page) {
        break;
      }
      after = std::string(Field(r.get(), n - 1, 0));
      page = std::min(page * 4, kMaxScanPage);
      Statement next = PageQuery(column, prefix, prefix_end, after, reverse, page);
      absl::StatusOr<Result> got = Exec(c, next.sql, next.params, PGRES_TUPLES_OK, next.what);
      if (!got.ok()) {
        status = got.status();
        break;
      }
      r = std::move(*got);
    }
    if (begun && PQstatus(c) == CONNECTION_OK) {
      absl::Status end = ExecCommand(c, "COMMIT", "scan (COMMIT)");
      if (status.ok()) {
        status = end;
      }
    }
    return status;
  }

  // One page of a scan: the rows of `column` in [prefix, prefix_end) beyond `after` (in the scan's
  // direction; empty: from the start), at most `page` of them.
  static Statement PageQuery(Column column, std::string_view prefix, const std::optional<std::string>& prefix_end,
                             const std::string& after, bool reverse, int page) {
    Statement st("SELECT k, v FROM stepflow_rows WHERE column_id = $1", "scan", PGRES_TUPLES_OK);
    st.params.Int(static_cast<int>(column), kInt2Oid);
    if (!prefix.empty()) {
      absl::StrAppend(&st.sql, " AND k >= ", st.params.Next());
      st.params.Bytes(prefix);
    }
    if (prefix_end.has_value()) {
      absl::StrAppend(&st.sql, " AND k < ", st.params.Next());
      st.params.Bytes(*prefix_end);
    }
    if (!after.empty()) {
      absl::StrAppend(&st.sql, reverse ? " AND k < " : " AND k > ", st.params.Next());
      st.params.Bytes(after);
    }
    absl::StrAppend(&st.sql, reverse ? " ORDER BY k DESC" : " ORDER BY k", " LIMIT ", page);
    return st;
  }

  // Sets the lease's expiry to `expiry` (SQL over $4 = ttl ms) when the partition is still `lease`'s.
  absl::Status UpdateLease(const PartitionLease& lease, std::string_view expiry, std::chrono::milliseconds ttl,
                           std::string_view what) {
    Params p;
    p.Int(lease.partition, kInt4Oid);
    p.Text(lease.owner, kTextOid);
    p.Int(static_cast<std::int64_t>(lease.epoch), kInt8Oid);
    std::string sql = absl::StrCat("UPDATE stepflow_partition_leases SET expires_at = ", std::string(expiry),
                                   " WHERE partition_id = $1 AND owner = $2 AND epoch = $3");
    if (expiry.find("$4") != std::string_view::npos) {
      p.Text(std::to_string(ttl.count()), kFloat8Oid);
    }
    absl::StatusOr<ConnectionPool::Handle> conn = pool_.Take();
    if (!conn.ok()) {
      return conn.status();
    }
    absl::StatusOr<Result> r = Exec(conn->get(), sql, p, PGRES_COMMAND_OK, what);
    if (!r.ok()) {
      return r.status();
    }
    if (std::string_view(PQcmdTuples(r->get())) != "1") {
      return absl::FailedPreconditionError(absl::StrCat("lease lost: partition ", lease.partition,
                                                        " is no longer held by ", lease.owner, " at epoch ",
                                                        lease.epoch));
    }
    return absl::OkStatus();
  }

  ConnectionPool pool_;
};

}  // namespace

absl::StatusOr<std::string> PutIfAbsent(Store& store, Column column, std::string_view key, std::string value) {
  if (auto* postgres = dynamic_cast<PostgresStore*>(&store); postgres != nullptr) {
    return postgres->PutIfAbsent(column, key, std::move(value));
  }
  static std::mutex one_at_a_time;
  std::lock_guard<std::mutex> lock(one_at_a_time);
  absl::StatusOr<std::optional<std::string>> there = store.Get(column, key);
  if (!there.ok()) {
    return there.status();
  }
  if (there->has_value()) {
    return std::move(**there);
  }
  WriteBatch batch;
  batch.Put(column, std::string(key), value);
  if (absl::Status s = store.Commit(batch); !s.ok()) {
    return s;
  }
  return value;
}

absl::StatusOr<std::unique_ptr<PostgresStore>> OpenPostgresStore(const PostgresStoreOptions& options) {
  if (options.conninfo.empty()) {
    return absl::InvalidArgumentError("postgres: empty connection string");
  }
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("postgres: max_connections must be at least 1, got ", options.max_connections));
  }
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.conninfo.c_str(), &error);
  if (parsed == nullptr) {
    std::string detail = Trimmed(error != nullptr ? error : "out of memory");
    PQfreemem(error);
    return absl::InvalidArgumentError(absl::StrCat("postgres: bad connection string: ", detail));
  }
  PQconninfoFree(parsed);
  auto store = std::make_unique<PostgresStoreImpl>(options);
  if (absl::Status s = store->Migrate(); !s.ok()) {
    return s;
  }
  return std::unique_ptr<PostgresStore>(std::move(store));
}

}  // namespace stepflow::storage
