// Pages are bounded by bytes as well as by count (engine/paging.h kMaxPageBytes): any stored history, list of
// executions or list of dead letters can be read page by page whatever its items weigh, forward and reversed,
// with nothing skipped or repeated.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/history_rows.h"
#include "engine/paging.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

// 45 Pass states: each one's entered/exited events carry the whole input.
std::string PassChain(int states) {
  std::string def = R"({"StartAt":"P0","States":{)";
  for (int i = 0; i < states; ++i) {
    absl::StrAppend(&def, i > 0 ? "," : "", "\"P", i, "\":{\"Type\":\"Pass\",",
                    i + 1 < states ? absl::StrCat("\"Next\":\"P", i + 1, "\"") : std::string("\"End\":true"), "}");
  }
  return def + "}}";
}

class PagingTest : public EngineTest {};

TEST_F(PagingTest, AHistoryOfLargeEventsIsReadPageByPageInBothOrders) {
  ASSERT_TRUE(engine_->CreateStateMachine("Chain", PassChain(45), false).ok());
  const std::string input = absl::StrCat(R"({"blob":")", std::string(100 * 1024, 'x'), R"("})");
  absl::StatusOr<ExecutionInfoRecord> started = engine_->StartExecution("Chain", "big", input);
  ASSERT_TRUE(started.ok()) << started.status();
  ASSERT_EQ(Finish(started->arn).status, sm::ExecutionStatus::kSucceeded);
  for (bool reverse : {false, true}) {
    std::vector<std::int64_t> ids;
    std::string token;
    int pages = 0;
    do {
      absl::StatusOr<Page<HistoryEventRecord>> page = engine_->GetExecutionHistory(started->arn, 1000, token, reverse);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_FALSE(page->items.empty());
      std::size_t bytes = 0;
      for (const HistoryEventRecord& e : page->items) {
        bytes += HistoryEventBytes(e);
        ids.push_back(e.id);
      }
      EXPECT_TRUE(page->items.size() == 1 || bytes <= kMaxPageBytes) << bytes << " bytes in page " << pages;
      token = page->next_page_token;
      ++pages;
    } while (!token.empty());
    ASSERT_EQ(ids.size(), 2u + 45 * 2);  // ExecutionStarted, entered/exited per state, ExecutionSucceeded
    for (std::size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ(ids[i], reverse ? static_cast<std::int64_t>(ids.size() - i) : static_cast<std::int64_t>(i + 1));
    }
    EXPECT_GE(pages, 9) << "about 9 MB of events must take several pages";
  }
}

TEST_F(PagingTest, AListOfExecutionsWithLongCausesIsCutByBytes) {
  ASSERT_TRUE(engine_->CreateStateMachine("Wait", kWait5, false).ok());
  const std::string cause(32000, 'c');
  constexpr int kExecutions = 40;  // 40 x 32 KB: more than one page's bytes
  for (int i = 0; i < kExecutions; ++i) {
    absl::StatusOr<ExecutionInfoRecord> e = engine_->StartExecution("Wait", absl::StrCat("e", i), "{}");
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_TRUE(engine_->StopExecution(e->arn, "Stopped", cause).ok());
  }
  std::vector<std::string> arns;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<Page<ExecutionInfoRecord>> page = engine_->ListExecutions({}, 1000, token);
    ASSERT_TRUE(page.ok()) << page.status();
    std::size_t bytes = 0;
    for (const ExecutionInfoRecord& r : page->items) {
      bytes += r.cause.size();
      arns.push_back(r.arn);
    }
    EXPECT_LE(bytes, kMaxPageBytes);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(arns.size(), static_cast<std::size_t>(kExecutions));
  EXPECT_EQ(std::set<std::string>(arns.begin(), arns.end()).size(), arns.size()) << "an execution listed twice";
}

}  // namespace
}  // namespace stepflow::engine::testing
