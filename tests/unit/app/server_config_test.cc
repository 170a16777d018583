#include "app/server_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "app/logging.h"

namespace stepflow::app {
namespace {

using ::testing::HasSubstr;

class ServerConfigTest : public ::testing::Test {
 protected:
  absl::StatusOr<ServerConfig> Load(const std::vector<std::string>& args) {
    return LoadServerConfig(args, [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    });
  }
  std::string WriteFile(const std::string& text) {
    std::string path = ::testing::TempDir() + "/stepflow_config_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json";
    std::ofstream(path) << text;
    return path;
  }

  std::map<std::string, std::string> env_;
};

TEST_F(ServerConfigTest, Defaults) {
  absl::StatusOr<ServerConfig> c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "./data");
  EXPECT_EQ(c->grpc_address, "127.0.0.1:7233");
  EXPECT_EQ(c->http_address, "127.0.0.1:7234");
  EXPECT_EQ(c->partitions, 0);
  EXPECT_TRUE(c->sync_writes);
  EXPECT_EQ(c->log_format, LogFormat::kText);
  EXPECT_EQ(c->log_level, "info");
  EXPECT_FALSE(c->help);
}

TEST_F(ServerConfigTest, HttpAddressFromFlagEnvAndFile) {
  std::string file = WriteFile(R"({"http_address":"127.0.0.1:9"})");
  absl::StatusOr<ServerConfig> c = Load({"--config", file});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http_address, "127.0.0.1:9");
  env_["STEPFLOW_HTTP_ADDRESS"] = "127.0.0.1:8";
  c = Load({"--config", file});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http_address, "127.0.0.1:8");
  c = Load({"--config", file, "--http-address=127.0.0.1:0"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http_address, "127.0.0.1:0");
  EXPECT_THAT(std::string(Load({"--http-address", "nocolon"}).status().message()), HasSubstr("HOST:PORT"));
}

// The cluster settings (several nodes over PostgreSQL): defaults, flags, env, and named errors for bad values.
TEST_F(ServerConfigTest, ClusterSettings) {
  absl::StatusOr<ServerConfig> c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node_id, "");
  EXPECT_EQ(c->advertise, "");
  EXPECT_EQ(c->lease_seconds, 10);
  env_["STEPFLOW_LEASE_SECONDS"] = "3";
  c = Load({"--node-id", "n1", "--advertise", "10.0.0.1:7233"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node_id, "n1");
  EXPECT_EQ(c->advertise, "10.0.0.1:7233");
  EXPECT_EQ(c->lease_seconds, 3);
  EXPECT_THAT(std::string(Load({"--lease-seconds", "0"}).status().message()), HasSubstr("--lease-seconds"));
  EXPECT_THAT(std::string(Load({"--lease-seconds", "3601"}).status().message()), HasSubstr("1 to 3600"));
  EXPECT_THAT(std::string(Load({"--advertise", "nocolon"}).status().message()), HasSubstr("HOST:PORT"));
  EXPECT_THAT(std::string(Load({"--node-id", std::string(201, 'x')}).status().message()), HasSubstr("1 to 200 bytes"));
}

