# Stepflow: the two commands are `make run` and `make test`. Both install what is missing first.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
TSAN_BUILD ?= build-tsan
JOBS ?= 2
BUILD_TYPE ?= RelWithDebInfo
# The team's shared folder (conformance corpus): beside this checkout, or else beside the repository this
# one was cloned from (a local `git clone`).
ifndef SHARED_DIR
SHARED_DIR := $(shell if [ -d ../shared ]; then cd ../shared && pwd; \
  else origin=$$(git config --get remote.origin.url 2>/dev/null); \
  if [ -n "$$origin" ] && [ -d "$$origin/../shared" ]; then cd "$$origin/../shared" && pwd; \
  else echo $(abspath ../shared); fi; fi)
endif

# Debian 12 packages the build and the tests need (docs: ../shared/docs/stack.md).
PACKAGES := build-essential cmake ninja-build ccache pkg-config python3 \
  librocksdb-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto \
  libboost1.81-dev libboost-json1.81-dev libspdlog-dev libfmt-dev \
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev libpcre2-dev libssl-dev openssl \
  libgoogle-perftools-dev \
  libpq-dev postgresql \
  python3-grpcio python3-protobuf python3-pytest python3-pip python3-setuptools mypy chromium

# Only `make fuzz-smoke` needs these: libFuzzer and the sanitizers' runtimes come with Debian's clang-14.
FUZZ_PACKAGES := clang-14 libclang-rt-14-dev

export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: run test deps build console test-asan test-tsan fuzz-smoke bench soak clean print-shared-dir

print-shared-dir:
	@echo $(SHARED_DIR)

deps:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: missing packages and not root; run as root or install:" $$missing >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    -o DPkg::Lock::Timeout=300 $$missing; \
	fi
	@# The TypeScript SDK's tests need node (18 or newer) and npm; Debian 12's nodejs and npm when there is none
	@# (a node installed otherwise, e.g. with its own npm, is kept as it is).
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "installing: nodejs npm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    -o DPkg::Lock::Timeout=300 nodejs npm; \
	fi

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
	  -DSTEPFLOW_SHARED_DIR=$(SHARED_DIR)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j$(JOBS)

# The ops console (console/: npm ci when needed, tsc, vite) into $(BUILD)/console, beside the binary, where
# `stepflow server` finds it and serves it at / on the HTTP address.
console: deps
	console/build.sh $(BUILD)/console

# Starts `stepflow server` (data in ./data, gRPC on 127.0.0.1:7233, the console on http://127.0.0.1:7234/) with
# examples/*.asl.json registered, prints how to start an execution, and serves until Ctrl-C.
run: build console
	@examples/serve.sh $(BUILD) data 127.0.0.1:7233

# Every CTest test: unit, golden histories, the AWS conformance corpus, integration tests on the real
# server binary, the kill -9 crash test, and the console in Chromium (label "console"; it builds the console).
test: build
	ctest --test-dir $(BUILD) -j$(JOBS) --output-on-failure

# A longer soak, not part of `make test` (issue 14): the crash test on three nodes over a private PostgreSQL, then
# on one server over RocksDB, each with SOAK_CYCLES kills (default 200) while SOAK_EXECUTIONS executions run
# (default 20000), seeded with SOAK_SEED. With 100 kills and 10,000 executions it took 4.5 min on three nodes
# and 2.3 min on RocksDB (2 cores); the defaults take about twice that.
SOAK_CYCLES ?= 200
SOAK_EXECUTIONS ?= 20000
SOAK_SEED ?= 1
soak: build
	$(BUILD)/tests/crash/crash_test --store postgres --nodes 3 --cycles $(SOAK_CYCLES) \
	  --executions $(SOAK_EXECUTIONS) --distinct-inputs 500 --seed $(SOAK_SEED)
	$(BUILD)/tests/crash/crash_test --cycles $(SOAK_CYCLES) --executions $(SOAK_EXECUTIONS) --distinct-inputs 500 \
	  --seed $(SOAK_SEED) --snapshot-every 3

