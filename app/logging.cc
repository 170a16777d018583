#include "app/logging.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>

#include "common/clock.h"

namespace stepflow::app {
namespace {

bool IsKeyChar(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

// Adds the "key=value" tokens of `message` to `line` (not overwriting the fixed fields).
void LiftFields(const std::string& message, boost::json::object& line) {
  std::size_t i = 0;
  while (i < message.size()) {
    std::size_t end = message.find(' ', i);
    if (end == std::string::npos) {
      end = message.size();
    }
    std::string_view token(message.data() + i, end - i);
    std::size_t eq = token.find('=');
    if (eq != std::string_view::npos && eq > 0) {
      std::string_view key = token.substr(0, eq);
      bool is_key = true;
      for (char c : key) {
        is_key = is_key && IsKeyChar(c);
      }
      if (is_key && !line.contains(key)) {
        line[key] = token.substr(eq + 1);
      }
    }
    i = end + 1;
  }
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
    std::string text = FormatJsonLogLine(ms, std::string(level.data(), level.size()),
                                         std::string(msg.logger_name.data(), msg.logger_name.size()),
                                         std::string(msg.payload.data(), msg.payload.size()));
    text.push_back('\n');
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

std::string FormatJsonLogLine(long long time_ms, const std::string& level, const std::string& logger,
                              const std::string& message) {
  boost::json::object line;
  line["time"] = common::FormatIso8601(time_ms);
  line["level"] = level;
  if (!logger.empty()) {
    line["logger"] = logger;
  }
  line["msg"] = message;
  LiftFields(message, line);
  return boost::json::serialize(line);
}

void SetUpLogging(LogFormat format, const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("", sink);
  if (format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace stepflow::app
