#pragma once
// A Store that passes every call to another one: tests derive from it to fail, count or record some calls.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/store.h"

namespace stepflow::engine::testing {

class ForwardingStore : public storage::Store {
 public:
  explicit ForwardingStore(storage::Store* base) : base_(base) {}
  absl::Status Commit(const storage::WriteBatch& batch) override { return base_->Commit(batch); }
  absl::StatusOr<std::optional<std::string>> Get(storage::Column column, std::string_view key) override {
    return base_->Get(column, key);
  }
  absl::Status Scan(storage::Column column, std::string_view prefix, std::string_view start_after, bool reverse,
                    const std::function<bool(std::string_view, std::string_view)>& visit) override {
    return base_->Scan(column, prefix, start_after, reverse, visit);
  }

 private:
  storage::Store* base_;  // not owned
};

}  // namespace stepflow::engine::testing
