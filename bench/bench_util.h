#pragma once
// Measuring helpers shared by the server-side bench programs (server_bench, task_bench).

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace stepflow::bench {

using Clock = std::chrono::steady_clock;

// User + system CPU seconds of process `pid` (from /proc/PID/stat); -1 when it cannot be read.
inline double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t close = text.rfind(')');
  if (close == std::string::npos) {
    return -1;
  }
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14 || i == 15) {
      ticks += std::stod(f);
    }
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// User + system CPU seconds of this process.
inline double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// "1,16,64" -> {1, 16, 64} (a flag's comma-separated list; std::stoi throws on a bad number).
inline std::vector<int> ParseIntList(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    out.push_back(std::stoi(item));
  }
  return out;
}

inline double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The p-quantile (0..1) of `sorted` (ascending), nearest rank; 0 when empty.
inline double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  std::size_t k = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(k, sorted.size() - 1)];
}

}  // namespace stepflow::bench
