#include "tests/integration/worker_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/integration/process.h"

extern char** environ;

namespace stepflow::itest {
namespace {

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

}  // namespace

absl::StatusOr<int> PickFreePort() {
  absl::StatusOr<std::vector<int>> ports = PickFreePorts(1);
  if (!ports.ok()) {
    return ports.status();
  }
  return ports->front();
}

absl::StatusOr<std::vector<int>> PickFreePorts(int n) {
  std::vector<int> fds;
  std::vector<int> ports;
  absl::Status status;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      status = absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
      break;
    }
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      status = absl::InternalError(absl::StrCat("bind/getsockname: ", std::strerror(errno)));
      break;
    }
    ports.push_back(static_cast<int>(ntohs(addr.sin_port)));
  }
  for (int fd : fds) {  // only now: while one is bound, no other bind(0) gets its port
    close(fd);
  }
  if (!status.ok()) {
    return status;
  }
  return ports;
}

absl::Status WriteExecutable(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out) {
      return absl::InternalError(absl::StrCat("cannot write ", path));
    }
  }
  if (chmod(path.c_str(), 0755) != 0) {
    return absl::InternalError(absl::StrCat("chmod ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StepflowProcess>> StepflowProcess::Spawn(
    const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
    const std::string& log_path) {
  // argv and envp are built before fork: the child of a multi-threaded process may only make
  // async-signal-safe calls.
  std::vector<std::string> strings;
  strings.push_back(StepflowBinary());
  strings.insert(strings.end(), args.begin(), args.end());
  const std::size_t argc = strings.size();
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    if (env.count(entry.substr(0, entry.find('='))) == 0) {
      strings.push_back(entry);
    }
  }
  for (const auto& [k, v] : env) {
    strings.push_back(k + "=" + v);
  }
  std::vector<char*> argv;
  std::vector<char*> envp;
  for (std::size_t i = 0; i < strings.size(); ++i) {
    (i < argc ? argv : envp).push_back(strings[i].data());
  }
  argv.push_back(nullptr);
  envp.push_back(nullptr);

  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat(log_path, ": ", std::strerror(errno)));
  }
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    close(null_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
    }
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    constexpr char kMessage[] = "exec of the stepflow binary failed\n";
    (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    _exit(127);
  }
  close(log_fd);
  if (null_fd >= 0) {
    close(null_fd);
  }
  std::unique_ptr<StepflowProcess> p(new StepflowProcess());
  p->pid_ = pid;
  p->log_path_ = log_path;
  return p;
}

StepflowProcess::~StepflowProcess() {
  if (Running()) {
    Stop(SIGKILL, std::chrono::seconds(10));
  }
}

bool StepflowProcess::Running() {
  if (exit_code_.has_value() || pid_ <= 0) {
    return false;
  }
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = DecodeWaitStatus(status);
    return false;
  }
  if (r < 0 && errno != EINTR) {
    exit_code_ = -1;
    return false;
  }
  return true;
}

void StepflowProcess::Signal(int signal) {
  if (Running()) {
    kill(pid_, signal);
  }
}

int StepflowProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  if (!Running()) {
    return exit_code_.value_or(-1);
  }
  kill(pid_, signal);
  auto end = std::chrono::steady_clock::now() + timeout;
  while (Running()) {
    if (std::chrono::steady_clock::now() >= end) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      exit_code_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_.value_or(-1);
}

std::optional<int> StepflowProcess::WaitForExit(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (Running()) {
    if (std::chrono::steady_clock::now() >= end) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

std::string StepflowProcess::log() const {
  std::ifstream in(log_path_);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::unique_ptr<StepflowProcess>> StartWorker(const WorkerSpec& spec, const std::string& log_path) {
  std::vector<std::string> args = {"--server", spec.server, "worker", "--queue", spec.queue, "--concurrency",
                                   std::to_string(spec.concurrency)};
  if (!spec.identity.empty()) {
    args.push_back("--identity");
    args.push_back(spec.identity);
  }
  args.insert(args.end(), spec.extra.begin(), spec.extra.end());
  args.push_back("--");
  args.insert(args.end(), spec.command.begin(), spec.command.end());
  return StepflowProcess::Spawn(args, spec.env, log_path);
}

}  // namespace stepflow::itest
