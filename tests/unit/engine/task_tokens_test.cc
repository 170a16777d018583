// Task tokens (engine/task_tokens.h): signed, canonical, kept across a restart, refused when forged, and the
// unsigned tokens a store had outstanding when it was upgraded still accepted; the keys derived from the
// store's key (page tokens); and the HMAC and random helpers they stand on (engine/crypto.h).

#include "engine/task_tokens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/crypto.h"
#include "engine/records.h"
#include "statemachine/runtime_values.h"
#include "storage/store.h"

namespace stepflow::engine {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kArn[] = "arn:aws:states:us-east-1:123456789012:execution:Work:e1";

class TaskTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           (std::string("stepflow_task_tokens_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<storage::Store> OpenStore() {
    storage::StoreOptions o;
    o.path = dir_.string();
    o.sync_writes = false;
    auto store = storage::OpenRocksDbStore(o);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  static void ExpectRefused(const TaskTokens& tokens, const std::string& token) {
    absl::StatusOr<std::pair<std::string, std::uint64_t>> v = tokens.Verify(token);
    ASSERT_FALSE(v.ok()) << "accepted: " << token;
    EXPECT_TRUE(absl::IsInvalidArgument(v.status()));
    EXPECT_THAT(std::string(v.status().message()), StartsWith("InvalidToken: "));
  }

  std::filesystem::path dir_;
};

TEST_F(TaskTokensTest, AMintedTokenVerifiesToItsExecutionAndTask) {
  TaskTokens tokens = TaskTokens::Random();
  const std::string token = tokens.Mint(kArn, 42);
  EXPECT_THAT(token, StartsWith(std::string(kArn) + "#42."));
  EXPECT_EQ(token.size(), std::string(kArn).size() + 4 + 22);  // "#42." and 128 bits of base64url
  absl::StatusOr<std::pair<std::string, std::uint64_t>> v = tokens.Verify(token);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->first, kArn);
  EXPECT_EQ(v->second, 42u);
  EXPECT_EQ(tokens.Mint(kArn, 42), token);  // deterministic: replay mints the same token
  EXPECT_NE(tokens.Mint(kArn, 43), token);
}

TEST_F(TaskTokensTest, ForgedTokensAreRefused) {
  TaskTokens tokens = TaskTokens::Random();
  const std::string good = tokens.Mint(kArn, 7);
  const std::string signature = good.substr(good.rfind('.') + 1);
  ExpectRefused(tokens, sm::UnsignedTaskToken(kArn, 7));                   // the old, guessable form
  ExpectRefused(tokens, std::string(kArn) + "#07." + signature);           // not canonical: "#07" is not "#7"
  ExpectRefused(tokens, std::string(kArn) + "#8." + signature);            // another task, same signature
  ExpectRefused(tokens, "arn:aws:states:us-east-1:123456789012:execution:Work:e2#7." + signature);
  std::string flipped = good;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  ExpectRefused(tokens, flipped);
  ExpectRefused(tokens, TaskTokens::Random().Mint(kArn, 7));  // another server's key
  ExpectRefused(tokens, "");
  ExpectRefused(tokens, "#1." + signature);
  ExpectRefused(tokens, std::string(kArn) + "#18446744073709551616." + signature);  // past uint64
  ExpectRefused(tokens, std::string(100000, 'a') + good);
  absl::StatusOr<std::pair<std::string, std::uint64_t>> v = tokens.Verify(std::string(kArn) + "#7.x");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), ::testing::Not(HasSubstr(signature)));
}

TEST_F(TaskTokensTest, TheKeyIsKeptInTheStoreAcrossARestart) {
  std::string token;
  {
    std::unique_ptr<storage::Store> store = OpenStore();
    absl::StatusOr<TaskTokens> tokens = TaskTokens::LoadOrCreate(*store);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    token = tokens->Mint(kArn, 3);
  }
  std::unique_ptr<storage::Store> store = OpenStore();
  absl::StatusOr<TaskTokens> again = TaskTokens::LoadOrCreate(*store);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->Mint(kArn, 3), token);
  EXPECT_TRUE(again->Verify(token).ok());
}

