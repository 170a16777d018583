#pragma once
// The fixture of the worker integration tests: the real `stepflow server` on a fixed loopback port (so that
// workers keep polling the same address across a restart), `stepflow worker` processes running shell
// scripts, in-process SDK workers (clients/cpp/worker.h) on their own client, and history helpers. Worker
// logs are printed when a test fails; every process started here is stopped in TearDown, and so are the
// commands the scripts recorded in PIDS (a `stepflow worker` killed by SIGKILL leaves its command running).

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "clients/cpp/client.h"
#include "clients/cpp/worker.h"
#include "tests/integration/fixture.h"
#include "tests/integration/worker_process.h"

namespace stepflow::itest {

namespace json = boost::json;

// Waits until `done()` (checked every 50 ms) or `timeout`; returns done()'s last answer.
inline bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= end) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

inline bool FileExists(const std::string& path) { return std::ifstream(path).good(); }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// JSON text -> value (null when it does not parse).
inline json::value Json(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

inline int CountType(const std::vector<v1::HistoryEvent>& h, const std::string& type) {
  return static_cast<int>(
      std::count_if(h.begin(), h.end(), [&](const v1::HistoryEvent& e) { return e.type() == type; }));
}

inline std::vector<v1::HistoryEvent> OfType(const std::vector<v1::HistoryEvent>& h, const std::string& type) {
  std::vector<v1::HistoryEvent> out;
  std::copy_if(h.begin(), h.end(), std::back_inserter(out),
               [&](const v1::HistoryEvent& e) { return e.type() == type; });
  return out;
}

// A string member of an event's details ("" when absent).
inline std::string DetailString(const v1::HistoryEvent& e, const std::string& key) {
  json::value d = Json(e.details());
  if (!d.is_object() || !d.as_object().contains(key) || !d.as_object().at(key).is_string()) {
    return "";
  }
  return std::string(d.as_object().at(key).as_string().c_str());
}

class WorkerFixture : public ServerFixture {
 protected:
  void SetUp() override {
    absl::StatusOr<int> port = PickFreePort();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    StartServer(FixedPort());
    pids_file_ = tmp_.path() + "/PIDS";
  }

  void TearDown() override {
    StopSdkWorkers();
    for (auto& w : workers_) {
      if (w->Running()) {
        w->Stop(SIGKILL, std::chrono::seconds(10));
      }
    }
    KillRecordedCommands();
    if (HasFailure()) {
      for (std::size_t i = 0; i < workers_.size(); ++i) {
        std::fprintf(stderr, "---- worker %zu log ----\n%s---- end of worker %zu log ----\n", i,
                     workers_[i]->log().c_str(), i);
      }
    }
    ServerFixture::TearDown();
  }

  std::vector<std::string> FixedPort() const { return {"--grpc-address", absl::StrCat("127.0.0.1:", port_)}; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  // Restarts the server on the same port after stopping it with `signal` (waiting `outage` in between).
  void Restart(int signal, std::chrono::milliseconds outage = std::chrono::milliseconds(0)) {
    int code = StopServer(signal);
    if (signal == SIGTERM) {
      EXPECT_EQ(code, 0) << "the server did not exit 0 after SIGTERM";
    } else {
      EXPECT_EQ(code, 128 + signal);
    }
    std::this_thread::sleep_for(outage);
    StartServer(FixedPort());
  }

  // A shell script in the temp directory; it sees DIR (the temp directory) and PIDS (append `$$` to it so
  // that TearDown kills what a killed worker left running).
  std::string Script(const std::string& name, const std::string& body) {
    std::string path = tmp_.path() + "/" + name;
    absl::Status s = WriteExecutable(path, "#!/bin/sh\nDIR='" + tmp_.path() + "'\nPIDS='" + pids_file_ +
                                               "'\necho $$ >> \"$PIDS\"\n" + body);
    EXPECT_TRUE(s.ok()) << s;
    return path;
  }

  // Starts a `stepflow worker` running `script` for each task of `queue`.
  StepflowProcess* StartWorkerProcess(const std::string& queue, const std::string& identity,
                                      const std::string& script, int concurrency = 1,
                                      std::map<std::string, std::string> env = {},
                                      std::vector<std::string> extra = {}) {
    WorkerSpec spec;
    spec.server = address();
    spec.queue = queue;
    spec.identity = identity;
    spec.concurrency = concurrency;
    spec.command = {"/bin/sh", script};
    spec.extra = std::move(extra);
    spec.env = std::move(env);
    std::string log = absl::StrCat(tmp_.path(), "/worker-", workers_.size(), "-", identity, ".log");
    absl::StatusOr<std::unique_ptr<StepflowProcess>> w = StartWorker(spec, log);
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) {
      return nullptr;
    }
    workers_.push_back(std::move(*w));
    return workers_.back().get();
  }

  // An in-process SDK worker on its own client (stopped in TearDown, or by StopSdkWorkers).
  client::Worker* StartSdkWorker(const std::map<std::string, client::TaskHandler>& handlers,
                                 client::WorkerOptions options) {
    absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(address(), std::chrono::seconds(10));
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) {
      return nullptr;
    }
    sdk_clients_.push_back(std::move(*c));
    if (!options.log) {
      options.log = [](client::LogSeverity severity, const std::string& message) {
        if (severity != client::LogSeverity::kInfo) {
          std::fprintf(stderr, "[sdk worker] %s\n", message.c_str());
        }
      };
    }
    sdk_workers_.push_back(std::make_unique<client::Worker>(*sdk_clients_.back(), options));
    client::Worker* w = sdk_workers_.back().get();
    for (const auto& [queue, handler] : handlers) {
      absl::Status s = w->Handle(queue, handler);
      EXPECT_TRUE(s.ok()) << s;
    }
    absl::Status s = w->Start();
    EXPECT_TRUE(s.ok()) << s;
    return w;
  }

  void StopSdkWorkers() {
    for (auto& w : sdk_workers_) {
      (void)w->Stop();
    }
    sdk_workers_.clear();
    sdk_clients_.clear();
  }

  void KillRecordedCommands() {
    std::istringstream in(ReadFile(pids_file_));
    pid_t pid = 0;
    while (in >> pid) {
      if (pid > 1) {
        kill(-pid, SIGKILL);  // `stepflow worker` runs each command in a process group of its own
        kill(pid, SIGKILL);
      }
    }
  }

  std::vector<v1::HistoryEvent> History(const std::string& arn) {
    absl::StatusOr<std::vector<v1::HistoryEvent>> h = client().GetExecutionHistory(arn);
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? *h : std::vector<v1::HistoryEvent>{};
  }

  // Checks ids 1..n without gaps, one ExecutionStarted first.
  void ExpectWellFormed(const std::vector<v1::HistoryEvent>& h) {
    ASSERT_FALSE(h.empty());
    EXPECT_EQ(h.front().type(), "ExecutionStarted");
    EXPECT_EQ(CountType(h, "ExecutionStarted"), 1);
    for (std::size_t i = 0; i < h.size(); ++i) {
      ASSERT_EQ(h[i].id(), static_cast<std::int64_t>(i + 1)) << "history ids must be 1..n";
    }
  }

  // Waits until the execution's history has an event of `type` (at most `timeout`).
  bool WaitForEvent(const std::string& arn, const std::string& type, int count = 1,
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    return WaitUntil(
        [&] {
          absl::StatusOr<std::vector<v1::HistoryEvent>> h = client().GetExecutionHistory(arn);
          return h.ok() && CountType(*h, type) >= count;
        },
        timeout);
  }

  // The execution's status, error, cause and output, then its history, one event a line (for failures).
  std::string ExecutionStatusText(const v1::Execution& e) {
    std::string text = absl::StrCat(v1::ExecutionStatus_Name(e.status()), " error=", e.error(),
                                    " cause=", e.cause(), " output=", e.output(), "\nhistory:");
    absl::StatusOr<std::vector<v1::HistoryEvent>> h = client().GetExecutionHistory(e.arn());
    if (!h.ok()) {
      absl::StrAppend(&text, " ", h.status().ToString());
      return text;
    }
    for (const v1::HistoryEvent& ev : *h) {
      absl::StrAppend(&text, "\n  ", ev.id(), " t=", ev.timestamp().seconds() * 1000 + ev.timestamp().nanos() / 1000000,
                      " ", ev.type(), " ", ev.details());
    }
    return text;
  }

  int port_ = 0;
  std::string pids_file_;
  std::vector<std::unique_ptr<StepflowProcess>> workers_;
  std::vector<std::unique_ptr<client::Client>> sdk_clients_;
  std::vector<std::unique_ptr<client::Worker>> sdk_workers_;
};

}  // namespace stepflow::itest
