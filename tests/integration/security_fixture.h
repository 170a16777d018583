#pragma once
// The fixture of the security tests (issue 9, section 5): test certificates made at run time with the
// openssl command (a CA, a server certificate for 127.0.0.1, a client certificate, and a second CA that
// nobody trusts), a token file with one token per role, and servers started with them on 127.0.0.1:0.
//
// Why generated and not committed: nothing to expire or to leak, and each run gets fresh keys. It costs
// about 100 ms per test with EC keys.

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
#include "tests/integration/process.h"

namespace stepflow::itest {

inline std::string Sha256HexForTest(const std::string& text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    absl::StrAppend(&out, absl::Hex(digest[i], absl::kZeroPad2));
  }
  return out;
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteWholeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// The secrets of the test tokens, by role; the token file names each "<role>-token".
inline const std::map<std::string, std::string>& TestTokens() {
  static const auto* tokens = new std::map<std::string, std::string>{
      {"reader", "secret-reader-1"}, {"operator", "secret-operator-1"},
      {"worker", "secret-worker-1"}, {"admin", "secret-admin-1"}};
  return *tokens;
}

class SecurityFixture : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_ != nullptr) {
      int code = server_->Stop(SIGTERM);
      EXPECT_EQ(code, 0);
      if (HasFailure()) {
        std::fprintf(stderr, "---- server log ----\n%s---- end ----\n", server_->log().c_str());
      }
    }
  }

  std::string Path(const std::string& name) const { return tmp_.path() + "/" + name; }

  // ca.pem/ca.key, server.pem/server.key (127.0.0.1, localhost), client.pem/client.key (CN=worker-7, by
  // ca), rogue-client.pem/.key (signed by a CA nobody trusts).
  void MakeCertificates() {
    std::string d = tmp_.path();
    std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string script = absl::StrCat(
        "set -e; cd '", d, "'\n",
        "openssl req -x509 ", key, " -keyout ca.key -out ca.pem -days 2 -subj /CN=stepflow-test-ca\n",
        "openssl req -x509 ", key, " -keyout rogue-ca.key -out rogue-ca.pem -days 2 -subj /CN=rogue-ca\n",
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext\n",
        "openssl req ", key, " -keyout server.key -out server.csr -subj /CN=localhost\n",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
        "-extfile san.ext\n",
        "openssl req ", key, " -keyout client.key -out client.csr -subj /CN=worker-7\n",
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2\n",
        "openssl req ", key, " -keyout rogue-client.key -out rogue-client.csr -subj /CN=rogue\n",
        "openssl x509 -req -in rogue-client.csr -CA rogue-ca.pem -CAkey rogue-ca.key -CAcreateserial "
        "-out rogue-client.pem -days 2\n");
    WriteWholeFile(Path("certs.sh"), script);
    int rc = std::system(absl::StrCat("sh '", Path("certs.sh"), "' >'", Path("certs.log"), "' 2>&1").c_str());
    ASSERT_EQ(rc, 0) << ReadWholeFile(Path("certs.log"));
  }

  // tokens.json: one token per role; the worker's may poll "q1" only. `extra` entries are appended.
  std::string WriteTokenFile(const std::string& extra = "") {
    std::string entries;
    for (const auto& [role, secret] : TestTokens()) {
      absl::StrAppend(&entries, entries.empty() ? "" : ",\n", "{\"name\":\"", role, "-token\",\"sha256\":\"",
                      Sha256HexForTest(secret), "\",\"role\":\"", role, "\"",
                      role == "worker" ? ",\"queues\":[\"q1\"]" : "", "}");
    }
    if (!extra.empty()) {
      absl::StrAppend(&entries, ",\n", extra);
    }
    std::string path = Path("tokens.json");
    WriteWholeFile(path, absl::StrCat("{\"tokens\":[\n", entries, "\n]}\n"));
    return path;
  }

  void StartServer(std::vector<std::string> extra) {
    extra.push_back("--audit-log");
    extra.push_back(Path("audit.log"));
    absl::StatusOr<std::unique_ptr<ServerProcess>> s = ServerProcess::Start(tmp_.path() + "/data", extra);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }

  // A client with `options` (token, TLS); fails the test when it cannot connect.
  std::unique_ptr<client::Client> Connect(const client::ClientOptions& options = {}) {
    absl::StatusOr<std::unique_ptr<client::Client>> c =
        client::Client::Connect(server_->address(), std::chrono::seconds(10), options);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::unique_ptr<client::Client> ConnectAs(const std::string& role, client::ClientOptions options = {}) {
    options.token = TestTokens().at(role);
    return Connect(options);
  }

  std::string AuditLog() const { return ReadWholeFile(Path("audit.log")); }

  TempDir tmp_;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace stepflow::itest
