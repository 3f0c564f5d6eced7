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
#include "runtime/container_log.h"
#include "runtime/exited.h"
#include "runtime/lifecycle.h"
#include "runtime/tee.h"
#include "runtime/tty.h"
#include "sys/fd.h"
#include "sys/netns.h"
#include "sys/proc.h"
#include "sys/subprocess.h"
#include "sys/write_all.h"

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

// The command in the container's namespaces: its network namespace joined, the hostname, the
// container's /etc files, PID and IPC namespaces of its own, and how run.json says to run it.
Result<sys::SubprocessSpec> SpecFor(const engine::Paths& paths, const Container& c,
                                    const RunConfig& cfg, sys::Fd& netns) {
  sys::SubprocessSpec spec;
  spec.argv = c.command;
  spec.env = cfg.env.empty() ? ContainerEnv(c.hostname, cfg.tty, {}) : cfg.env;
  spec.cwd = cfg.workdir;
  if (!cfg.user.empty()) {
    BERTH_ASSIGN_OR_RETURN(spec.user, ResolveUser(cfg.user));
  }
  sys::Isolation& iso = spec.isolation.emplace();
  iso.hostname = c.hostname;
  iso.detach_mounts = {paths.netns_dir()};
  iso.new_pid = !cfg.pid_host;
  iso.new_ipc = !cfg.ipc_host;
  spec.init = cfg.init;
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

// --add-host lines after the container's own (the hosts file is the network owner's).
Status AppendHosts(const engine::Paths& paths, const Container& c, const RunConfig& cfg) {
  if (cfg.add_hosts.empty() || c.netns_owner_id.empty()) return Ok();
  std::string path = paths.container_dir(c.netns_owner_id) + "/hosts";
  BERTH_ASSIGN_OR_RETURN(std::string hosts, sys::ReadFile(path));
  for (const std::string& spec : cfg.add_hosts) {
    BERTH_ASSIGN_OR_RETURN(std::string line, HostsLine(spec));
    if (hosts.find(line + "\n") == std::string::npos) hosts += line + "\n";
  }
  return sys::WriteFileInPlace(path, hosts);
}

// How a start that failed is taken back: a new container is removed again (a failed run
// changes nothing); an existing one stays as it was.
struct Starter {
  Engine& engine;
  const Container& c;
  bool fresh;  // Run (created -> running) rather than Start (exited -> running)

  Error Abandon(Error e) const {
    if (!fresh) return e;
    Status st = Remove(engine, c.id, true);
    if (!st.ok()) e.Wrap("(cleanup also failed: " + st.error().message() + ")");
    return e;
  }
  Status Record(int pid, uint64_t start) const {
    if (fresh) return engine.RecordProcess(c.id, pid, start);
    return engine.store().UpdateContainerProcess(c.id, pid, start, ContainerState::kRunning, 0);
  }
};

Result<RunResult> RunForeground(const Starter& s, const RunConfig& cfg, sys::SubprocessSpec spec) {
  std::optional<Pty> pty;
  if (cfg.tty) {
    auto opened = OpenPty(STDIN_FILENO);
    if (!opened.ok()) return s.Abandon(std::move(opened).error());
    pty = std::move(*opened);
    spec.std_in = spec.std_out = spec.std_err = sys::Stdio::From(pty->slave.get());
    spec.controlling_tty = true;
  } else {
    // Docker's: without -i the container reads nothing of ours (`echo hi | run cat` is empty).
    if (!cfg.interactive) spec.std_in = sys::Stdio::Null();
    // Its output reaches us through pipes, to be shown and logged (TeeOutput).
    spec.std_out = spec.std_err = sys::Stdio::Pipe();
    // SIGINT/SIGQUIT from a terminal reach the container directly (same process group).
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);  // a reader of ours gone (`| head -1`): the log still gets it
  }
  ForwardSignals({SIGTERM, SIGHUP});
  auto child = sys::Subprocess::Start(std::move(spec));
  if (!child.ok()) return s.Abandon(std::move(child).error());
  g_child = child->pid();
  auto start = sys::ProcessStartTime(child->pid());
  Status recorded = s.Record(child->pid(), start.ok() ? *start : 0);
  if (!recorded.ok() && recorded.error().code() == Code::kNotFound) {
    (void)child->Kill();  // removed while starting: it has no container any more
  }
  // Docker's: `berth logs` shows what a foreground run printed too.
  LogWriter log(LogPath(s.engine.paths(), s.c.id));
  if (pty) {
    pty->slave.Reset();
    RawMode raw(STDIN_FILENO);
    Status relayed = RelayPty(pty->master.get(), child->pid(), cfg.interactive ? STDIN_FILENO : -1,
                              STDOUT_FILENO, &log);
    if (!relayed.ok()) (void)child->Kill();
  } else {
    Status teed = TeeOutput(child->pid(), child->stdout_pipe().get(), child->stderr_pipe().get(),
                            STDOUT_FILENO, STDERR_FILENO, &log);
    if (!teed.ok()) {
      log::Warn(teed.error().message());
      child->stdout_pipe().Reset();  // unread, they would block it once full: EPIPE instead
      child->stderr_pipe().Reset();
    }
  }
  auto waited = child->Wait();
  int code = waited.ok() ? *waited : 1;
  g_child = 0;
  Status st = ContainerExited(s.engine, s.c.id, code, child->pid());
  if (!st.ok()) log::Warn(st.error().message());
  return RunResult{s.c.name, code};
}