# The unit tests once more under AddressSanitizer and UndefinedBehaviorSanitizer. Only the unit-test binaries
# are built (the `unit_tests` target); the tests of the binaries not built are *_NOT_BUILT and are left out.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
	  -DSTEPFLOW_SANITIZE=ON -DSTEPFLOW_SHARED_DIR=$(SHARED_DIR)
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target unit_tests
	ctest --test-dir $(ASAN_BUILD) -j$(JOBS) --output-on-failure -L unit -E '_NOT_BUILT$$'

# Builds the libFuzzer targets (tests/fuzz) with Debian's clang-14 under ASan and UBSan in their own build
# directory and runs each for FUZZ_SECONDS (default 20) from its committed seed corpus; for CI.
fuzz-smoke: deps
	@$(MAKE) --no-print-directory deps PACKAGES="$(FUZZ_PACKAGES)"
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DSTEPFLOW_FUZZ=ON -DSTEPFLOW_SHARED_DIR=$(SHARED_DIR)
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target stepflow_fuzzers
	tests/fuzz/run_fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The engine, storage, API and worker-SDK unit tests and every integration test on the real server binary, under
# ThreadSanitizer (CI runs it: .ci/run); only those targets are built, and ctest runs the tests of the binaries
# built (the others are *_NOT_BUILT). (The "tsan" label cannot select them: gtest_discover_tests keeps only the
# first of a list of labels.) Races reported inside Debian's uninstrumented libraries are suppressed
# (tests/unit/engine/tsan.supp says why, line by line).
TSAN_TARGETS := durable_driver_test state_machines_test \
  executions_test recovery_test format_test partition_test tasks_test task_batch_test upgrade_test concurrency_test \
  commit_group_test commit_watchers_test bounded_test quarantine_test execution_counts_test snapshot_recovery_test \
  lease_manager_test store_test postgres_store_test api_test cli_remote_test worker_test \
  stepflow server_integration_test worker_integration_test security_integration_test limits_integration_test \
  rest_integration_test api_completion_integration_test version_listing_integration_test \
  test_state_integration_test postgres_integration_test
# Left out (make test runs them): the benchmarks' smoke tests (bench_*: they drive task_bench, a measurement,
# not built here), and DiskFullTest (the disk-full server tests, not about threads): under TSan's slowdown
# RocksDB flushes its 32 MiB log into compressed tables as fast as the test's 200 KB starts come, so the 220 MB
# disk never gets below the 128 MiB reserve (37 MB used after 500 starts) and the test cannot fill it.
TSAN_CTEST_EXCLUDE := _NOT_BUILT$$|^DiskFullTest\.|^bench_
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
	  -DSTEPFLOW_TSAN=ON -DSTEPFLOW_SHARED_DIR=$(SHARED_DIR)
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target $(TSAN_TARGETS)
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/unit/engine/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
	  ctest --test-dir $(TSAN_BUILD) -j$(JOBS) --output-on-failure -L 'unit|integration' -E '$(TSAN_CTEST_EXCLUDE)'

# Stepflow side by side with aws-local-stepfunctions, Restate and BullMQ, every workload 3 times, then the console's
# figures (REST latency, SSE followers, first render in Chromium; bench/README.md):
# installs the peers under ~/.cache/stepflow-bench, prints one table, writes bench/results/. Builds only what
# it runs. (bench/run_all.sh and bench/run_server.sh are the older, narrower scripts.)
bench: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j$(JOBS) --target stepflow stepflow_bench server_bench task_bench bench_cpp_worker jsonata_bench
	console/build.sh $(BUILD)/console
	STEPFLOW_PROTO_DIR=$(CURDIR)/proto tests/sdk/pip_install.sh /usr/bin/python3 $(CURDIR)/clients/python \
	  $(BUILD)/tests/sdk/python || echo "warning: the Python SDK did not install: W3 without its worker"
	STEPFLOW_PROTO_DIR=$(CURDIR)/proto tests/sdk/ts_build.sh $(CURDIR)/clients/typescript \
	  $(BUILD)/tests/sdk/typescript || echo "warning: the TypeScript SDK did not build: W3 without its worker"
	bench/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
