#pragma once
// The fixture of the integration tests: a real `stepflow server` on 127.0.0.1:0 with a temp data directory,
// and a client connected to it. The server's log is printed when a test fails.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "clients/cpp/client.h"
#include "tests/integration/process.h"

namespace stepflow::itest {

namespace v1 = ::stepflow::v1;

inline constexpr char kPassChain[] = R"({
  "StartAt": "One",
  "States": {
    "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "Two"},
    "Two": {"Type": "Pass", "Result": 2, "ResultPath": "$.two", "Next": "Three"},
    "Three": {"Type": "Pass", "Result": 3, "ResultPath": "$.three", "End": true}
  }
})";

inline constexpr char kFails[] = R"({
  "StartAt": "Boom",
  "States": {"Boom": {"Type": "Fail", "Error": "Custom.Error", "Cause": "it broke"}}
})";

// A Wait of `seconds`, then a Pass.
inline std::string WaitThenPass(int seconds) {
  return R"({"StartAt":"Pause","States":{"Pause":{"Type":"Wait","Seconds":)" + std::to_string(seconds) +
         R"(,"Next":"Done"},"Done":{"Type":"Pass","Result":"done","End":true}}})";
}

// Two problems: StartAt and a Next that name no state.
inline constexpr char kTwoProblems[] = R"({"StartAt":"Nope","States":{"A":{"Type":"Pass","Next":"B"}}})";

// The deadline of the fixture client's calls: the client's default (30 s), and four times that under
// ThreadSanitizer (make test-tsan), where the server runs several times slower. There DiskFullTest's first write
// after the disk grows, which reopens the ~90 MB store read-write, passed 30 s.
#if defined(__SANITIZE_THREAD__)
inline constexpr std::chrono::seconds kFixtureCallTimeout{120};
#else
inline constexpr std::chrono::seconds kFixtureCallTimeout{30};
#endif

// How many times longer a test waits for the server under ThreadSanitizer, whose server runs several times
// slower (its cancelled calls and its shutdown most of all). A bound a test waits for, not a speed measurement.
#if defined(__SANITIZE_THREAD__)
inline constexpr int kSanitizerSlowdown = 5;
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif

// How long StopServer and TearDown let the server exit after their signal before they kill it: the process
// helper's 30 s, scaled (under ThreadSanitizer the server took over 30 s to stop after 1,000 cancelled polls).
inline constexpr std::chrono::seconds kServerStopTimeout{30 * kSanitizerSlowdown};

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void TearDown() override {
    if (server_ != nullptr) {
      client_.reset();
      int code = server_->Stop(SIGTERM, kServerStopTimeout);
      EXPECT_EQ(code, 0) << "the server did not exit 0 after SIGTERM";
    }
    DumpLogOnFailure();
  }

  void StartServer(const std::vector<std::string>& extra = {},
                   const std::map<std::string, std::string>& env = {}) {
    client_.reset();
    absl::StatusOr<std::unique_ptr<ServerProcess>> s = ServerProcess::Start(data_dir(), extra, env);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    client::ClientOptions options;
    options.call_timeout = kFixtureCallTimeout;
    absl::StatusOr<std::unique_ptr<client::Client>> c =
        client::Client::Connect(server_->address(), std::chrono::seconds(10), options);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }

  // Stops the server with `signal`; returns its exit status.
  int StopServer(int signal = SIGTERM) {
    client_.reset();
    DumpLogOnFailure();
    int code = server_->Stop(signal, kServerStopTimeout);
    last_log_ = server_->log();
    server_.reset();
    return code;
  }

  void DumpLogOnFailure() {
    if (HasFailure() && !dumped_) {
      dumped_ = true;
      std::fprintf(stderr, "---- server log ----\n%s\n%s---- end of server log ----\n", last_log_.c_str(),
                   server_ != nullptr ? server_->log().c_str() : "");
    }
  }

  std::string data_dir() const { return tmp_.path() + "/data"; }
  client::Client& client() { return *client_; }
  ServerProcess& server() { return *server_; }

  // Creates a state machine, failing the test when it cannot.
  v1::StateMachine Create(const std::string& name, const std::string& definition,
                          v1::StateMachineType type = v1::STANDARD) {
    absl::StatusOr<v1::StateMachine> sm = client_->CreateStateMachine(name, definition, type);
    EXPECT_TRUE(sm.ok()) << sm.status();
    return sm.ok() ? *sm : v1::StateMachine();
  }

  // Starts an execution, failing the test when it cannot.
  v1::Execution Start(const std::string& sm, const std::string& input = "{}", const std::string& name = "") {
    absl::StatusOr<v1::Execution> e = client_->StartExecution(sm, input, name);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *e : v1::Execution();
  }

  // Describes the execution until it is not RUNNING (at most `timeout`).
  v1::Execution WaitForEnd(const std::string& arn,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      absl::StatusOr<v1::Execution> e = client_->DescribeExecution(arn);
      if (!e.ok()) {
        ADD_FAILURE() << e.status();
        return v1::Execution();
      }
      if (e->status() != v1::RUNNING || std::chrono::steady_clock::now() >= end) {
        return *e;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  TempDir tmp_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<client::Client> client_;
  std::string last_log_;
  bool dumped_ = false;
};

}  // namespace stepflow::itest
