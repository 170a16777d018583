#include "clients/cpp/credentials.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace stepflow::client {
namespace {

// A PEM file larger than this is refused.
constexpr std::uintmax_t kMaxPemFileBytes = 1 << 20;

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || std::filesystem::file_size(path, ec) > kMaxPemFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("InvalidArgument: ", what, " ", path,
                                                   ": not a readable file of at most ", kMaxPemFileBytes, " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("InvalidArgument: ", what, " ", path, ": cannot read it"));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(const ClientOptions& options) {
  bool tls = options.tls || !options.ca_cert.empty() || !options.client_cert.empty() || !options.client_key.empty();
  if (!tls) {
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_cert.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(options.ca_cert, "--ca-cert");
    if (!ca.ok()) {
      return ca.status();
    }
    ssl.pem_root_certs = *ca;
  }
  if (options.client_cert.empty() != options.client_key.empty()) {
    return absl::InvalidArgumentError("InvalidArgument: --client-cert and --client-key go together");
  }
  if (!options.client_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadPem(options.client_cert, "--client-cert");
    absl::StatusOr<std::string> key = ReadPem(options.client_key, "--client-key");
    if (!cert.ok() || !key.ok()) {
      return !cert.ok() ? cert.status() : key.status();
    }
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::SslCredentials(ssl);
}

absl::Status ApplyEnvironment(ClientOptions& options) {
  auto fill = [](std::string& field, const char* name) {
    if (const char* v = std::getenv(name); field.empty() && v != nullptr && *v != '\0') {
      field = v;
    }
  };
  fill(options.token, "STEPFLOW_TOKEN");
  fill(options.ca_cert, "STEPFLOW_CA_CERT");
  fill(options.client_cert, "STEPFLOW_CLIENT_CERT");
  fill(options.client_key, "STEPFLOW_CLIENT_KEY");
  if (const char* v = std::getenv("STEPFLOW_TLS"); v != nullptr && *v != '\0') {
    std::string_view tls(v);
    if (tls != "true" && tls != "false" && tls != "1" && tls != "0") {
      return absl::InvalidArgumentError(absl::StrCat("STEPFLOW_TLS must be true or false, not '", std::string(tls), "'"));
    }
    options.tls = options.tls || tls == "true" || tls == "1";
  }
  return absl::OkStatus();
}

}  // namespace stepflow::client