TEST_F(ServerConfigTest, FlagBeatsEnvBeatsFileBeatsDefault) {
  std::string file = WriteFile(
      R"({"data_dir":"/from/file","grpc_address":"127.0.0.1:9","partitions":3,"durability":"async",)"
      R"("log_format":"json"})");
  env_["STEPFLOW_DATA_DIR"] = "/from/env";
  env_["STEPFLOW_GRPC_ADDRESS"] = "127.0.0.1:8";
  absl::StatusOr<ServerConfig> c = Load({"--config", file, "--data-dir=/from/flag"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "/from/flag");        // flag
  EXPECT_EQ(c->grpc_address, "127.0.0.1:8");   // env
  EXPECT_EQ(c->partitions, 3);                 // file
  EXPECT_FALSE(c->sync_writes);                // file
  EXPECT_EQ(c->log_format, LogFormat::kJson);  // file
  EXPECT_EQ(c->log_level, "info");             // default
  EXPECT_EQ(c->config_file, file);
}

TEST_F(ServerConfigTest, ConfigFileFromEnv) {
  env_["STEPFLOW_CONFIG"] = WriteFile(R"({"partitions":"5"})");
  env_["STEPFLOW_DURABILITY"] = "async";
  absl::StatusOr<ServerConfig> c = Load({"--partitions", "2"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->partitions, 2);
  EXPECT_FALSE(c->sync_writes);
}

TEST_F(ServerConfigTest, ErrorsNameTheirSource) {
  EXPECT_THAT(std::string(Load({"--partitions", "x"}).status().message()), HasSubstr("--partitions"));
  env_["STEPFLOW_DURABILITY"] = "maybe";
  EXPECT_THAT(std::string(Load({}).status().message()),
              HasSubstr("STEPFLOW_DURABILITY: must be sync or async"));
  env_.clear();
  std::string file = WriteFile(R"({"log_format":"xml"})");
  EXPECT_THAT(std::string(Load({"--config", file}).status().message()), HasSubstr(file + ": log_format"));
  file = WriteFile(R"({"colour":"blue"})");
  EXPECT_THAT(std::string(Load({"--config", file}).status().message()), HasSubstr("unknown key 'colour'"));
  file = WriteFile("not json");
  EXPECT_THAT(std::string(Load({"--config", file}).status().message()), HasSubstr("invalid JSON"));
  EXPECT_THAT(std::string(Load({"--config", "/no/such/file"}).status().message()), HasSubstr("cannot read"));
  EXPECT_THAT(std::string(Load({"--grpc-address", "nocolon"}).status().message()), HasSubstr("HOST:PORT"));
  EXPECT_THAT(std::string(Load({"--bogus"}).status().message()), HasSubstr("unknown argument"));
  EXPECT_THAT(std::string(Load({"--data-dir"}).status().message()), HasSubstr("needs a value"));
}

TEST_F(ServerConfigTest, StoreSelectsRocksDbOrPostgres) {
  absl::StatusOr<ServerConfig> c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->postgres_conninfo, "");  // default: RocksDB in ./data
  c = Load({"--store", "rocksdb:/var/lib/stepflow"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "/var/lib/stepflow");
  EXPECT_EQ(c->postgres_conninfo, "");
  // --store wins over --data-dir.
  c = Load({"--data-dir", "/a", "--store=rocksdb:/b"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "/b");
  c = Load({"--store", "postgres:host=db port=5432 dbname=stepflow"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->postgres_conninfo, "host=db port=5432 dbname=stepflow");
  c = Load({"--store", "postgres:postgresql://u@db:5432/stepflow"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->postgres_conninfo, "postgresql://u@db:5432/stepflow");
  // A bare URI is taken whole.
  env_["STEPFLOW_STORE"] = "postgres://u@db/stepflow";
  c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->postgres_conninfo, "postgres://u@db/stepflow");
  env_.clear();
  c = Load({"--config", WriteFile(R"({"store":"postgres:dbname=x"})")});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->postgres_conninfo, "dbname=x");

  EXPECT_THAT(std::string(Load({"--store", "mysql:x"}).status().message()),
              HasSubstr("--store: must be rocksdb:DIR or postgres:URL"));
  EXPECT_THAT(std::string(Load({"--store", "rocksdb:"}).status().message()), HasSubstr("needs a directory"));
  EXPECT_THAT(std::string(Load({"--store", "postgres:"}).status().message()), HasSubstr("needs a connection"));
  EXPECT_THAT(std::string(Load({"--store", "postgres:" + std::string(5000, 'x')}).status().message()),
              HasSubstr("longer than 4096 bytes"));
  // The value (maybe holding a password) is not echoed.
  EXPECT_THAT(std::string(Load({"--store", "pg:password=sesame"}).status().message()),
              ::testing::Not(HasSubstr("sesame")));
}

TEST_F(ServerConfigTest, DiskReserveIsInMibAndNeverBelowTheDefault) {
  absl::StatusOr<ServerConfig> c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->min_free_disk_mib, 128u);
  c = Load({"--min-free-disk", "4096"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->min_free_disk_mib, 4096u);
  env_["STEPFLOW_MIN_FREE_DISK"] = "1024";
  c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->min_free_disk_mib, 1024u);
  env_.clear();
  for (const char* bad : {"0", "127", "-1", "1.5", "lots", "1073741825", "99999999999999999999"}) {
    EXPECT_THAT(std::string(Load({"--min-free-disk", bad}).status().message()),
                HasSubstr("--min-free-disk: must be a number of MiB from 128 to 1073741824"))
        << bad;
  }
}

TEST_F(ServerConfigTest, Help) {
  absl::StatusOr<ServerConfig> c = Load({"--help"});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->help);
  EXPECT_THAT(ServerUsage(), HasSubstr("7233"));
}

TEST_F(ServerConfigTest, LogicalPartitionsAndSnapshotsFromFlagEnvAndFile) {
  absl::StatusOr<ServerConfig> c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->logical_partitions, 64);
  EXPECT_EQ(c->snapshot_every, 100);
  std::string file = WriteFile(R"({"logical_partitions":16,"snapshot_every":0})");
  c = Load({"--config", file});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->logical_partitions, 16);
  EXPECT_EQ(c->snapshot_every, 0);
  env_["STEPFLOW_SNAPSHOT_EVERY"] = "500";
  c = Load({"--config", file, "--logical-partitions", "128"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->logical_partitions, 128);
  EXPECT_EQ(c->snapshot_every, 500);
  for (const char* bad : {"0", "4097", "x"}) {
    c = Load({"--logical-partitions", bad});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(std::string(c.status().message()), HasSubstr("--logical-partitions"));
  }
  for (const char* bad : {"-1", "1000001", "1e3"}) {
    c = Load({"--snapshot-every", bad});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(std::string(c.status().message()), HasSubstr("--snapshot-every"));
  }
}

