#include "engine/task_tokens.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "engine/crypto.h"
#include "engine/errors.h"
#include "storage/postgres/postgres_store.h"

namespace stepflow::engine {

namespace {

// The rows of column `meta` that hold the key and the legacy tokens (newline-separated).
constexpr std::string_view kKeyRow = "task_token_key";
constexpr std::string_view kLegacyRow = "legacy_task_tokens";
// Signature length in characters: 16 bytes (128 bits) of HMAC-SHA256 in unpadded base64url.
constexpr std::size_t kSignatureChars = 22;
constexpr std::size_t kSignatureBytes = 16;
// Longest token text looked at; anything longer is not a token (execution ARNs are far shorter).
constexpr std::size_t kMaxTokenBytes = 4096;

// "<execution id>#<task id>" of a `tasks` key (Str(queue) Str(execution id) U64(task id)); empty if malformed.
std::string UnsignedTokenOfTaskKey(std::string_view key) {
  if (key.size() < 8 + 2 || key[key.size() - 9] != '\0') {
    return "";
  }
  std::uint64_t task_id = 0;
  for (std::size_t i = key.size() - 8; i < key.size(); ++i) {
    task_id = (task_id << 8) | static_cast<unsigned char>(key[i]);
  }
  std::string_view rest = key.substr(0, key.size() - 9);
  const std::size_t queue_end = rest.find('\0');
  if (queue_end == std::string_view::npos) {
    return "";
  }
  return sm::UnsignedTaskToken(rest.substr(queue_end + 1), task_id);
}

absl::Status NotAToken() {
  // The token itself is not echoed: it may be long, and a near-miss signature is no business of the caller's.
  return errors::InvalidToken("the task token is not one this server issued");
}

}  // namespace

TaskTokens TaskTokens::Random() {
  absl::StatusOr<std::string> key = RandomBytes(kKeyBytes);
  if (!key.ok()) {
    // No randomness from the operating system: nothing safe can be done.
    std::fprintf(stderr, "stepflow: %s\n", std::string(key.status().message()).c_str());
    std::abort();
  }
  return TaskTokens(*std::move(key));
}

absl::StatusOr<TaskTokens> TaskTokens::LoadOrCreate(storage::Store& store) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored, store.Get(storage::Column::kMeta, kKeyRow));
  if (stored) {
    if (stored->size() != kKeyBytes) {
      return absl::DataLossError(absl::StrCat("the stored task token key has ", stored->size(), " bytes, not ",
                                              kKeyBytes));
    }
    TaskTokens tokens(std::move(*stored));
    ASSIGN_OR_RETURN(std::optional<std::string> legacy, store.Get(storage::Column::kMeta, kLegacyRow));
    if (legacy) {
      for (absl::string_view token : absl::StrSplit(*legacy, '\n', absl::SkipEmpty())) {
        tokens.legacy_.insert(std::string(token));
      }
    }
    return tokens;
  }
  ASSIGN_OR_RETURN(std::string new_key, RandomBytes(kKeyBytes));
  TaskTokens fresh(std::move(new_key));
  std::string legacy;
  RETURN_IF_ERROR(store.Scan(storage::Column::kTasks, "", "", false, [&](std::string_view key, std::string_view) {
    if (std::string token = UnsignedTokenOfTaskKey(key); !token.empty()) {
      legacy += token;
      legacy += '\n';
      fresh.legacy_.insert(std::move(token));
    }
    return true;
  }));
  if (!legacy.empty()) {
    // Before the key, which marks the store as done: a crash between the two commits writes both again.
    storage::WriteBatch batch;
    batch.Put(storage::Column::kMeta, std::string(kLegacyRow), std::move(legacy));
    RETURN_IF_ERROR(store.Commit(batch));
  }
  // Nodes of a cluster opening a new store together each drew a key: the first one written is the store's.
  ASSIGN_OR_RETURN(std::string key, storage::PutIfAbsent(store, storage::Column::kMeta, kKeyRow, fresh.key_));
  if (key != fresh.key_) {
    return LoadOrCreate(store);  // another node's: read it as stored
  }
  return fresh;
}

std::string TaskTokens::Signature(std::string_view execution_id, std::uint64_t task_id) const {
  const std::string mac = signer_.Sign(sm::UnsignedTaskToken(execution_id, task_id));
  return absl::WebSafeBase64Escape(absl::string_view(mac).substr(0, kSignatureBytes));
}

std::string TaskTokens::DeriveKey(std::string_view purpose) const {
  // Task tokens sign "<execution ARN>#<task id>", and an ARN starts with "arn:": no derived key is a task
  // token's signature.
  return signer_.Sign(std::string("derived key/").append(purpose));
}

std::string TaskTokens::Mint(std::string_view execution_id, std::uint64_t task_id) const {
  return sm::UnsignedTaskToken(execution_id, task_id) + "." + Signature(execution_id, task_id);
}

absl::StatusOr<std::pair<std::string, std::uint64_t>> TaskTokens::Verify(std::string_view token) const {
  if (token.size() > kMaxTokenBytes) {
    return NotAToken();
  }
  if (!legacy_.empty() && legacy_.contains(std::string(token))) {
    const std::size_t hash = token.rfind('#');
    std::uint64_t task_id = 0;
    std::from_chars(token.data() + hash + 1, token.data() + token.size(), task_id);
    return std::make_pair(std::string(token.substr(0, hash)), task_id);
  }
  if (token.size() < kSignatureChars + 3) {
    return NotAToken();
  }
  const std::size_t dot = token.size() - kSignatureChars - 1;
  if (token[dot] != '.') {
    return NotAToken();
  }
  const std::size_t hash = token.rfind('#', dot);
  if (hash == std::string_view::npos || hash == 0) {
    return NotAToken();
  }
  std::string_view digits = token.substr(hash + 1, dot - hash - 1);
  // Canonical decimal only: "#02" must not name task 2 (one task, one token).
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) {
    return NotAToken();
  }
  std::uint64_t task_id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), task_id);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return NotAToken();
  }
  std::string_view execution_id = token.substr(0, hash);
  const std::string expected = Signature(execution_id, task_id);
  std::string_view given = token.substr(dot + 1);
  if (!ConstantTimeEquals(given, expected)) {
    return NotAToken();
  }
  return std::make_pair(std::string(execution_id), task_id);
}

}  // namespace stepflow::engine
