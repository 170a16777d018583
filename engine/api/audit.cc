#include "engine/api/audit.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace stepflow::api {
namespace {

constexpr char kAuditLoggerName[] = "audit";

std::mutex g_mu;
std::shared_ptr<spdlog::logger> g_file_logger;  // guarded by g_mu; nullptr = the default logger

}  // namespace

absl::Status SetUpAuditLog(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (path.empty()) {
    g_file_logger.reset();
    return absl::OkStatus();
  }
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
    auto logger = std::make_shared<spdlog::logger>(kAuditLoggerName, std::move(sink));
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    g_file_logger = std::move(logger);
  } catch (const spdlog::spdlog_ex& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot open the audit log: ", e.what()));
  }
  return absl::OkStatus();
}

std::string FormatAuditLine(long long time_ms, const AuditRecord& record) {
  boost::json::object line;
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(time_ms), absl::UTCTimeZone());
  line["who"] = record.who;
  line["rpc"] = record.rpc;
  line["resource"] = record.resource;
  line["result"] = record.result;
  if (!record.error.empty()) {
    line["error"] = record.error;
  }
  return boost::json::serialize(line);
}

void WriteAuditLine(const AuditRecord& record) {
  std::shared_ptr<spdlog::logger> file;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    file = g_file_logger;
  }
  if (file == nullptr && !spdlog::should_log(spdlog::level::info)) {
    return;  // no audit file, and the server log is above info: formatting the line would only be thrown away
  }
  long long now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  std::string line = FormatAuditLine(now_ms, record);
  if (file != nullptr) {
    file->info(line);
  } else {
    spdlog::info("audit {}", line);
  }
}

}  // namespace stepflow::api
