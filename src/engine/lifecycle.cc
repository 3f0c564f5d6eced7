#include "engine/lifecycle.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sys/fd.h"
#include "sys/netns.h"
#include "sys/proc.h"
#include "sys/spawn.h"

namespace berth::engine {

namespace {

volatile sig_atomic_t g_child = 0;

void ForwardSignal(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

int WaitFor(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  return ExitCodeOf(status);
}

// What the child needs: the namespace to join, the hostname and the container's /etc files.
Result<sys::SpawnSpec> SpecFor(const Paths& paths, const Container& c, sys::Fd& netns) {
  sys::SpawnSpec spec;
  spec.argv = c.command;
  spec.hostname = c.hostname;
  spec.detach_mounts = {paths.netns_dir()};
  if (!c.netns_path.empty()) {
    BERTH_ASSIGN_OR_RETURN(netns, sys::OpenNetns(c.netns_path));
    spec.netns_fd = netns.get();
    std::string dir = paths.container_dir(c.netns_owner_id);
    spec.bind_files = {{dir + "/hosts", "/etc/hosts"},
                       {dir + "/resolv.conf", "/etc/resolv.conf"},
                       {dir + "/hostname", "/etc/hostname"}};
    spec.mount_sysfs = true;
  }
  return spec;
}

// Start failed: take the container away again, so a failed run changes nothing.
Error Abandon(Engine& engine, const Container& c, Error e) {
  Status st = engine.RemoveContainer(c.id, true);
  if (!st.ok()) e.Wrap("(cleanup also failed: " + st.error().message() + ")");
  return e;
}

Result<RunResult> RunForeground(Engine& engine, const Container& c, sys::SpawnSpec& spec) {
  // SIGINT/SIGQUIT from a terminal reach the container directly (same process group).
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  struct sigaction sa = {};
  sa.sa_handler = ForwardSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  auto pid = sys::Spawn(spec);
  if (!pid.ok()) return Abandon(engine, c, std::move(pid).error());
  g_child = *pid;
  auto start = sys::ProcessStartTime(*pid);
  Status recorded = engine.RecordProcess(c.id, *pid, start.ok() ? *start : 0);
  if (!recorded.ok() && recorded.error().code() == Code::kNotFound) {
    ::kill(*pid, SIGKILL);  // removed while starting: it has no container any more
  }
  int code = WaitFor(*pid);
  g_child = 0;
  Status st = ContainerExited(engine, c.id, code);
  if (!st.ok()) std::fprintf(stderr, "berth: warning: %s\n", st.error().message().c_str());
  return RunResult{c.name, code};
}

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// The monitor: a fork of berth in its own session. Starts the container, reports
// "ok PID START_TIME" or "E<code> message" on `report`, waits for the container, then execs
// `berth __container-exited` to record the exit (and do what --rm asks). It never touches the
// state store itself (see kContainerExitedVerb).
[[noreturn]] void Monitor(const std::string& root, const Container& c, sys::SpawnSpec& spec,
                          int report) {
  ::setsid();
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  std::string log = root + "/containers/" + c.id + "/log";
  int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  // Let go of the caller's stdio at once: `$(berth run -d ...)` must not wait for us.
  for (int fd = 0; fd < 3; ++fd) ::dup2(devnull, fd);
  spec.stdin_fd = devnull;
  spec.stdout_fd = spec.stderr_fd = logfd >= 0 ? logfd : devnull;
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  auto pid = sys::Spawn(spec);
  if (!pid.ok()) {
    WriteAll(report, "E" + std::to_string(static_cast<int>(pid.error().code())) + " " +
                         pid.error().message());
    ::_exit(1);
  }
  g_child = *pid;
  struct sigaction sa = {};
  sa.sa_handler = ForwardSignal;
  sigaction(SIGTERM, &sa, nullptr);
  auto start = sys::ProcessStartTime(*pid);
  WriteAll(report, "ok " + std::to_string(*pid) + " " + std::to_string(start.ok() ? *start : 0));
  ::close(report);
  int code = WaitFor(*pid);
  std::string code_text = std::to_string(code);
  const char* argv[] = {"berth", "--root", root.c_str(), kContainerExitedVerb, c.id.c_str(),
                        code_text.c_str(), nullptr};
  ::execv("/proc/self/exe", const_cast<char**>(argv));
  ::_exit(1);
}

Result<RunResult> RunDetached(Engine& engine, const Container& c, sys::SpawnSpec& spec) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Abandon(engine, c, Error::System("pipe", errno));
  sys::Fd rd(p[0]), wr(p[1]);
  std::fflush(nullptr);
  pid_t monitor = ::fork();
  if (monitor < 0) return Abandon(engine, c, Error::System("fork", errno));
  if (monitor == 0) {
    rd.Reset();
    Monitor(engine.paths().root, c, spec, wr.Release());
  }
  wr.Reset();
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    msg.append(buf, static_cast<size_t>(n));
  }
  if (msg.rfind("ok ", 0) == 0) {
    long long pid = 0;
    unsigned long long start = 0;
    if (std::sscanf(msg.c_str() + 3, "%lld %llu", &pid, &start) == 2 && pid > 0) {
      // Recorded here, on this process's own connection, before `run -d` returns.
      Status st = engine.RecordProcess(c.id, static_cast<int>(pid), start);
      if (st.ok()) return RunResult{c.name, 0};
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      Error e = std::move(st).error().Wrap("start container " + c.name);
      if (e.code() == Code::kNotFound) return e;  // nothing left to abandon
      return Abandon(engine, c, std::move(e));
    }
  }
  // The monitor could not start the container and exits: reap it.
  while (::waitpid(monitor, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (msg.size() > 1 && msg[0] == 'E') {
    size_t sp = msg.find(' ');
    Code code = static_cast<Code>(std::atoi(msg.substr(1, sp - 1).c_str()));
    return Abandon(engine, c, Error(code, msg.substr(sp + 1)));
  }
  return Abandon(engine, c, Error::Internal("container monitor exited before starting it"));
}

}  // namespace

Result<RunResult> Run(Engine& engine, const ContainerCreateRequest& req, bool detach,
                      const std::function<void(const std::string&)>& warn) {
  // Undone (after Abandon removed the container) unless the command starts: a failed run
  // leaves even the network's allocation cursor as it was.
  Rollback undo_start;
  std::vector<std::string> warnings;
  BERTH_ASSIGN_OR_RETURN(Container c, engine.CreateContainer(req, &warnings, &undo_start));
  for (const std::string& w : warnings) {
    if (warn) warn(w);
  }
  sys::Fd netns;
  auto spec = SpecFor(engine.paths(), c, netns);
  if (!spec.ok()) return Abandon(engine, c, std::move(spec).error());
  auto result = detach ? RunDetached(engine, c, *spec) : RunForeground(engine, c, *spec);
  if (result.ok()) undo_start.Commit();
  return result;
}

Status ContainerExited(Engine& engine, const std::string& id, int exit_code) {
  BERTH_TRY(engine.RecordExit(id, exit_code));
  BERTH_ASSIGN_OR_RETURN(auto c, engine.store().FindContainer(id));
  if (!c || c->id != id || !c->auto_remove) return Ok();
  Status st = engine.RemoveContainer(id, false);
  if (!st.ok() && st.error().code() == Code::kNotFound) return Ok();  // removed meanwhile
  return st;
}

Status Exec(Engine& engine, const std::string& key, const std::vector<std::string>& cmd) {
  if (cmd.empty()) return Error::Invalid("no command given: berth exec CONTAINER [--] COMMAND");
  BERTH_ASSIGN_OR_RETURN(auto c, engine.store().FindContainer(key));
  if (!c) return Error::NotFound("no such container: " + key);
  if (!sys::IsAlive(c->pid, c->start_time)) {
    return Error::Invalid("container " + c->name + " is not running");
  }
  BERTH_TRY(sys::EnterNamespacesOf(c->pid));
  std::vector<char*> argv;
  for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  int err = errno;
  return Error(err == ENOENT ? Code::kCommandNotFound : Code::kCommandCannotRun,
               "exec \"" + cmd[0] + "\": " + std::strerror(err), err);
}

}  // namespace berth::engine
