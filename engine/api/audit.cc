#include "engine/api/audit.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>
#include <memory>
#include <mutex>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "statemachine/json_text.h"

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

namespace {

// Appends `time_ms` as "2024-05-01T12:00:00.123Z". The text up to the seconds changes once a second: each thread
// keeps the last second's, so a line costs absl::FormatTime only when the second changed.
void AppendAuditTime(std::string& out, long long time_ms) {
  thread_local long long cached_second = std::numeric_limits<long long>::min();
  thread_local std::string cached_text;
  const long long second = time_ms >= 0 ? time_ms / 1000 : (time_ms - 999) / 1000;  // floor
  if (second != cached_second) {
    cached_text = absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
    cached_second = second;
  }
  const long long millis = time_ms - second * 1000;
  out += cached_text;
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  sm::AppendJsonString(out, value);
}

}  // namespace

std::string FormatAuditLine(long long time_ms, const AuditRecord& record) {
  std::string line;
  line.reserve(96 + record.who.size() + record.rpc.size() + record.resource.size() + record.result.size() +
               record.error.size());
  line += "{\"time\":\"";
  AppendAuditTime(line, time_ms);
  line += '"';
  AppendField(line, "who", record.who);
  AppendField(line, "rpc", record.rpc);
  AppendField(line, "resource", record.resource);
  AppendField(line, "result", record.result);
  if (!record.error.empty()) {
    AppendField(line, "error", record.error);
  }
  line += '}';
  return line;
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
