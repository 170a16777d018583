#pragma once
// History rows (storage/FORMAT.md, `history`), written by the driver and read by the API's history calls.
//
// Version 2 (written today): the events of one commit of an execution, consecutive ids, in one row keyed by
// the LAST of them, HistoryKey(id, last event id); a commit with many events or large ones is split into
// several rows (kMaxEventsPerHistoryRow, kMaxHistoryRowBytes) so that a page read never decodes much more
// than it returns. Keying by the last id makes "the events after N" one forward scan from HistoryKey(id, N):
// the first row past that key is the one holding N + 1.
// Version 1 (read only): one JSON event per row, keyed by its own id, which is both its first and last id;
// an execution that was running across an upgrade has version-1 rows followed by version-2 rows.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "statemachine/core/history.h"
#include "storage/store.h"

namespace stepflow::engine {

// Limits of one version-2 row: a row is closed once it holds this many events or this many bytes (so one
// event larger than the limit still gets a row of its own).
inline constexpr std::size_t kMaxEventsPerHistoryRow = 256;
inline constexpr std::size_t kMaxHistoryRowBytes = 64 * 1024;

// Adds the rows of `events` (one commit's events of execution `id`, in id order) to `batch`. When `row_ids` is not
// null, appends to it the event id that keys each row put (HistoryKey(id, event id): its last event's).
void PutHistoryRows(std::string_view id, const std::vector<sm::HistoryEvent>& events, storage::WriteBatch& batch,
                    std::vector<std::int64_t>* row_ids = nullptr);

// PutHistoryRows for a store that renders on read (storage::DeferredValue): the rows share `events`, kept
// as they are (typed events too, sm::HistoryEvent::typed) together with `keep_alive` (what typed events' names
// point into: the execution's StateMachine, sm::Execution::machine()), and are encoded into the same
// version-2 bytes only when a store needs them (the in-memory store: when they are read). Rows are split by kMaxEventsPerHistoryRow and by an estimate of kMaxHistoryRowBytes (the
// details' strings before escaping), so their boundaries may differ from PutHistoryRows'; readers do not care.
void PutHistoryRowsDeferred(std::string_view id, std::shared_ptr<const std::vector<sm::HistoryEvent>> events,
                            storage::WriteBatch& batch, std::shared_ptr<const void> keep_alive = nullptr,
                            std::vector<std::int64_t>* row_ids = nullptr);

// The value of one version-2 row holding `events` (typed or not), built with the generated protobuf code: what
// PutHistoryRows writes (its own encoder) must equal it. REQUIRES: not empty, consecutive ids.
std::string EncodeHistoryRow(const sm::HistoryEvent* events, std::size_t count);
// Appends the events of a row of either version to `out`, in id order. DataLoss when it cannot be read.
absl::Status DecodeHistoryRow(std::string_view value, std::vector<HistoryEventRecord>& out);

// Up to `limit` events of execution `id` with ids greater than `after`, oldest first, and no more than
// `max_bytes` of them (HistoryEventBytes) unless the first alone is larger: a page always makes progress.
// `*more` tells whether further events follow. Unavailable/DataLoss on storage errors, DataLoss for an
// unreadable row.
absl::StatusOr<std::vector<HistoryEventRecord>> ReadHistoryAfter(
    storage::Store& store, std::string_view id, std::int64_t after, int limit, bool* more,
    std::size_t max_bytes = std::numeric_limits<std::size_t>::max());
// Up to `limit` events with ids less than `before` (every event when `before` <= 0), newest first, bounded by
// `max_bytes` as ReadHistoryAfter.
absl::StatusOr<std::vector<HistoryEventRecord>> ReadHistoryBefore(
    storage::Store& store, std::string_view id, std::int64_t before, int limit, bool* more,
    std::size_t max_bytes = std::numeric_limits<std::size_t>::max());
// What an event adds to a page: its variable-length text plus a fixed allowance for the numbers and framing.
std::size_t HistoryEventBytes(const HistoryEventRecord& event);

}  // namespace stepflow::engine
