#include "storage/postgres/testing/private_postgres.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace stepflow::storage::testing {
namespace {

constexpr char kUser[] = "stepflow";
constexpr std::chrono::seconds kStartTimeout{60};
constexpr std::chrono::seconds kStopTimeout{30};
constexpr std::chrono::milliseconds kPollStep{20};

// The directory of initdb and postgres: STEPFLOW_POSTGRES_BIN_DIR when set, else the newest
// /usr/lib/postgresql/N/bin holding both (Debian's layout); nullopt when there is none.
std::optional<std::filesystem::path> BinDir() {
  std::error_code ec;
  if (const char* dir = std::getenv("STEPFLOW_POSTGRES_BIN_DIR"); dir != nullptr && *dir != '\0') {
    const std::filesystem::path bin(dir);
    if (std::filesystem::exists(bin / "initdb", ec) && std::filesystem::exists(bin / "postgres", ec)) {
      return bin;
    }
    return std::nullopt;
  }
  std::optional<std::filesystem::path> best;
  int best_version = -1;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::filesystem::path bin = entry.path() / "bin";
    if (!std::filesystem::exists(bin / "initdb", ec) || !std::filesystem::exists(bin / "postgres", ec)) {
      continue;
    }
    const int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version) {
      best_version = version;
      best = bin;
    }
  }
  return best;
}

// The user the server runs as: `nobody` when we are root (PostgreSQL refuses root), else ourselves.
struct RunAs {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

absl::StatusOr<RunAs> UnprivilegedUser() {
  RunAs as;
  if (::geteuid() != 0) {
    return as;
  }
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) {
    return absl::FailedPreconditionError("running as root and there is no user 'nobody' to run PostgreSQL as");
  }
  as.drop = true;
  as.uid = pw->pw_uid;
  as.gid = pw->pw_gid;
  return as;
}

// A port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0).
absl::StatusOr<int> FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return absl::InternalError("socket() failed");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port < 0) {
    return absl::InternalError("cannot find a free port on 127.0.0.1");
  }
  return port;
}

// Starts `argv` in `cwd` as `as`, stdout and stderr appended to `log`. argv/envp are built before fork: the
// child of a multi-threaded process may only make async-signal-safe calls.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args, const std::string& cwd, const std::string& log,
                            const RunAs& as) {
  std::vector<char*> argv;
  for (const std::string& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open ", log));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (::chdir(cwd.c_str()) != 0) {
      _exit(126);
    }
    if (as.drop && (::setgroups(0, nullptr) != 0 || ::setgid(as.gid) != 0 || ::setuid(as.uid) != 0)) {
      _exit(125);
    }
    // After the change of credentials, which clears it: the server dies with the test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  ::close(log_fd);
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Waits for `pid` at most `timeout`; its exit status (128 + signal when killed), or nullopt if it still runs.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (r < 0 || std::chrono::steady_clock::now() >= deadline) {
      return r < 0 ? std::optional<int>(-1) : std::nullopt;
    }
    std::this_thread::sleep_for(kPollStep);
  }
}

std::string ConnInfo(int port, const std::string& db) {
  return absl::StrCat("host=127.0.0.1 port=", port, " user=", kUser, " dbname=", db, " connect_timeout=10");
}

}  // namespace

