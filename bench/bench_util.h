#pragma once
// Measuring helpers shared by the server-side bench programs (server_bench, task_bench).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
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

// User + system CPU seconds of process `pid` and of its children now running (PostgreSQL's postmaster and the
// backends of open sessions); -1 when `pid` cannot be read. A child that exited is no longer counted.
inline double ProcessTreeCpuSeconds(pid_t pid) {
  double total = ProcessCpuSeconds(pid);
  if (total < 0) {
    return -1;
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream in(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t close = text.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    std::istringstream fields(text.substr(close + 2));
    std::string state;
    pid_t parent = 0;
    if (fields >> state >> parent && parent == pid) {
      const double child = ProcessCpuSeconds(static_cast<pid_t>(std::atoi(name.c_str())));
      total += child > 0 ? child : 0;
    }
  }
  return total;
}

// The value of metric `name` (a line "NAME VALUE") in GET /metrics of the server at `http_address`
// ("127.0.0.1:PORT"); -1 when the request fails or the metric is not there.
inline double MetricValue(const std::string& http_address, const std::string& name) {
  const std::size_t colon = http_address.rfind(':');
  if (colon == std::string::npos) {
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(http_address.c_str() + colon + 1)));
  if (inet_pton(AF_INET, http_address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return -1;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  std::string response;
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + http_address + "\r\n\r\n";
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[16384];
    ssize_t n = 0;
    while (response.size() < (1u << 22) && (n = read(fd, buf, sizeof(buf))) > 0) {
      response.append(buf, static_cast<std::size_t>(n));
    }
  }
  close(fd);
  const std::string line = "\n" + name + " ";
  const std::size_t at = response.find(line);
  return at == std::string::npos ? -1 : std::atof(response.c_str() + at + line.size());
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
