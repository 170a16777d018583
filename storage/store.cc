// The backend-independent half of the storage seam: column names, WriteBatch and key encodings.
// Nothing here knows RocksDB; a second Store implementation reuses this file unchanged.

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "storage/store.h"

namespace stepflow::storage {

std::string_view ColumnName(Column c) {
  // These names are the on-disk identity of each column family (storage/FORMAT.md): never rename one.
  switch (c) {
    case Column::kDefinitions:
      return "definitions";
    case Column::kExecutions:
      return "executions";
    case Column::kHistory:
      return "history";
    case Column::kTasks:
      return "tasks";
    case Column::kTimers:
      return "timers";
    case Column::kDeadLetters:
      return "dead_letters";
    case Column::kIndexes:
      return "indexes";
    case Column::kInputs:
      return "inputs";
    case Column::kMeta:
      return "meta";
    case Column::kSnapshots:
      return "snapshots";
  }
  return "unknown";
}

void WriteBatch::Put(Column column, std::string key, std::string value) {
  ops_.push_back(Op{column, std::move(key), std::move(value), nullptr});
}

void WriteBatch::PutDeferred(Column column, std::string key, std::shared_ptr<const DeferredValue> value) {
  assert(value != nullptr);
  ops_.push_back(Op{column, std::move(key), std::nullopt, std::move(value)});
}

std::string WriteBatch::Op::Bytes() const {
  if (value.has_value()) {
    return *value;
  }
  std::string out;
  deferred->Render(out);
  return out;
}

void WriteBatch::Delete(Column column, std::string key) {
  ops_.push_back(Op{column, std::move(key), std::nullopt, nullptr});
}

absl::Status Store::ScanKeys(Column column, std::string_view prefix,
                             const std::function<bool(std::string_view key)>& visit) {
  return Scan(column, prefix, "", false, [&](std::string_view key, std::string_view) { return visit(key); });
}

void AppendUint64BigEndian(std::string& out, std::uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xFFu);
    v >>= 8;
  }
  out.append(buf, sizeof(buf));
}

std::uint64_t ReadUint64BigEndian(std::string_view in) {
  assert(in.size() >= 8);
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<std::uint8_t>(in[i]);
  }
  return v;
}

std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) {
    end.pop_back();
  }
  if (end.empty()) {
    return std::nullopt;
  }
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

void AppendString(std::string& out, std::string_view s) {
  assert(s.find('\0') == std::string_view::npos);
  out.append(s);
  out.push_back('\0');
}

}  // namespace stepflow::storage