// The monitor, a fork of berth in its own session whose stdout is a pipe to `berth run -d`.
// Starts the container, reports "ok PID START_TIME" or "E<code> message" on stdout, then
// lets go of it (the caller reads to EOF), waits for the container, and execs
// `berth __container-exited` to record the exit (and do what --rm and --restart ask). It
// never touches the state store itself (see kContainerExitedVerb).
int Monitor(const std::string& root, const Container& c, const RunConfig& cfg,
            sys::SubprocessSpec spec) {
  LogWriter log(LogPath(engine::Paths{root}, c.id));
  std::optional<Pty> pty;
  if (cfg.tty) {
    // -d -t: the monitor keeps the terminal's master and writes what comes out to the log.
    auto opened = OpenPty();
    if (!opened.ok()) {
      sys::WriteAll(STDOUT_FILENO, "E" + std::to_string(static_cast<int>(opened.error().code())) + " " +
                                  opened.error().message());
      return 1;
    }
    pty = std::move(*opened);
    spec.std_in = spec.std_out = spec.std_err = sys::Stdio::From(pty->slave.get());
    spec.controlling_tty = true;
  } else {
    // Through a pipe, not straight into the file: the monitor stamps each line's time.
    spec.std_in = sys::Stdio::Null();
    spec.std_out = log.valid() ? sys::Stdio::Pipe() : sys::Stdio::Null();
    spec.std_err = sys::Stdio::ToStdout();
  }
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  auto child = sys::Subprocess::Start(std::move(spec));
  if (!child.ok()) {
    sys::WriteAll(STDOUT_FILENO, "E" + std::to_string(static_cast<int>(child.error().code())) + " " +
                                child.error().message());
    return 1;
  }
  g_child = child->pid();
  ForwardSignals({SIGTERM});
  auto start = sys::ProcessStartTime(child->pid());
  sys::WriteAll(STDOUT_FILENO,
           "ok " + std::to_string(child->pid()) + " " + std::to_string(start.ok() ? *start : 0));
  int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0) ::dup2(null, STDOUT_FILENO), ::close(null);
  if (pty) {
    pty->slave.Reset();
    (void)RelayPty(pty->master.get(), child->pid(), -1, -1, &log);
  } else if (log.valid()) {
    (void)TeeOutput(child->pid(), child->stdout_pipe().get(), -1, -1, -1, &log);
    child->stdout_pipe().Reset();
  }
  auto waited = child->Wait();
  std::string code = std::to_string(waited.ok() ? *waited : 1);
  (void)sys::ExecInPlace(
      {"berth", "--root", root, kContainerExitedVerb, c.id, code, std::to_string(child->pid())},
      "/proc/self/exe");
  return 1;
}

