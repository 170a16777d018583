// TLS and mutual TLS on both listeners (issue 9, section 5): certificates made by openssl at run time
// (security_fixture.h). A TLS server refuses plaintext clients and clients that do not trust its CA; with a
// client CA it refuses clients without a certificate, or with one from another CA, and the audit log names
// the certificate's subject; /healthz and /metrics are served over HTTPS; the CLI takes the same options.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/integration/security_fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr char kPass[] = R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})";

class TlsTest : public SecurityFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(MakeCertificates()); }

  std::vector<std::string> TlsFlags() {
    return {"--tls-cert", Path("server.pem"), "--tls-key", Path("server.key")};
  }
  client::ClientOptions Trusting() {
    client::ClientOptions o;
    o.ca_cert = Path("ca.pem");
    return o;
  }
  // Connect with a short timeout; the status tells whether the TLS handshake was accepted.
  absl::Status TryConnect(const client::ClientOptions& options) {
    absl::StatusOr<std::unique_ptr<client::Client>> c =
        client::Client::Connect(server_->address(), 2s, options);
    if (!c.ok()) {
      return c.status();
    }
    return (*c)->ListStateMachines(0, "").status();
  }
};

TEST_F(TlsTest, TlsServesTrustingClientsOnly) {
  StartServer(TlsFlags());
  std::unique_ptr<client::Client> c = Connect(Trusting());
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->CreateStateMachine("sm", kPass).ok());
  EXPECT_TRUE(c->StartSyncExecution("sm", "{}", "", 10s).ok());

  EXPECT_FALSE(TryConnect(client::ClientOptions()).ok()) << "a plaintext client must not get through";
  client::ClientOptions untrusting;
  untrusting.ca_cert = Path("rogue-ca.pem");
  EXPECT_FALSE(TryConnect(untrusting).ok()) << "a client that does not trust the server's CA must fail";

  std::string http = server_->http_address();
  httplib::SSLClient https(http.substr(0, http.rfind(':')), std::stoi(http.substr(http.rfind(':') + 1)));
  https.set_ca_cert_path(Path("ca.pem").c_str());
  https.enable_server_certificate_verification(true);
  auto healthz = https.Get("/healthz");
  ASSERT_TRUE(healthz) << httplib::to_string(healthz.error());
  EXPECT_EQ(healthz->status, 200);
  auto metrics = https.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr("stepflow_up 1"));
  httplib::Client plain(http.substr(0, http.rfind(':')), std::stoi(http.substr(http.rfind(':') + 1)));
  EXPECT_FALSE(plain.Get("/healthz")) << "plain HTTP must not be answered on the HTTPS listener";
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateFromTheClientCa) {
  std::vector<std::string> flags = TlsFlags();
  flags.insert(flags.end(), {"--tls-client-ca", Path("ca.pem")});
  StartServer(flags);
  client::ClientOptions with_cert = Trusting();
  with_cert.client_cert = Path("client.pem");
  with_cert.client_key = Path("client.key");
  std::unique_ptr<client::Client> c = Connect(with_cert);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->CreateStateMachine("sm", kPass).ok());

  EXPECT_FALSE(TryConnect(Trusting()).ok()) << "no client certificate";
  client::ClientOptions rogue = Trusting();
  rogue.client_cert = Path("rogue-client.pem");
  rogue.client_key = Path("rogue-client.key");
  EXPECT_FALSE(TryConnect(rogue).ok()) << "a client certificate from another CA";

  EXPECT_THAT(AuditLog(), HasSubstr("CN=worker-7"));
  EXPECT_THAT(AuditLog(), HasSubstr(R"("rpc":"/stepflow.v1.StateMachines/Create","resource":"sm","result":"OK")"));
}

TEST_F(TlsTest, TheCliTakesTokenAndTlsOptions) {
  std::vector<std::string> flags = TlsFlags();
  flags.insert(flags.end(), {"--token-file", WriteTokenFile()});
  StartServer(flags);
  WriteWholeFile(Path("sm.json"), kPass);
  // A generous connect timeout: a TLS handshake in the ThreadSanitizer build takes seconds on a loaded machine.
  CliResult created = RunCli({"--server", server_->address(), "--connect-timeout", "60", "--ca-cert",
                              Path("ca.pem"), "--token", TestTokens().at("admin"), "sm", "create", "sm",
                              Path("sm.json")});
  EXPECT_EQ(created.exit_code, 0) << created.err;
  CliResult refused = RunCli({"--server", server_->address(), "--connect-timeout", "60", "--ca-cert",
                              Path("ca.pem"), "--token", TestTokens().at("reader"), "sm", "delete", "sm"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("AccessDeniedException"));
  // The environment works as the flags do.
  std::string env = absl::StrCat("STEPFLOW_CONNECT_TIMEOUT=60 STEPFLOW_CA_CERT='", Path("ca.pem"), "' STEPFLOW_TOKEN='",
                                 TestTokens().at("reader"), "' '", StepflowBinary(), "' --server ",
                                 server_->address(), " sm list > '", Path("list.out"), "' 2>&1");
  EXPECT_EQ(std::system(env.c_str()), 0) << ReadWholeFile(Path("list.out"));
  EXPECT_THAT(ReadWholeFile(Path("list.out")), HasSubstr("sm"));
}

}  // namespace
}  // namespace stepflow::itest