TEST_F(TaskTokensTest, DerivedKeysAreKeptAcrossARestartAndDifferByPurposeAndStore) {
  std::string page_key;
  {
    std::unique_ptr<storage::Store> store = OpenStore();
    absl::StatusOr<TaskTokens> tokens = TaskTokens::LoadOrCreate(*store);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    page_key = tokens->DeriveKey("page tokens");
    EXPECT_EQ(page_key.size(), kHmacSha256Bytes);
    EXPECT_NE(tokens->DeriveKey("something else"), page_key);
  }
  std::unique_ptr<storage::Store> store = OpenStore();
  absl::StatusOr<TaskTokens> again = TaskTokens::LoadOrCreate(*store);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->DeriveKey("page tokens"), page_key);
  EXPECT_NE(TaskTokens::Random().DeriveKey("page tokens"), page_key);
}

// RFC 4231, test case 2 (a key shorter than the block) and test case 1.
TEST(CryptoTest, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(absl::BytesToHexString(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(absl::BytesToHexString(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

// RFC 4231 test cases 1, 2 and 6 (a key longer than the block, hashed first) through the keyed signer, which
// must give HmacSha256's bytes; and the same signer used by racing threads.
TEST(CryptoTest, HmacSha256KeyMatchesRfc4231AndHmacSha256) {
  EXPECT_EQ(absl::BytesToHexString(HmacSha256Key("Jefe").Sign("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(absl::BytesToHexString(HmacSha256Key(std::string(20, '\x0b')).Sign("Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  const std::string long_key(131, '\xaa');
  const std::string message = "Test Using Larger Than Block-Size Key - Hash Key First";
  EXPECT_EQ(absl::BytesToHexString(HmacSha256Key(long_key).Sign(message)),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(HmacSha256(long_key, message), HmacSha256Key(long_key).Sign(message));
  for (std::size_t size : {0, 1, 63, 64, 65}) {
    const std::string key(size, 'k');
    EXPECT_EQ(HmacSha256Key(key).Sign(std::string(size * 3, 'm')), HmacSha256(key, std::string(size * 3, 'm')))
        << size;
  }
  const HmacSha256Key shared("shared key");
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const HmacSha256Key copy = shared;
      for (int i = 0; i < 200; ++i) {
        const std::string message = absl::StrCat("thread ", t, " message ", i);
        if ((i % 2 == 0 ? shared : copy).Sign(message) != HmacSha256("shared key", message)) {
          ++mismatches;
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(CryptoTest, RandomBytesAndConstantTimeEquals) {
  absl::StatusOr<std::string> a = RandomBytes(32);
  absl::StatusOr<std::string> b = RandomBytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(ConstantTimeEquals(*a, *a));
  EXPECT_FALSE(ConstantTimeEquals(*a, *b));
  EXPECT_FALSE(ConstantTimeEquals(*a, a->substr(0, 31)));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST_F(TaskTokensTest, AStoredKeyOfTheWrongLengthIsDataLoss) {
  std::unique_ptr<storage::Store> store = OpenStore();
  storage::WriteBatch batch;
  batch.Put(storage::Column::kMeta, "task_token_key", "short");
  ASSERT_TRUE(store->Commit(batch).ok());
  EXPECT_TRUE(absl::IsDataLoss(TaskTokens::LoadOrCreate(*store).status()));
}

TEST_F(TaskTokensTest, AnUpgradedStoreStillAcceptsTheUnsignedTokensOfItsOutstandingTasksOnly) {
  {
    // A store from before signed tokens: one task queued or leased, and no key yet.
    std::unique_ptr<storage::Store> store = OpenStore();
    storage::WriteBatch batch;
    batch.Put(storage::Column::kTasks, TaskKey("work", kArn, 5), "");
    ASSERT_TRUE(store->Commit(batch).ok());
  }
  for (int open = 0; open < 2; ++open) {  // the first open creates the key, the second reads it back
    std::unique_ptr<storage::Store> store = OpenStore();
    absl::StatusOr<TaskTokens> tokens = TaskTokens::LoadOrCreate(*store);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    absl::StatusOr<std::pair<std::string, std::uint64_t>> legacy = tokens->Verify(sm::UnsignedTaskToken(kArn, 5));
    ASSERT_TRUE(legacy.ok()) << legacy.status();
    EXPECT_EQ(legacy->first, kArn);
    EXPECT_EQ(legacy->second, 5u);
    ExpectRefused(*tokens, sm::UnsignedTaskToken(kArn, 6));
    EXPECT_TRUE(tokens->Verify(tokens->Mint(kArn, 6)).ok());
  }
}

}  // namespace
}  // namespace stepflow::engine
