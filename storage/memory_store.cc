#include "storage/memory_store.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stepflow::storage {
namespace {

// Keys compare as bytes (unsigned), as RocksDB's default comparator does: std::string's own order compares
// `char`, which is signed here.
struct ByteOrder {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    const std::size_t n = std::min(a.size(), b.size());
    const int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
    return c != 0 ? c < 0 : a.size() < b.size();
  }
};

// A row's value as it was put: bytes, or a deferred value rendered whenever the row is read.
struct Stored {
  std::string bytes;
  std::shared_ptr<const DeferredValue> deferred;
  std::string Bytes() const {
    if (deferred == nullptr) {
      return bytes;
    }
    std::string out;
    deferred->Render(out);
    return out;
  }
};

using Rows = std::map<std::string, Stored, ByteOrder>;

bool HasPrefix(std::string_view key, std::string_view prefix) { return key.substr(0, prefix.size()) == prefix; }

class MemoryStore final : public Store {
 public:
  absl::Status Commit(const WriteBatch& batch) override {
    std::unique_lock<std::shared_mutex> lock(mu_);
    for (const WriteBatch::Op& op : batch.ops()) {
      Rows& rows = columns_[static_cast<std::size_t>(op.column)];
      if (!op.is_put()) {
        auto it = rows.find(op.key);
        if (it != rows.end()) {
          rows.erase(it);
        }
        continue;
      }
      Stored& stored = rows[op.key];
      stored.bytes = op.value.value_or(std::string());
      stored.deferred = op.value.has_value() ? nullptr : op.deferred;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<std::string>> Get(Column column, std::string_view key) override {
    std::shared_lock<std::shared_mutex> lock(mu_);
    const Rows& rows = columns_[static_cast<std::size_t>(column)];
    auto it = rows.find(key);
    if (it == rows.end()) {
      return std::optional<std::string>();
    }
    return std::optional<std::string>(it->second.Bytes());
  }

  // The rows of the range are copied under the lock (deferred values rendered) and visited after it: the scan
  // sees one consistent view (whole batches only) and `visit` may call the store again.
  absl::Status Scan(Column column, std::string_view prefix, std::string_view start_after, bool reverse,
                    const std::function<bool(std::string_view key, std::string_view value)>& visit) override {
    std::vector<std::pair<std::string, std::string>> range;
    {
      std::shared_lock<std::shared_mutex> lock(mu_);
      CopyRange(columns_[static_cast<std::size_t>(column)], prefix, start_after, reverse, range);
    }
    for (const auto& [key, value] : range) {
      if (!visit(key, value)) {
        break;
      }
    }
    return absl::OkStatus();
  }

  // Keys only: the values (deferred ones would be rendered to be copied) are not touched.
  absl::Status ScanKeys(Column column, std::string_view prefix,
                        const std::function<bool(std::string_view key)>& visit) override {
    std::vector<std::string> keys;
    {
      std::shared_lock<std::shared_mutex> lock(mu_);
      const Rows& rows = columns_[static_cast<std::size_t>(column)];
      for (auto it = rows.lower_bound(prefix); it != rows.end() && HasPrefix(it->first, prefix); ++it) {
        keys.push_back(it->first);
      }
    }
    for (const std::string& key : keys) {
      if (!visit(key)) {
        break;
      }
    }
    return absl::OkStatus();
  }

 private:
  static void CopyRange(const Rows& rows, std::string_view prefix, std::string_view start_after, bool reverse,
                        std::vector<std::pair<std::string, std::string>>& out) {
    const ByteOrder less;
    const auto first = rows.lower_bound(prefix);
    const std::optional<std::string> prefix_end = PrefixSuccessor(prefix);
    const auto last = prefix_end ? rows.lower_bound(*prefix_end) : rows.end();  // one past the range
    if (!reverse) {
      auto it = first;
      if (!start_after.empty()) {
        const auto after = rows.upper_bound(start_after);  // the first key greater than start_after
        if (after == rows.end() || (it != rows.end() && less(it->first, after->first))) {
          it = after;
        }
      }
      for (; it != rows.end() && HasPrefix(it->first, prefix); ++it) {
        out.emplace_back(it->first, it->second.Bytes());
      }
      return;
    }
    auto it = last;
    if (!start_after.empty()) {
      const auto before = rows.lower_bound(start_after);  // keys before it are less than start_after
      if (before != rows.end() && (it == rows.end() || less(before->first, it->first))) {
        it = before;
      }
    }
    if (first == rows.end() || (it != rows.end() && less(it->first, first->first))) {
      return;
    }
    while (it != first) {
      --it;
      out.emplace_back(it->first, it->second.Bytes());
    }
  }

  std::shared_mutex mu_;
  std::array<Rows, kColumnCount> columns_;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace stepflow::storage
