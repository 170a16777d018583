#pragma once
// The channel credentials of a ClientOptions (TLS files read and checked here). Internal to clients/cpp:
// gRPC types stay out of client.h.

#include <grpcpp/security/credentials.h>

#include <memory>

#include "absl/status/statusor.h"
#include "clients/cpp/client.h"

namespace stepflow::client {

// Insecure credentials, or TLS with the CA and client certificate files of `options`. InvalidArgument when a
// file cannot be read, is larger than 1 MiB, or only one of client_cert and client_key is given.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(const ClientOptions& options);

}  // namespace stepflow::client
