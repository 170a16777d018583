#include "tests/integration/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"

#ifndef STEPFLOW_BINARY
#error "STEPFLOW_BINARY must name the stepflow binary"
#endif

extern char** environ;

namespace stepflow::itest {
namespace {

constexpr char kListeningPrefix[] = "stepflow server listening on ";
constexpr char kHttpPrefix[] = "stepflow server http on ";
constexpr std::chrono::milliseconds kPollStep{20};

std::atomic<int> next_id{0};

std::string TestTempRoot() {
  const char* t = std::getenv("TEST_TMPDIR");
  if (t == nullptr || *t == '\0') {
    t = std::getenv("TMPDIR");
  }
  return (t == nullptr || *t == '\0') ? "/tmp" : t;
}

// argv and envp for execve, built before fork: the child of a multi-threaded process (the test's gRPC
// threads) may only make async-signal-safe calls, so no allocation happens after fork.
class ExecArgs {
 public:
  ExecArgs(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    strings_.push_back(StepflowBinary());
    strings_.insert(strings_.end(), args.begin(), args.end());
    std::size_t argc = strings_.size();
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry = *e;
      std::string key = entry.substr(0, entry.find('='));
      if (env.count(key) == 0) {
        strings_.push_back(entry);
      }
    }
    for (const auto& [k, v] : env) {
      strings_.push_back(k + "=" + v);
    }
    for (std::size_t i = 0; i < strings_.size(); ++i) {
      (i < argc ? argv_ : envp_).push_back(strings_[i].data());
    }
    argv_.push_back(nullptr);
    envp_.push_back(nullptr);
  }

  // In the child: dies with the parent, unblocks signals, replaces itself with the stepflow binary.
  [[noreturn]] void Exec() {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv_[0], argv_.data(), envp_.data());
    constexpr char kMessage[] = "exec of the stepflow binary failed\n";
    (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    _exit(127);
  }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
};

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

// Waits for `pid` at most `timeout`; returns the decoded status, or nullopt when it is still running.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return DecodeWaitStatus(status);
    }
    if (r < 0 && errno != EINTR) {
      return -1;
    }
    if (std::chrono::steady_clock::now() >= end) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(kPollStep);
  }
}

}  // namespace

std::string StepflowBinary() { return STEPFLOW_BINARY; }

TempDir::TempDir() {
  std::string pattern = TestTempRoot() + "/stepflow-itest-XXXXXX";
  char* made = mkdtemp(pattern.data());
  path_ = made == nullptr ? "" : made;
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& data_dir, const std::vector<std::string>& extra_args,
    const std::map<std::string, std::string>& env, std::chrono::milliseconds timeout) {
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  p->log_path_ =
      absl::StrCat(std::filesystem::path(data_dir).parent_path().string(), "/server-", next_id++, ".log");
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  int log_fd = open(p->log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat(p->log_path_, ": ", std::strerror(errno)));
  }
  std::vector<std::string> args = {"server",       "--data-dir",     data_dir,
                                   "--grpc-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  ExecArgs exec(args, env);
  pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    exec.Exec();
  }
  close(out[1]);
  close(log_fd);
  p->pid_ = pid;
  p->stdout_fd_ = out[0];

  // Read stdout until the listening line and the http line, the end of the stream (the server exited) or
  // the timeout.
  std::string buffer;
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::count(buffer.begin(), buffer.end(), '\n') < 2) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return absl::DeadlineExceededError(absl::StrCat("the server did not report listening within ",
                                                      timeout.count(), " ms; its log:\n", p->log()));
    }
    pollfd fd{p->stdout_fd_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char chunk[256];
    ssize_t n = read(p->stdout_fd_, chunk, sizeof(chunk));
    if (n <= 0) {
      std::optional<int> code = WaitFor(pid, std::chrono::seconds(5));
      p->pid_ = -1;
      return absl::UnavailableError(absl::StrCat("the server exited (status ", code.value_or(-1),
                                                 ") before listening; its log:\n", p->log()));
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  std::string line = buffer.substr(0, buffer.find('\n'));
  if (line.rfind(kListeningPrefix, 0) != 0) {
    return absl::InternalError(absl::StrCat("unexpected first stdout line: '", line, "'"));
  }
  p->address_ = line.substr(std::strlen(kListeningPrefix));
  std::size_t second = buffer.find('\n') + 1;
  std::string http_line = buffer.substr(second, buffer.find('\n', second) - second);
  if (http_line.rfind(kHttpPrefix, 0) != 0) {
    return absl::InternalError(absl::StrCat("unexpected second stdout line: '", http_line, "'"));
  }
  p->http_address_ = http_line.substr(std::strlen(kHttpPrefix));
  return p;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    WaitFor(pid_, std::chrono::seconds(10));
  }
  if (stdout_fd_ >= 0) {
    close(stdout_fd_);
  }
}

int ServerProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return -1;
  }
  kill(pid_, signal);
  std::optional<int> code = WaitFor(pid_, timeout);
  if (!code.has_value()) {
    kill(pid_, SIGKILL);
    WaitFor(pid_, std::chrono::seconds(10));
    code = -1;
  }
  pid_ = -1;
  return *code;
}

std::string ServerProcess::log() const {
  std::ifstream in(log_path_);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool ServerProcess::WaitForLog(const std::string& text, std::chrono::milliseconds timeout) const {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (log().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= end) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the log is a file: read it again
  }
  return true;
}

CliResult RunCli(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  CliResult result;
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    result.err = "pipe failed";
    return result;
  }
  ExecArgs exec(args, {});
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    exec.Exec();
  }
  close(out[1]);
  close(err[1]);
  auto end = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP)) != 0) {
        char chunk[4096];
        ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
        } else {
          sinks[i]->append(chunk, static_cast<std::size_t>(n));
        }
      }
    }
  }
  for (pollfd& f : fds) {
    if (f.fd >= 0) {
      close(f.fd);
    }
  }
  result.exit_code = WaitFor(pid, std::chrono::seconds(10)).value_or(-1);
  if (killed) {
    result.err += "\n(killed after the timeout)";
  }
  return result;
}

}  // namespace stepflow::itest
