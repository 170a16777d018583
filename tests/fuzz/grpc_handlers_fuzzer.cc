// Fuzzes the gRPC request handlers end to end: the real Server over a real engine (RocksDB in a temporary
// directory), called over loopback with raw request bytes, so that protobuf parsing, the handlers' checks,
// the error mapping and the engine all see hostile input.
//
// Input: byte 0 picks the method (modulo the table below); the rest is sent as the serialized request, as is.
// Besides crashes and sanitizer reports, the target fails when an error reaches the wire without a name:
// every refusal must say what was wrong (issue "every error on the wire has a name").

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "engine/api/server.h"
#include "engine/engine.h"

// LeakSanitizer: gRPC's synchronous server grows and shrinks its thread pool while a request is served; a
// worker thread object that is still being handed over when libFuzzer checks for leaks after an input is
// reported as leaked (found in a 30-minute run). Those allocations are gRPC's own, not ours.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:grpc::ThreadManager::MainWorkLoop\nleak:grpc_core::Thread::Thread\n";
}

namespace {

// Every unary method. Long calls (Poll, StartSync) get the same short deadline as the rest.
constexpr const char* kMethods[] = {
    "/stepflow.v1.StateMachines/Create",  "/stepflow.v1.StateMachines/Update",
    "/stepflow.v1.StateMachines/Describe", "/stepflow.v1.StateMachines/List",
    "/stepflow.v1.StateMachines/Delete",  "/stepflow.v1.StateMachines/Validate",
    "/stepflow.v1.Executions/Start",      "/stepflow.v1.Executions/StartSync",
    "/stepflow.v1.Executions/Describe",   "/stepflow.v1.Executions/GetHistory",
    "/stepflow.v1.Executions/List",       "/stepflow.v1.Executions/Stop",
    "/stepflow.v1.Executions/DescribeStateMachineForExecution",
    "/stepflow.v1.Executions/Redrive",    "/stepflow.v1.Tasks/Poll",
    "/stepflow.v1.Tasks/Complete",        "/stepflow.v1.Tasks/Fail",
    "/stepflow.v1.Tasks/Heartbeat",       "/stepflow.v1.DeadLetters/List",
    "/stepflow.v1.DeadLetters/Get",       "/stepflow.v1.DeadLetters/Redrive",
    "/stepflow.v1.DeadLetters/Discard",
};
constexpr std::size_t kMethodCount = sizeof(kMethods) / sizeof(kMethods[0]);
// Per call. Long enough for a commit on a loaded machine, short enough to keep the fuzzer fast.
constexpr auto kCallDeadline = std::chrono::milliseconds(500);

struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<stepflow::engine::Engine> engine;
  stepflow::api::Server server;
  std::unique_ptr<grpc::GenericStub> stub;

  Fixture() {
    dir = std::filesystem::temp_directory_path() / ("stepflow_grpc_fuzz_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    stepflow::engine::EngineOptions options;
    options.data_dir = dir.string();
    options.sync_writes = false;
    options.partitions = 2;
    auto opened = stepflow::engine::Engine::Open(options);
    if (!opened.ok()) {
      std::fprintf(stderr, "engine: %s\n", std::string(opened.status().message()).c_str());
      std::abort();
    }
    engine = *std::move(opened);
    // Something for the calls to find: a machine whose executions wait on a task.
    (void)engine->CreateStateMachine(
        "Fuzz", R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"work","End":true}}})", false);
    absl::StatusOr<int> port = server.Start(engine.get(), "127.0.0.1:0");
    if (!port.ok()) {
      std::fprintf(stderr, "server: %s\n", std::string(port.status().message()).c_str());
      std::abort();
    }
    stub = std::make_unique<grpc::GenericStub>(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(*port), grpc::InsecureChannelCredentials()));
  }
  ~Fixture() {
    server.Shutdown();
    engine.reset();
    std::filesystem::remove_all(dir);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture* fixture = new Fixture();  // lives for the whole run (libFuzzer exits without unwinding)
  if (size == 0) {
    return 0;
  }
  const char* method = kMethods[data[0] % kMethodCount];
  grpc::Slice slice(data + 1, size - 1);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  std::promise<grpc::Status> done;
  fixture->stub->UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                           [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok() && status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
      status.error_code() != grpc::StatusCode::UNAVAILABLE && status.error_message().empty()) {
    std::fprintf(stderr, "%s answered code %d with no message\n", method, static_cast<int>(status.error_code()));
    std::abort();
  }
  return 0;
}
