#include "runtime/run.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/log.h"
#include "engine/intents.h"
#include "runtime/exited.h"
#include "sys/fd.h"
#include "sys/netns.h"
#include "sys/proc.h"
#include "sys/subprocess.h"

namespace berth::runtime {

namespace {

using engine::Engine;

volatile sig_atomic_t g_child = 0;

void ForwardSignal(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

void ForwardSignals(std::initializer_list<int> sigs) {
  struct sigaction sa = {};
  sa.sa_handler = ForwardSignal;
  for (int sig : sigs) sigaction(sig, &sa, nullptr);
}

// The command in the container's namespaces: its network namespace joined, the hostname and
// the container's /etc files.
Result<sys::SubprocessSpec> SpecFor(const engine::Paths& paths, const Container& c,
                                    sys::Fd& netns) {
  sys::SubprocessSpec spec;
  spec.argv = c.command;
  sys::Isolation& iso = spec.isolation.emplace();
  iso.hostname = c.hostname;
  iso.detach_mounts = {paths.netns_dir()};
  if (!c.netns_path.empty()) {
    BERTH_ASSIGN_OR_RETURN(netns, sys::OpenNetns(c.netns_path));
    iso.netns_fd = netns.get();
    std::string dir = paths.container_dir(c.netns_owner_id);
    iso.bind_files = {{dir + "/hosts", "/etc/hosts"},
                      {dir + "/resolv.conf", "/etc/resolv.conf"},
                      {dir + "/hostname", "/etc/hostname"}};
    iso.mount_sysfs = true;
  }
  return spec;
}

// Start failed: take the container away again, so a failed run changes nothing.
Error Abandon(Engine& engine, const Container& c, Error e) {
  Status st = engine.RemoveContainer(c.id, true);
  if (!st.ok()) e.Wrap("(cleanup also failed: " + st.error().message() + ")");
  return e;
}

Result<RunResult> RunForeground(Engine& engine, const Container& c, sys::SubprocessSpec spec) {
  // SIGINT/SIGQUIT from a terminal reach the container directly (same process group).
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  ForwardSignals({SIGTERM, SIGHUP});
  auto child = sys::Subprocess::Start(std::move(spec));
  if (!child.ok()) return Abandon(engine, c, std::move(child).error());
  g_child = child->pid();
  auto start = sys::ProcessStartTime(child->pid());
  Status recorded = engine.RecordProcess(c.id, child->pid(), start.ok() ? *start : 0);
  if (!recorded.ok() && recorded.error().code() == Code::kNotFound) {
    (void)child->Kill();  // removed while starting: it has no container any more
  }
  auto waited = child->Wait();
  int code = waited.ok() ? *waited : 1;
  g_child = 0;
  Status st = ContainerExited(engine, c.id, code);
  if (!st.ok()) log::Warn(st.error().message());
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

// The monitor, a fork of berth in its own session whose stdout is a pipe to `berth run -d`.
// Starts the container, reports "ok PID START_TIME" or "E<code> message" on stdout, then
// lets go of it (the caller reads to EOF), waits for the container, and execs
// `berth __container-exited` to record the exit (and do what --rm asks). It never touches the
// state store itself (see kContainerExitedVerb).
int Monitor(const std::string& root, const Container& c, sys::SubprocessSpec spec) {
  std::string log = root + "/containers/" + c.id + "/log";
  sys::Fd logfd(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  spec.std_in = sys::Stdio::Null();
  spec.std_out = logfd.valid() ? sys::Stdio::From(logfd.get()) : sys::Stdio::Null();
  spec.std_err = sys::Stdio::ToStdout();
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  auto child = sys::Subprocess::Start(std::move(spec));
  if (!child.ok()) {
    WriteAll(STDOUT_FILENO, "E" + std::to_string(static_cast<int>(child.error().code())) + " " +
                                child.error().message());
    return 1;
  }
  g_child = child->pid();
  ForwardSignals({SIGTERM});
  auto start = sys::ProcessStartTime(child->pid());
  WriteAll(STDOUT_FILENO,
           "ok " + std::to_string(child->pid()) + " " + std::to_string(start.ok() ? *start : 0));
  int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0) ::dup2(null, STDOUT_FILENO), ::close(null);
  auto waited = child->Wait();
  std::string code = std::to_string(waited.ok() ? *waited : 1);
  (void)sys::ExecInPlace({"berth", "--root", root, kContainerExitedVerb, c.id, code},
                         "/proc/self/exe");
  return 1;
}

Result<RunResult> RunDetached(Engine& engine, const Container& c, sys::SubprocessSpec spec) {
  sys::SubprocessSpec monitor_spec;
  // Stdio let go at once: `$(berth run -d ...)` must not wait for the monitor; stdout is the
  // report, and the monitor closes it once it has reported.
  monitor_spec.std_in = monitor_spec.std_err = sys::Stdio::Null();
  monitor_spec.std_out = sys::Stdio::Pipe();
  monitor_spec.new_session = true;
  std::string root = engine.paths().root;
  monitor_spec.child_main = [&] { return Monitor(root, c, std::move(spec)); };
  auto monitor = sys::Subprocess::Start(std::move(monitor_spec));
  if (!monitor.ok()) return Abandon(engine, c, std::move(monitor).error());
  std::string msg;
  (void)monitor->Communicate({}, &msg, nullptr);
  if (msg.rfind("ok ", 0) == 0) {
    long long pid = 0;
    unsigned long long start = 0;
    if (std::sscanf(msg.c_str() + 3, "%lld %llu", &pid, &start) == 2 && pid > 0) {
      // Recorded here, on this process's own connection, before `run -d` returns.
      Status st = engine.RecordProcess(c.id, static_cast<int>(pid), start);
      if (st.ok()) {
        monitor->Release();  // it supervises the container from now on
        return RunResult{c.name, 0};
      }
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      Error e = std::move(st).error().Wrap("start container " + c.name);
      if (e.code() == Code::kNotFound) return e;  // nothing left to abandon
      return Abandon(engine, c, std::move(e));
    }
  }
  (void)monitor->Wait();  // it could not start the container and exits
  if (msg.size() > 1 && msg[0] == 'E') {
    size_t sp = msg.find(' ');
    Code code = static_cast<Code>(std::atoi(msg.substr(1, sp - 1).c_str()));
    return Abandon(engine, c, Error(code, msg.substr(sp + 1)));
  }
  return Abandon(engine, c, Error::Internal("container monitor exited before starting it"));
}

}  // namespace

Result<RunResult> Run(Engine& engine, const engine::ContainerCreateRequest& req, bool detach,
                      const std::function<void(const std::string&)>& warn) {
  // Undone (after Abandon removed the container) unless the command starts: a failed run
  // leaves even the network's allocation cursor as it was.
  Rollback undo_start;
  std::vector<std::string> warnings;
  std::string start_intent;
  BERTH_ASSIGN_OR_RETURN(Container c,
                         engine.CreateContainer(req, &warnings, &undo_start, &start_intent));
  // Held until the process is recorded or the start abandoned: a kill in between leaves it for
  // recovery (engine/intents.h).
  struct ForgetIntent {
    const std::string& path;
    ~ForgetIntent() { (void)engine::Intents::Forget(path); }
  } forget{start_intent};
  for (const std::string& w : warnings) {
    if (warn) warn(w);
  }
  sys::Fd netns;
  auto spec = SpecFor(engine.paths(), c, netns);
  if (!spec.ok()) return Abandon(engine, c, std::move(spec).error());
  auto result = detach ? RunDetached(engine, c, std::move(*spec))
                       : RunForeground(engine, c, std::move(*spec));
  if (result.ok()) undo_start.Commit();
  return result;
}

}  // namespace berth::runtime