Result<RunResult> RunDetached(const Starter& s, const RunConfig& cfg, sys::SubprocessSpec spec) {
  sys::SubprocessSpec monitor_spec;
  // Stdio let go at once: `$(berth run -d ...)` must not wait for the monitor; stdout is the
  // report, and the monitor closes it once it has reported.
  monitor_spec.std_in = monitor_spec.std_err = sys::Stdio::Null();
  monitor_spec.std_out = sys::Stdio::Pipe();
  monitor_spec.new_session = true;
  std::string root = s.engine.paths().root;
  monitor_spec.child_main = [&] { return Monitor(root, s.c, cfg, std::move(spec)); };
  auto monitor = sys::Subprocess::Start(std::move(monitor_spec));
  if (!monitor.ok()) return s.Abandon(std::move(monitor).error());
  std::string msg;
  (void)monitor->Communicate({}, &msg, nullptr);
  if (msg.rfind("ok ", 0) == 0) {
    long long pid = 0;
    unsigned long long start = 0;
    if (std::sscanf(msg.c_str() + 3, "%lld %llu", &pid, &start) == 2 && pid > 0) {
      // Recorded here, on this process's own connection, before `run -d` returns.
      Status st = s.Record(static_cast<int>(pid), start);
      if (st.ok()) {
        monitor->Release();  // it supervises the container from now on
        return RunResult{s.c.name, 0};
      }
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      Error e = std::move(st).error().Wrap("start container " + s.c.name);
      if (e.code() == Code::kNotFound) return e;  // nothing left to abandon
      return s.Abandon(std::move(e));
    }
  }
  (void)monitor->Wait();  // it could not start the container and exits
  if (msg.size() > 1 && msg[0] == 'E') {
    size_t sp = msg.find(' ');
    Code code = static_cast<Code>(std::atoi(msg.substr(1, sp - 1).c_str()));
    return s.Abandon(Error(code, msg.substr(sp + 1)));
  }
  return s.Abandon(Error::Internal("container monitor exited before starting it"));
}

Result<RunResult> StartProcess(const Starter& s, const RunConfig& cfg, bool detach) {
  sys::Fd netns;
  auto spec = SpecFor(s.engine.paths(), s.c, cfg, netns);
  if (!spec.ok()) return s.Abandon(std::move(spec).error());
  return detach ? RunDetached(s, cfg, std::move(*spec)) : RunForeground(s, cfg, std::move(*spec));
}

}  // namespace

std::string LogPath(const engine::Paths& paths, const std::string& id) {
  return paths.container_dir(id) + "/log";
}

Result<RunResult> Run(Engine& engine, const engine::ContainerCreateRequest& req,
                      const RunConfig& config, bool detach,
                      const std::function<void(const std::string&)>& warn) {
  for (const std::string& h : config.add_hosts) BERTH_TRY(HostsLine(h));
  if (!config.user.empty()) BERTH_TRY(ResolveUser(config.user));
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
  Starter starter{engine, c, true};
  RunConfig cfg = config;
  cfg.env = ContainerEnv(c.hostname, cfg.tty, config.env);
  Status saved = SaveRunConfig(engine.paths(), c.id, cfg);
  if (saved.ok()) saved = AppendHosts(engine.paths(), c, cfg);
  if (!saved.ok()) return starter.Abandon(std::move(saved).error());
  auto result = StartProcess(starter, cfg, detach);
  if (result.ok()) undo_start.Commit();
  return result;
}

Result<RunResult> Start(Engine& engine, const std::string& key, bool attach) {
  BERTH_ASSIGN_OR_RETURN(auto found, engine.store().FindContainer(key));
  if (!found) return Error::NotFound("no such container: " + key);
  const Container& c = *found;
  if (c.is_cni()) {
    return Error::Invalid("container " + c.name + " belongs to a CNI runtime: start it there");
  }
  if (sys::IsAlive(c.pid, c.start_time)) return RunResult{c.name, 0};
  if (!c.netns_owner_id.empty() && c.netns_owner_id != c.id) {
    BERTH_ASSIGN_OR_RETURN(auto owner, engine.store().GetContainer(c.netns_owner_id));
    if (!owner || !sys::IsAlive(owner->pid, owner->start_time)) {
      return Error::Invalid("cannot join the network namespace of container " +
                            (owner ? owner->name : c.netns_owner_id) + ": it is not running");
    }
  }
  BERTH_ASSIGN_OR_RETURN(RunConfig cfg, LoadRunConfig(engine.paths(), c.id));
  cfg.stopped = false;
  BERTH_TRY(SaveRunConfig(engine.paths(), c.id, cfg));
  // The network it let go of when it stopped, back before its process starts.
  BERTH_TRY(engine.RestoreEndpoints(c.id));
  BERTH_TRY(AppendHosts(engine.paths(), c, cfg));
  auto started = StartProcess(Starter{engine, c, false}, cfg, !attach);
  if (!started.ok()) (void)engine.ReleaseEndpoints(c.id);
  return started;
}

}  // namespace berth::runtime
