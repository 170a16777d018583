#pragma once
// A view of a Store whose every commit carries a lease fence (storage::LeaseFence) supplied at commit time.
// Cluster mode writes the rows that belong to no execution (state machines, versions, aliases) through it,
// fenced by logical partition 0's lease: only the node that holds partition 0 writes them, so two nodes never
// both create or publish the same thing, and a node paused past that lease has its writes refused.
//
// Thread-safety: as the wrapped store's; `fence` must be thread-safe.

#include <functional>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace stepflow::engine::cluster {

class FencedStore final : public storage::Store {
 public:
  // The fence of the next commit, or the error that refuses it (not the lease holder).
  using Fence = std::function<absl::StatusOr<storage::LeaseFence>()>;

  // `store` is not owned and must outlive this view.
  FencedStore(storage::Store* store, Fence fence) : store_(store), fence_(std::move(fence)) {}

  absl::Status Commit(const storage::WriteBatch& batch) override {
    if (batch.empty()) {
      return absl::OkStatus();
    }
    absl::StatusOr<storage::LeaseFence> fence = fence_();
    if (!fence.ok()) {
      return fence.status();
    }
    storage::WriteBatch fenced = batch;
    fenced.SetFence(*fence);
    return store_->Commit(fenced);
  }
  absl::StatusOr<std::optional<std::string>> Get(storage::Column column, std::string_view key) override {
    return store_->Get(column, key);
  }
  absl::Status Scan(storage::Column column, std::string_view prefix, std::string_view start_after, bool reverse,
                    const std::function<bool(std::string_view key, std::string_view value)>& visit) override {
    return store_->Scan(column, prefix, start_after, reverse, visit);
  }

 private:
  storage::Store* store_;
  Fence fence_;
};

}  // namespace stepflow::engine::cluster
