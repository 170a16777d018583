#include "clients/cli/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/precise_json.h"

extern char** environ;

namespace stepflow::cli {
namespace json = boost::json;
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kErrorInvalidOutput[] = "Worker.InvalidOutput";
constexpr char kErrorExitCode[] = "Worker.ExitCode";
constexpr char kErrorSignal[] = "Worker.Signal";
constexpr char kErrorSpawnFailed[] = "Worker.SpawnFailed";
// How often the loop looks at the cancellation flag while the command runs.
constexpr int kTickMs = 20;
// After the command exited, how long output still held open by its own children is waited for.
constexpr milliseconds kAfterExitDrain{200};
constexpr std::size_t kReadChunk = 64 * 1024;
// Stderr kept to find the last line, and the longest last line quoted in a cause.
constexpr std::size_t kStderrTail = 64 * 1024;
constexpr std::size_t kMaxQuotedLine = 1024;

// A pipe end we own; closed once.
struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
};

void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

std::string Trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return "";
  }
  std::size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string LastLine(const std::string& text) {
  std::string trimmed = Trim(text);
  std::size_t nl = trimmed.find_last_of('\n');
  return Trim(nl == std::string::npos ? trimmed : trimmed.substr(nl + 1));
}

// The command's output and what happened to it.
struct Outcome {
  int wait_status = 0;
  std::string out;
  bool out_too_large = false;
  std::string err_tail;
  bool signalled_by_us = false;
};

client::TaskResult FromExitCode(int code, const Outcome& o) {
  std::string last = LastLine(o.err_tail);
  boost::system::error_code ec;
  const std::optional<json::value> v = common::ParsePreciseJson(last, ec);
  if (v && v->is_object() && v->as_object().contains("error") && v->as_object().at("error").is_string()) {
    const json::object& obj = v->as_object();
    std::string cause;
    if (const json::value* c = obj.if_contains("cause"); c != nullptr) {
      cause = c->is_string() ? std::string(c->as_string()) : json::serialize(*c);
    }
    return client::TaskError{std::string(obj.at("error").as_string()), cause};
  }
  std::string cause = absl::StrCat("the command exited with status ", code);
  if (!last.empty()) {
    absl::StrAppend(&cause, ": ", last.substr(0, kMaxQuotedLine));
  }
  return client::TaskError{kErrorExitCode, cause};
}

client::TaskResult Classify(const Outcome& o, const client::TaskContext& context) {
  if (WIFSIGNALED(o.wait_status)) {
    int sig = WTERMSIG(o.wait_status);
    std::string cause = absl::StrCat("the command was killed by signal ", sig, " (", strsignal(sig), ")");
    if (o.signalled_by_us) {
      absl::StrAppend(&cause, " after the task was cancelled (",
                      client::CancelReasonName(context.cancel_reason()), ")");
    }
    return client::TaskError{kErrorSignal, cause};
  }
  int code = WIFEXITED(o.wait_status) ? WEXITSTATUS(o.wait_status) : -1;
  if (code != 0) {
    return FromExitCode(code, o);
  }
  if (o.out_too_large) {
    return client::TaskError{kErrorInvalidOutput, "stdout is larger than the largest output"};
  }
  std::string out = Trim(o.out);
  if (out.empty()) {
    return json::value(json::object());
  }
  boost::system::error_code ec;
  std::optional<json::value> v = common::ParsePreciseJson(out, ec);
  if (!v) {
    return client::TaskError{kErrorInvalidOutput, absl::StrCat("stdout is not JSON: ", ec.message())};
  }
  return *std::move(v);
}

std::vector<std::string> TaskEnvironment(const client::TaskContext& context) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    env.emplace_back(*e);
  }
  env.push_back("STEPFLOW_TASK_TOKEN=" + context.task_token());
  env.push_back("STEPFLOW_QUEUE=" + context.queue());
  env.push_back("STEPFLOW_EXECUTION_ARN=" + context.execution_arn());
  env.push_back("STEPFLOW_STATE_NAME=" + context.state_name());
  env.push_back("STEPFLOW_ATTEMPT=" + std::to_string(context.attempt()));
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  for (std::string& s : strings) {
    p.push_back(s.data());
  }
  p.push_back(nullptr);
  return p;
}

