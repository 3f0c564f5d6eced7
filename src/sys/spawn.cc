#include "sys/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/fd.h"

namespace berth::sys {

namespace {

// What the child reports when a setup step fails; the parent turns it into an Error.
struct ChildFailure {
  int step;
  int err;
};

enum Step { kSetns, kUnshare, kMountSlave, kHostname, kBind, kSysfs, kStdio, kExec };

const char* StepName(int step) {
  switch (step) {
    case kSetns: return "join network namespace";
    case kUnshare: return "create mount and UTS namespaces";
    case kMountSlave: return "make mounts private to the container";
    case kHostname: return "set hostname";
    case kBind: return "bind-mount container files";
    case kSysfs: return "mount /sys";
    case kStdio: return "set up standard streams";
    default: return "exec";
  }
}

[[noreturn]] void ChildFail(int pipe_fd, int step) {
  ChildFailure f{step, errno};
  ssize_t ignored = ::write(pipe_fd, &f, sizeof(f));
  (void)ignored;
  ::_exit(step == kExec && f.err == ENOENT ? 127 : 126);
}

[[noreturn]] void RunChild(const SpawnSpec& spec, int pipe_fd) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) signal(sig, SIG_DFL);
  if (spec.new_session) ::setsid();

  if (spec.netns_fd >= 0 && ::setns(spec.netns_fd, CLONE_NEWNET) != 0) ChildFail(pipe_fd, kSetns);
  if (::unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0) ChildFail(pipe_fd, kUnshare);
  // Slave: mounts made on the host later still show up in the container, but nothing the
  // container mounts leaks back.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    ChildFail(pipe_fd, kMountSlave);
  }
  for (const std::string& m : spec.detach_mounts) {
    if (::umount2(m.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      ChildFail(pipe_fd, kMountSlave);
    }
  }
  if (!spec.hostname.empty() &&
      ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
    ChildFail(pipe_fd, kHostname);
  }
  for (const auto& [src, dst] : spec.bind_files) {
    struct stat st;
    if (::stat(dst.c_str(), &st) != 0) continue;
    if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      ChildFail(pipe_fd, kBind);
    }
  }
  if (spec.mount_sysfs &&
      ::mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) !=
          0) {
    ChildFail(pipe_fd, kSysfs);
  }
  int fds[3] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};
  for (int i = 0; i < 3; ++i) {
    if (fds[i] >= 0 && ::dup2(fds[i], i) < 0) ChildFail(pipe_fd, kStdio);
  }
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  ChildFail(pipe_fd, kExec);
}

}  // namespace

Result<pid_t> Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) return Error::Invalid("no command given");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::System("pipe", errno);
  Fd rd(p[0]), wr(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Error::System("fork", errno);
  if (pid == 0) RunChild(spec, wr.get());
  wr.Reset();
  ChildFailure f{};
  ssize_t n;
  do {
    n = ::read(rd.get(), &f, sizeof(f));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return pid;  // the pipe closed on exec: the program is running
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof(f))) return Error::Internal("container start: short report");
  if (f.step == kExec) {
    return Error(f.err == ENOENT ? Code::kCommandNotFound : Code::kCommandCannotRun,
                 "exec \"" + spec.argv[0] + "\": " + std::strerror(f.err), f.err);
  }
  return Error::System(StepName(f.step), f.err);
}

Status EnterNamespacesOf(pid_t pid) {
  std::string base = "/proc/" + std::to_string(pid) + "/ns/";
  // Open all three first: once the mount namespace changes, /proc paths may resolve elsewhere.
  const char* kinds[] = {"net", "uts", "mnt"};
  int types[] = {CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWNS};
  Fd fds[3];
  for (int i = 0; i < 3; ++i) {
    fds[i].Reset(::open((base + kinds[i]).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fds[i].valid()) return Error::System(std::string("open ") + base + kinds[i], errno);
  }
  for (int i = 0; i < 3; ++i) {
    if (::setns(fds[i].get(), types[i]) != 0) {
      return Error::System(std::string("join ") + kinds[i] + " namespace", errno);
    }
  }
  if (::chdir("/") != 0) return Error::System("chdir /", errno);
  return Ok();
}

}  // namespace berth::sys
