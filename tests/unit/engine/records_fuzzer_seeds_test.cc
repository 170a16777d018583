// Runs the stored-records fuzz target (tests/fuzz/records_fuzzer.cc) over its committed seed corpus with the
// regular compiler, so that the target builds and its seeds pass in every build, not only libFuzzer ones.
// Each seed must also decode (they are real values of each kind and version), which a fuzzer run alone
// would not check; except the reproducers of fixed findings, named refused_*, which must be refused.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "engine/dead_letters.h"
#include "engine/definitions.h"
#include "engine/execution_record.h"
#include "engine/history_rows.h"
#include "engine/input_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace stepflow::engine {
namespace {

#ifndef STEPFLOW_RECORDS_CORPUS
#error "STEPFLOW_RECORDS_CORPUS must name tests/fuzz/corpus/records_fuzzer"
#endif

// Whether the value (after the selector byte) decodes with the decoder the selector names.
bool Decodes(const std::string& seed) {
  const std::string value = seed.substr(1);
  std::vector<HistoryEventRecord> events;
  switch (static_cast<std::uint8_t>(seed[0])) {
    case 0:
      return DecodeExecutionRecord(value).ok();
    case 1:
      return DecodeInputRow(value).ok();
    case 2:
      return DecodeDeadLetter(value).ok();
    case 3:
      return DecodeHistoryRow(value, events).ok();
    case 5:
      return DecodeDefinitionHead(value).ok();
    case 6:
      return DecodeDefinitionVersion(value).ok();
    default:
      return true;  // task rows: any bytes are a test of rejection
  }
}

TEST(RecordsFuzzerSeeds, EverySeedDecodesAndPassesTheTarget) {
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(STEPFLOW_RECORDS_CORPUS)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string seed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(seed.empty()) << entry.path();
    if (entry.path().filename().string().starts_with("refused_")) {
      EXPECT_FALSE(Decodes(seed)) << entry.path() << " is a finding's reproducer and must be refused";
    } else {
      EXPECT_TRUE(Decodes(seed)) << entry.path() << " is not a valid value of its kind";
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(seed.data()), seed.size());
    ++seeds;
  }
  EXPECT_GE(seeds, 10);
}

}  // namespace
}  // namespace stepflow::engine
