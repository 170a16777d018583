#include "engine/api/error_mapping.h"

#include <gtest/gtest.h>

namespace stepflow::api {
namespace {

TEST(ErrorMappingTest, NamePrefix) {
  EXPECT_EQ(ErrorNamePrefix("ExecutionDoesNotExist: arn:x"), "ExecutionDoesNotExist");
  EXPECT_EQ(ErrorNamePrefix("States.DataLimitExceeded: too big"), "States.DataLimitExceeded");
  EXPECT_EQ(ErrorNamePrefix("no name here"), "");
  EXPECT_EQ(ErrorNamePrefix("lowercase: x"), "");
  EXPECT_EQ(ErrorNamePrefix("Two words: x"), "");
  EXPECT_EQ(ErrorNamePrefix(": x"), "");
  EXPECT_EQ(ErrorNamePrefix(""), "");
}

TEST(ErrorMappingTest, CodeTable) {
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kOk), grpc::StatusCode::OK);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kInvalidArgument), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kNotFound), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kAlreadyExists), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kFailedPrecondition), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kDeadlineExceeded), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kUnavailable), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kAborted), grpc::StatusCode::ABORTED);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kCancelled), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kDataLoss), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kUnknown), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kResourceExhausted), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(ErrorMappingTest, KeepsMessageWithName) {
  grpc::Status s = ToGrpcStatus(absl::NotFoundError("ExecutionDoesNotExist: arn:x"), nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "ExecutionDoesNotExist: arn:x");
  EXPECT_EQ(ErrorName(absl::NotFoundError("ExecutionDoesNotExist: arn:x")), "ExecutionDoesNotExist");
}

TEST(ErrorMappingTest, GivesUnnamedErrorsAGenericName) {
  grpc::Status s = ToGrpcStatus(absl::InternalError("rocksdb said no"), nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(s.error_message(), "InternalFailure: rocksdb said no");
  EXPECT_EQ(ErrorName(absl::UnavailableError("disk")), "ServiceUnavailable");
  EXPECT_EQ(ErrorName(absl::InvalidArgumentError("bad")), "ValidationException");
  EXPECT_EQ(ErrorName(absl::OkStatus()), "");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), nullptr).ok());
}

}  // namespace
}  // namespace stepflow::api
