#pragma once
// A GoogleTest fixture base for suites on a private PostgreSQL: one server per test suite (started in
// SetUpTestSuite from the main thread, which outlives it), a fresh database per test. Tests skip with a message
// when PostgreSQL is not installed.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "storage/postgres/testing/private_postgres.h"

namespace stepflow::storage::testing {

class PostgresSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<PrivatePostgres>> pg = PrivatePostgres::Start();
    start_status_ = new absl::Status(pg.status());
    if (pg.ok()) {
      server_ = pg->release();
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete start_status_;
    start_status_ = nullptr;
  }

  // Sets conninfo_ to a new database; skips the test when PostgreSQL is not installed. Call from SetUp and
  // return when IsSkipped() or HasFatalFailure().
  void CreateDatabaseOrSkip(const char* what) {
    if (absl::IsNotFound(*start_status_)) {
      GTEST_SKIP() << "PostgreSQL is not installed, " << what << " not tested: " << *start_status_;
    }
    ASSERT_NE(server_, nullptr) << *start_status_;
    absl::StatusOr<std::string> db = server_->CreateDatabase();
    ASSERT_TRUE(db.ok()) << db.status();
    conninfo_ = *db;
  }

  static inline PrivatePostgres* server_ = nullptr;
  static inline absl::Status* start_status_ = nullptr;
  std::string conninfo_;
};

}  // namespace stepflow::storage::testing