absl::Status PrivatePostgres::Available() {
  if (!BinDir().has_value()) {
    return absl::NotFoundError(
        "PostgreSQL server binaries not found (initdb and postgres in STEPFLOW_POSTGRES_BIN_DIR, or else in "
        "/usr/lib/postgresql/*/bin): install Debian's `postgresql` package (make deps does)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PrivatePostgres>> PrivatePostgres::Start(const Options& options) {
  if (absl::Status s = Available(); !s.ok()) {
    return s;
  }
  absl::StatusOr<RunAs> as = UnprivilegedUser();
  if (!as.ok()) {
    return as.status();
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/stepflow-pg-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create a temp directory like ", pattern));
  }
  std::unique_ptr<PrivatePostgres> pg(new PrivatePostgres());
  pg->options_ = options;
  pg->dir_ = pattern;
  if (as->drop && ::chown(pg->dir_.c_str(), as->uid, as->gid) != 0) {
    return absl::InternalError(absl::StrCat("cannot chown ", pg->dir_, " to nobody"));
  }
  const std::filesystem::path bin = *BinDir();
  const std::string log = pg->dir_ + "/initdb.log";
  absl::StatusOr<pid_t> initdb =
      Spawn({(bin / "initdb").string(), "-D", pg->dir_ + "/data", "-U", kUser, "--auth=trust", "--encoding=UTF8",
             "--no-locale", "--no-sync"},
            pg->dir_, log, *as);
  if (!initdb.ok()) {
    return initdb.status();
  }
  const std::optional<int> rc = WaitFor(*initdb, std::chrono::seconds(120));
  if (rc != 0) {
    if (!rc.has_value()) {
      ::kill(*initdb, SIGKILL);
      WaitFor(*initdb, kStopTimeout);
    }
    return absl::InternalError(absl::StrCat("initdb failed (exit ", rc.value_or(-1), "): ", ReadFile(log)));
  }
  // A port free a moment ago may be taken before postgres binds it: a few tries.
  absl::Status launched;
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<int> port = FreePort();
    if (!port.ok()) {
      return port.status();
    }
    pg->port_ = *port;
    launched = pg->Launch();
    if (launched.ok()) {
      return pg;
    }
  }
  return launched;
}

absl::Status PrivatePostgres::Launch() {
  absl::StatusOr<RunAs> as = UnprivilegedUser();
  if (!as.ok()) {
    return as.status();
  }
  const std::filesystem::path bin = *BinDir();
  absl::StatusOr<pid_t> pid = Spawn(
      {(bin / "postgres").string(), "-D", dir_ + "/data", "-h", "127.0.0.1", "-p", std::to_string(port_), "-k", dir_,
       "-c", absl::StrCat("fsync=", options_.fsync ? "on" : "off"), "-c", "max_connections=200", "-c",
       "shared_buffers=64MB"},
      dir_, dir_ + "/postgres.log", *as);
  if (!pid.ok()) {
    return pid.status();
  }
  pid_ = *pid;
  const std::string ping = ConnInfo(port_, "postgres");
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (PQping(ping.c_str()) != PQPING_OK) {
    if (std::optional<int> exited = WaitFor(pid_, std::chrono::milliseconds(0)); exited.has_value()) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("postgres exited (", *exited, ") at start: ", log()));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      Stop();
      return absl::InternalError(absl::StrCat("postgres did not accept connections within 60 s: ", log()));
    }
    std::this_thread::sleep_for(kPollStep);
  }
  return absl::OkStatus();
}

void PrivatePostgres::Stop() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGINT);  // fast shutdown: cuts the sessions, writes a checkpoint
  if (!WaitFor(pid_, kStopTimeout).has_value()) {
    ::kill(pid_, SIGKILL);
    WaitFor(pid_, kStopTimeout);
  }
  pid_ = -1;
}

PrivatePostgres::~PrivatePostgres() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::Status PrivatePostgres::Restart() {
  Stop();
  return Launch();
}

std::string PrivatePostgres::log() const { return ReadFile(dir_ + "/postgres.log"); }

std::string PrivatePostgres::Url(const std::string& db) const {
  return absl::StrCat("postgresql://", kUser, "@127.0.0.1:", port_, "/", db);
}

absl::Status PrivatePostgres::Execute(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  absl::Status status;
  if (PQstatus(c) != CONNECTION_OK) {
    status = absl::UnavailableError(absl::StrCat("cannot connect to the private postgres: ", PQerrorMessage(c)));
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      status = absl::InternalError(absl::StrCat(sql, ": ", PQresultErrorMessage(r)));
    }
    PQclear(r);
  }
  PQfinish(c);
  return status;
}

absl::StatusOr<std::string> PrivatePostgres::CreateDatabase() {
  const std::string db = absl::StrCat("stepflow_", ++databases_);
  if (absl::Status s = Execute(ConnInfo(port_, "postgres"), "CREATE DATABASE " + db); !s.ok()) {
    return s;
  }
  return ConnInfo(port_, db);
}

}  // namespace stepflow::storage::testing