// Starts the command with its stdin, stdout and stderr on new pipes; our ends in `ends` (in, out, err).
int Spawn(const std::vector<std::string>& argv, const client::TaskContext& context, pid_t* pid,
          std::array<Fd, 3>& ends) {
  int pipes[3][2];
  for (int i = 0; i < 3; ++i) {
    if (::pipe2(pipes[i], O_CLOEXEC) != 0) {
      int err = errno;
      for (int j = 0; j < i; ++j) {
        ::close(pipes[j][0]);
        ::close(pipes[j][1]);
      }
      return err;
    }
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipes[0][0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipes[1][1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipes[2][1], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);  // we ignore it; an exec'd program would inherit that
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<std::string> args = argv;
  std::vector<std::string> env = TaskEnvironment(context);
  std::vector<char*> arg_ptrs = Pointers(args);
  std::vector<char*> env_ptrs = Pointers(env);
  int err = ::posix_spawnp(pid, arg_ptrs[0], &actions, &attr, arg_ptrs.data(), env_ptrs.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipes[0][0]);
  ::close(pipes[1][1]);
  ::close(pipes[2][1]);
  ends[0].fd = pipes[0][1];
  ends[1].fd = pipes[1][0];
  ends[2].fd = pipes[2][0];
  for (Fd& end : ends) {
    ::fcntl(end.fd, F_SETFL, ::fcntl(end.fd, F_GETFL) | O_NONBLOCK);
  }
  return err;
}

// Reads what `fd` has; false at EOF or on an error (the end is closed).
bool ReadSome(Fd& fd, std::string* into, std::size_t limit, bool* overflow, bool forward) {
  char buf[kReadChunk];
  while (true) {
    ssize_t n = ::read(fd.fd, buf, sizeof(buf));
    if (n > 0) {
      if (forward) {
        ssize_t ignored = ::write(STDERR_FILENO, buf, static_cast<std::size_t>(n));
        (void)ignored;
      }
      into->append(buf, static_cast<std::size_t>(n));
      if (into->size() > limit) {
        if (overflow != nullptr) {
          *overflow = true;
          into->clear();
        } else {
          into->erase(0, into->size() - limit);  // keep the tail
        }
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      return true;
    }
    fd.Close();
    return false;
  }
}

// Pumps stdin/stdout/stderr until the command exited (and its output is read), killing it on cancellation.
Outcome Pump(pid_t pid, std::array<Fd, 3>& ends, const std::string& input, client::TaskContext& context,
             const CommandOptions& options) {
  Outcome o;
  std::size_t written = 0;
  bool reaped = false;
  Clock::time_point term_sent{};
  bool killed = false;
  Clock::time_point exited_at{};
  while (true) {
    if (!reaped) {
      if (context.cancelled() && !o.signalled_by_us) {
        ::kill(-pid, SIGTERM);
        o.signalled_by_us = true;
        term_sent = Clock::now();
      } else if (o.signalled_by_us && !killed && Clock::now() - term_sent >= options.kill_grace) {
        ::kill(-pid, SIGKILL);
        killed = true;
      }
      pid_t r = ::waitpid(pid, &o.wait_status, WNOHANG);
      if (r == pid || (r < 0 && errno != EINTR)) {
        reaped = true;
        exited_at = Clock::now();
        ends[0].Close();
      }
    }
    bool open = ends[1].fd >= 0 || ends[2].fd >= 0;
    if (reaped && (!open || Clock::now() - exited_at >= kAfterExitDrain)) {
      return o;
    }
    std::array<pollfd, 3> fds{};
    nfds_t n = 0;
    if (ends[0].fd >= 0) {
      fds[n++] = {ends[0].fd, POLLOUT, 0};
    }
    for (int i = 1; i < 3; ++i) {
      if (ends[i].fd >= 0) {
        fds[n++] = {ends[i].fd, POLLIN, 0};
      }
    }
    ::poll(fds.data(), n, kTickMs);
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      if (fds[i].fd == ends[0].fd) {
        ssize_t w = ::write(ends[0].fd, input.data() + written, input.size() - written);
        if (w > 0) {
          written += static_cast<std::size_t>(w);
        }
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
          ends[0].Close();  // all written, or the command closed its stdin (EPIPE)
        }
      } else if (fds[i].fd == ends[1].fd) {
        ReadSome(ends[1], &o.out, options.max_output_bytes, &o.out_too_large, false);
      } else if (fds[i].fd == ends[2].fd) {
        ReadSome(ends[2], &o.err_tail, kStderrTail, nullptr, options.forward_stderr);
      }
    }
  }
}

}  // namespace

client::TaskResult RunTaskCommand(const std::vector<std::string>& argv, client::TaskContext& context,
                                  const CommandOptions& options) {
  IgnoreSigpipeOnce();
  if (argv.empty()) {
    return client::TaskError{kErrorSpawnFailed, "no command"};
  }
  pid_t pid = -1;
  std::array<Fd, 3> ends;
  int err = Spawn(argv, context, &pid, ends);
  if (err != 0) {
    return client::TaskError{kErrorSpawnFailed,
                             absl::StrCat("cannot run '", argv[0], "': ", std::strerror(err))};
  }
  const std::string& input = context.task().input();
  Outcome outcome = Pump(pid, ends, input.empty() ? std::string("{}") : input, context, options);
  return Classify(outcome, context);
}

}  // namespace stepflow::cli
