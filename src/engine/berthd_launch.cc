#include "engine/berthd_launch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "sys/fd.h"

namespace berth::engine {

// Forks berthd off as a daemon of its own (new session, stdio to its log, no inherited fds,
// cwd /); the intermediate child exits at once, so berthd is nobody's zombie. A close-on-exec
// pipe reports an exec failure (berthd not installed) at once instead of after a timeout.
Status SpawnBerthd(const Paths& paths) {
  std::string bin = BerthdBinary();
  std::string root = paths.root;
  std::string log = paths.berthd_log();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::System("pipe", errno);
  sys::Fd rd(p[0]), wr(p[1]);
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) return Error::System("fork", errno);
  if (child == 0) {
    ::setsid();
    pid_t daemon = ::fork();
    if (daemon != 0) ::_exit(daemon < 0 ? 1 : 0);
    int devnull = ::open("/dev/null", O_RDWR);
    int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (logfd < 0) logfd = devnull;
    ::dup2(devnull, 0);
    ::dup2(logfd, 1);
    ::dup2(logfd, 2);
    int report = ::fcntl(wr.get(), F_DUPFD_CLOEXEC, 3);
    ::close_range(3, static_cast<unsigned>(report > 3 ? report - 1 : 2), 0);
    ::close_range(static_cast<unsigned>(report + 1), ~0u, 0);
    if (::chdir("/") != 0) ::_exit(1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_DFL);
    const char* argv[] = {bin.c_str(), "--root", root.c_str(), nullptr};
    ::execvp(argv[0], const_cast<char* const*>(argv));
    int err = errno;
    ssize_t ignored = ::write(report, &err, sizeof(err));
    (void)ignored;
    ::_exit(127);
  }
  wr.Reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int err = 0;
  ssize_t n;
  while ((n = ::read(rd.get(), &err, sizeof(err))) < 0 && errno == EINTR) {
  }
  if (n == sizeof(err)) return Error::System("exec " + bin, err);
  return Ok();
}

std::string BerthdBinary() {
  if (const char* env = std::getenv("BERTHD_BIN"); env && *env) return env;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    std::string beside = dir + "/berthd";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  return "berthd";
}

}  // namespace berth::engine
