#include "engine/api/error_mapping.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace stepflow::api {
namespace {

constexpr std::size_t kMaxErrorNameLength = 80;

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

std::string_view GenericName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
      return "ValidationException";
    case absl::StatusCode::kNotFound:
      return "ResourceNotFound";
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return "ResourceConflict";
    case absl::StatusCode::kFailedPrecondition:
      return "FailedPrecondition";
    case absl::StatusCode::kDeadlineExceeded:
      return "Timeout";
    case absl::StatusCode::kUnavailable:
      return "ServiceUnavailable";
    case absl::StatusCode::kCancelled:
      return "Cancelled";
    case absl::StatusCode::kUnauthenticated:
      return "UnrecognizedClientException";
    case absl::StatusCode::kPermissionDenied:
      return "AccessDeniedException";
    case absl::StatusCode::kResourceExhausted:
      return "ResourceExhausted";
    default:
      return "InternalFailure";
  }
}

// The length of the valid UTF-8 sequence starting at text[i], or 0 when it is not one.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  std::size_t n = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : (lead >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > text.size() || (n == 2 && lead < 0xc2)) {
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) {
      return 0;
    }
  }
  return n;
}

}  // namespace

std::string TruncateForMessage(std::string_view text, std::size_t max) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t n = Utf8SequenceLength(text, i);
    if (out.size() + std::max<std::size_t>(n, 1) > max) {
      break;
    }
    if (n == 0) {
      out += '?';
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  if (i < text.size()) {
    absl::StrAppend(&out, "...(", text.size(), " bytes)");
  }
  return out;
}

std::string_view ErrorNamePrefix(std::string_view message) {
  std::size_t colon = message.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon > kMaxErrorNameLength) {
    return {};
  }
  if (message[0] < 'A' || message[0] > 'Z') {
    return {};
  }
  for (std::size_t i = 0; i < colon; ++i) {
    if (!IsNameChar(message[i])) {
      return {};
    }
  }
  return message.substr(0, colon);
}

std::string ErrorName(const absl::Status& status) {
  if (status.ok()) {
    return "";
  }
  std::string_view prefix =
      ErrorNamePrefix(std::string_view(status.message().data(), status.message().size()));
  return std::string(prefix.empty() ? GenericName(status.code()) : prefix);
}

namespace {

// The one table: each absl code, its gRPC code and its HTTP status (REST API).
struct WireCodes {
  absl::StatusCode code;
  grpc::StatusCode grpc;
  int http;
};
constexpr WireCodes kWireCodes[] = {
    {absl::StatusCode::kOk, grpc::StatusCode::OK, 200},
    {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT, 400},
    {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND, 404},
    {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS, 409},
    {absl::StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION, 409},
    {absl::StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED, 504},
    {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE, 503},
    {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED, 409},
    {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED, 499},
    {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED, 401},
    {absl::StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED, 403},
    // e.g. a full disk ("disk full"), or too many waits (ThrottlingException): reads still work
    {absl::StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED, 429},
};
constexpr WireCodes kOtherwise = {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL, 500};

const WireCodes& WireCodesOf(absl::StatusCode code) {
  for (const WireCodes& row : kWireCodes) {
    if (row.code == code) {
      return row;
    }
  }
  return kOtherwise;
}

}  // namespace

grpc::StatusCode ToGrpcCode(absl::StatusCode code) { return WireCodesOf(code).grpc; }

int ToHttpStatus(absl::StatusCode code) { return WireCodesOf(code).http; }

grpc::Status ToGrpcStatus(const absl::Status& status, grpc::ServerContextBase* context) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  std::string name = ErrorName(status);
  std::string message = TruncateForMessage(std::string_view(status.message().data(), status.message().size()), kMaxErrorMessageBytes);
  if (ErrorNamePrefix(message).empty()) {
    message = absl::StrCat(name, ": ", message);
  }
  if (context != nullptr) {
    context->AddTrailingMetadata(kErrorNameMetadataKey, name);
  }
  return grpc::Status(ToGrpcCode(status.code()), message);
}

}  // namespace stepflow::api
