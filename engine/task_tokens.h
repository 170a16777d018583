#pragma once
// Task tokens: the capability a worker (or any client of a .waitForTaskToken task) presents to complete,
// fail or heartbeat one task attempt. A token is
//
//   <execution ARN>#<task id>.<signature>
//
// where <task id> is the attempt's decimal id without leading zeros and <signature> is the first 128 bits
// of HMAC-SHA256(key, "<execution ARN>#<task id>"), base64url without padding (22 characters). Knowing an
// execution's ARN (anyone who may list executions does) is therefore not enough to complete its tasks: the
// signature can only be made with the store's key, which never leaves the server.
//
// The key is 32 random bytes kept in the store (column `meta`, storage/FORMAT.md), created when a store is
// first opened, so that tokens handed out before a restart stay valid after it and replaying an execution
// mints the same tokens its live run did.
//
// A store written by a release that handed out unsigned tokens ("<execution ARN>#<task id>") keeps those that
// were outstanding: when the key is created, the tasks then queued or leased (column `tasks`) are recorded
// as the only ones whose unsigned token is still accepted (row `legacy_task_tokens`), so that an upgrade does
// not fail the tasks its workers are running. No other unsigned token is ever accepted.
//
// Thread-safety: immutable after construction; every method may be called from any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "engine/crypto.h"
#include "statemachine/runtime_values.h"
#include "storage/store.h"

namespace stepflow::engine {

class TaskTokens final : public sm::TaskTokenMinter {
 public:
  // Bytes of key material. Default for new stores: 32 (the HMAC-SHA256 block-size-friendly length).
  static constexpr std::size_t kKeyBytes = 32;

  // A key from the operating system's random source, for stores that are not kept (`stepflow run`). Aborts
  // when the operating system has no randomness to give.
  static TaskTokens Random();
  // The key kept in `store`, created (and committed, with the legacy tokens of the tasks outstanding then) on
  // first use; of processes creating it together (cluster nodes opening a new store), every one gets the key
  // written first (storage::PutIfAbsent). The store's error when it fails; DataLoss when a stored key has the
  // wrong length; Unavailable when a new key is needed and the operating system has no randomness to give.
  static absl::StatusOr<TaskTokens> LoadOrCreate(storage::Store& store);

  std::string Mint(std::string_view execution_id, std::uint64_t task_id) const override;
  // The execution and task id a token names, when its signature is this key's. InvalidToken (never naming
  // the expected signature) for anything else: a forged or foreign signature, a token from another store,
  // a missing signature, a task id with leading zeros or out of range.
  absl::StatusOr<std::pair<std::string, std::uint64_t>> Verify(std::string_view token) const;

  // A key for another of the server's signatures (e.g. "page tokens"), derived from this one: 32 bytes of
  // HMAC-SHA256(key, "derived key/" + purpose). The same for the same store and purpose across restarts,
  // different for each purpose, and no use for minting task tokens.
  std::string DeriveKey(std::string_view purpose) const;

 private:
  explicit TaskTokens(std::string key) : key_(std::move(key)), signer_(key_) {}
  std::string Signature(std::string_view execution_id, std::uint64_t task_id) const;

  std::string key_;
  HmacSha256Key signer_;  // key_, its HMAC blocks hashed once
  // Unsigned tokens still accepted (see above).
  absl::flat_hash_set<std::string> legacy_;
};

}  // namespace stepflow::engine
