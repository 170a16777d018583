#pragma once
// The one place where an engine absl::Status becomes a gRPC status or an HTTP status (design.md
// "Interfaces"; style.md habit 2). One table (error_mapping.cc) holds both:
//
//   InvalidArgument -> INVALID_ARGUMENT 400      NotFound -> NOT_FOUND 404    AlreadyExists -> ALREADY_EXISTS 409
//   FailedPrecondition -> FAILED_PRECONDITION 409   DeadlineExceeded -> DEADLINE_EXCEEDED 504
//   Unavailable -> UNAVAILABLE 503   Aborted -> ABORTED 409   Cancelled -> CANCELLED 499 (the client went away)
//   Unauthenticated -> UNAUTHENTICATED 401   PermissionDenied -> PERMISSION_DENIED 403
//   ResourceExhausted -> RESOURCE_EXHAUSTED 429
//   anything else -> INTERNAL 500
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
// The HTTP status for an absl code (the same table); 200 for OK.
int ToHttpStatus(absl::StatusCode code);

// Identifiers (names, ARNs, queues, ids) quoted in messages are cut to this many bytes; a whole message to
// kMaxErrorMessageBytes, so that an oversized request never makes an oversized trailer.
inline constexpr std::size_t kMaxIdentifierInMessage = 256;
inline constexpr std::size_t kMaxErrorMessageBytes = 2048;

// `text` cut to at most `max` bytes (at a UTF-8 character boundary), followed by "...(N bytes)" when cut;
// bytes that are not valid UTF-8 become '?'. The one helper for quoting caller-supplied text in messages.
std::string TruncateForMessage(std::string_view text, std::size_t max = kMaxIdentifierInMessage);

// Converts `status` (its message cut to kMaxErrorMessageBytes) and, when it is an error and `context` is not null, adds the "stepflow-error" trailer.
grpc::Status ToGrpcStatus(const absl::Status& status, grpc::ServerContextBase* context);

}  // namespace stepflow::api
