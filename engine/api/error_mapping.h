#pragma once
// The one place where an engine absl::Status becomes a gRPC status (design.md "Interfaces"; style.md habit
// 2).
//
//   InvalidArgument -> INVALID_ARGUMENT     NotFound -> NOT_FOUND        AlreadyExists -> ALREADY_EXISTS
//   FailedPrecondition -> FAILED_PRECONDITION   DeadlineExceeded -> DEADLINE_EXCEEDED
//   Unavailable -> UNAVAILABLE   Aborted -> ABORTED   Cancelled -> CANCELLED (the client went away)
//   anything else -> INTERNAL
//
// The message is kept; it starts with the AWS-style error name ("ExecutionDoesNotExist: ..."). The same
// name is sent in the trailing metadata key "stepflow-error". A message without such a prefix (a bug, or a
// library's error) gets a generic name for its code, so that every error on the wire has one.

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace stepflow::api {

// Trailing metadata key carrying the AWS-style error name.
inline constexpr char kErrorNameMetadataKey[] = "stepflow-error";

// The AWS-style error name at the start of `message` ("ExecutionDoesNotExist" for
// "ExecutionDoesNotExist: arn:... does not exist"), or "" when the message has none.
std::string_view ErrorNamePrefix(std::string_view message);

// The error name of a non-OK status: its prefix, else a generic name for its code ("ValidationException",
// "ResourceNotFound", "ResourceConflict", "FailedPrecondition", "Timeout", "ServiceUnavailable",
// "Cancelled", "InternalFailure"). "" for OK.
std::string ErrorName(const absl::Status& status);

// The gRPC code for an absl code (the table above).
grpc::StatusCode ToGrpcCode(absl::StatusCode code);

// Converts `status` and, when it is an error and `context` is not null, adds the "stepflow-error" trailer.
grpc::Status ToGrpcStatus(const absl::Status& status, grpc::ServerContextBase* context);

}  // namespace stepflow::api