TEST_F(ServerConfigTest, TimerSlackFromFlagEnvAndFileWithinItsBounds) {
  absl::StatusOr<ServerConfig> c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->timer_slack_ms, 5) << "the default: timers due within 5 ms of each other fire in one commit";
  std::string file = WriteFile(R"({"timer_slack_ms":0})");
  c = Load({"--config", file});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->timer_slack_ms, 0);
  env_["STEPFLOW_TIMER_SLACK_MS"] = "20";
  c = Load({"--config", file});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->timer_slack_ms, 20);
  c = Load({"--config", file, "--timer-slack-ms", "1000"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->timer_slack_ms, 1000);
  for (const char* bad : {"-1", "1001", "5ms"}) {
    c = Load({"--timer-slack-ms", bad});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(std::string(c.status().message()), HasSubstr("--timer-slack-ms"));
  }
}

TEST(LoggingTest, JsonLineLiftsKeyValueFields) {
  std::string line = FormatJsonLogLine(0, "info", "", "execution stopped execution=arn:x:y status=ABORTED");
  boost::json::value v = boost::json::parse(line);
  EXPECT_EQ(v.at("time"), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(v.at("level"), "info");
  EXPECT_EQ(v.at("msg"), "execution stopped execution=arn:x:y status=ABORTED");
  EXPECT_EQ(v.at("execution"), "arn:x:y");
  EXPECT_EQ(v.at("status"), "ABORTED");
  EXPECT_FALSE(v.as_object().contains("logger"));
  // Quotes and newlines stay inside the JSON string.
  boost::json::value q = boost::json::parse(FormatJsonLogLine(0, "warn", "x", "say \"hi\"\nlevel=oops"));
  EXPECT_EQ(q.at("msg"), "say \"hi\"\nlevel=oops");
  EXPECT_EQ(q.at("level"), "warn");
}

TEST(SecurityConfigTest, FlagsEnvAndFile) {
  auto no_env = [](const char*) -> const char* { return nullptr; };
  auto c = LoadServerConfig({"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca", "ca.pem",
                             "--token-file", "t.json", "--audit-log", "a.log", "--insecure-listen",
                             "--reflection"},
                            no_env);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tls_cert, "c.pem");
  EXPECT_EQ(c->tls_client_ca, "ca.pem");
  EXPECT_EQ(c->token_file, "t.json");
  EXPECT_EQ(c->audit_log, "a.log");
  EXPECT_TRUE(c->insecure_listen);
  EXPECT_TRUE(c->reflection);
  auto defaults = LoadServerConfig({}, no_env);
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->reflection);
  EXPECT_FALSE(defaults->insecure_listen);
  EXPECT_THAT(LoadServerConfig({"--tls-cert", "c.pem"}, no_env).status().message(),
              HasSubstr("--tls-cert and --tls-key go together"));
  auto env = [](const char* name) -> const char* {
    return std::string(name) == "STEPFLOW_REFLECTION" ? "yes" : nullptr;
  };
  EXPECT_THAT(LoadServerConfig({}, env).status().message(), HasSubstr("STEPFLOW_REFLECTION: must be true or false"));
}

TEST(LazyTaskStartConfigTest, IsASwitchOffByDefault) {
  auto no_env = [](const char*) -> const char* { return nullptr; };
  auto defaults = LoadServerConfig({}, no_env);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_FALSE(defaults->lazy_task_start);
  auto flag = LoadServerConfig({"--lazy-task-start"}, no_env);
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_TRUE(flag->lazy_task_start);
  EXPECT_FALSE(flag->reflection);
  auto env = [](const char* name) -> const char* {
    return std::string(name) == "STEPFLOW_LAZY_TASK_START" ? "true" : nullptr;
  };
  auto from_env = LoadServerConfig({}, env);
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_TRUE(from_env->lazy_task_start);
  auto bad = [](const char* name) -> const char* {
    return std::string(name) == "STEPFLOW_LAZY_TASK_START" ? "1" : nullptr;
  };
  EXPECT_THAT(LoadServerConfig({}, bad).status().message(),
              HasSubstr("STEPFLOW_LAZY_TASK_START: must be true or false"));
}

}  // namespace
}  // namespace stepflow::app
