#pragma once
// Exact counts of executions per (state machine, status), and per (version or alias ARN, status), kept in the `meta` column in the same commits as the
// index rows they count (storage/FORMAT.md, "Execution counts"), so that counting is a read of a few rows, not a
// scan of the indexes.
//
// Each partition's writer owns its own rows: a row holds the sum of the changes that writer committed (a signed
// delta, negative when its executions ended more than they started), and a count is the sum over the writers.
// Since no two threads write the same row, no read-modify-write races another, and a restart with another
// number of partitions only adds rows.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/store.h"

namespace stepflow::engine {

// Counted executions by status name ("RUNNING", "SUCCEEDED", ...), as the index rows have them.
using StatusCounts = std::map<std::string, std::int64_t>;

// What an execution is counted under: its state machine's name, and the version and alias ARNs it was started on
// (as the start recorded them; empty = none), each of which has counts of its own.
struct CountScopes {
  std::string_view machine;
  std::string_view version_arn = {};
  std::string_view alias_arn = {};
};

// When the store has no counts yet (written by a release before them, or new), counts the `by_machine_status`
// index rows and writes the rows and the marker in one commit; likewise, when it has no counts by version and
// alias yet, counts the `by_qualified_arn` index rows by the status of the execution each names. REQUIRES: no
// partition runs yet. Unavailable/DataLoss on storage errors.
absl::Status RebuildExecutionCountsIfAbsent(storage::Store& store);

// The counts of the executions of `scope`, summed over the writers: a state machine's name ("" = all), or a
// version or alias ARN as a start records it (engine/qualified_arns.h, canonical). Statuses without executions
// are absent.
absl::StatusOr<StatusCounts> ReadExecutionCounts(storage::Store& store, std::string_view scope);

// One partition's rows. Thread-compatible: used by its partition's thread only.
class ExecutionCountsWriter {
 public:
  // Reads the rows of writer `writer` (the partition index).
  static absl::StatusOr<std::unique_ptr<ExecutionCountsWriter>> Load(storage::Store& store, int writer);

  // Notes, for the batch being staged, that an execution counted under `scopes` went from status `from` ("" = it
  // was just started) to `to`.
  void Stage(const CountScopes& scopes, std::string_view from, std::string_view to);
  // Puts the rows changed since the last Finish, at their new values, into the batch about to be committed.
  void PutStaged(storage::WriteBatch& batch) const;
  // After that commit: its changes become the committed values, or are dropped when it failed.
  void Finish(bool committed);

  // Commits `batch` with one status change of its own, apart from whatever is staged (the staged rows are put
  // later from the new committed values). The commit's status.
  absl::Status CommitWithChange(storage::Store& store, storage::WriteBatch batch, const CountScopes& scopes,
                                std::string_view from, std::string_view to);

 private:
  // (scope, status): a scope is a state machine name or a version/alias ARN (which has ':'s, a name none).
  using Row = std::pair<std::string, std::string>;
  explicit ExecutionCountsWriter(int writer) : writer_(writer) {}
  static void Add(std::map<Row, std::int64_t>& deltas, const CountScopes& scopes, std::string_view from,
                  std::string_view to);
  void Put(storage::WriteBatch& batch, const Row& row, std::int64_t value) const;
  std::int64_t Committed(const Row& row) const;

  int writer_;
  std::map<Row, std::int64_t> committed_;
  std::map<Row, std::int64_t> staged_;  // deltas
};

}  // namespace stepflow::engine
