#include "runtime/exec.h"

#include <signal.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/tty.h"
#include "sys/namespaces.h"
#include "sys/proc.h"
#include "sys/subprocess.h"

namespace berth::runtime {

namespace {

volatile sig_atomic_t g_exec_child = 0;

void Forward(int sig) {
  if (g_exec_child > 0) ::kill(g_exec_child, sig);
}

}  // namespace

Result<int> Exec(engine::Engine& engine, const std::string& key,
                 const std::vector<std::string>& cmd, const ExecOptions& options) {
  if (cmd.empty()) return Error::Invalid("no command given: berth exec CONTAINER [--] COMMAND");
  BERTH_ASSIGN_OR_RETURN(auto c, engine.store().FindContainer(key));
  if (!c) return Error::NotFound("no such container: " + key);
  if (!sys::IsAlive(c->pid, c->start_time)) {
    return Error::Invalid("container " + c->name + " is not running");
  }
  BERTH_ASSIGN_OR_RETURN(RunConfig cfg, LoadRunConfig(engine.paths(), c->id));
  sys::SubprocessSpec spec;
  spec.argv = cmd;
  std::vector<std::string> env = cfg.env.empty() ? ContainerEnv(c->hostname, false, {}) : cfg.env;
  if (options.tty) env.push_back("TERM=xterm");
  for (const std::string& v : options.env) env.push_back(v);
  // Later entries win: build the final list through ContainerEnv's override rules.
  std::vector<std::string> merged;
  for (const std::string& v : env) {
    std::string name = v.substr(0, v.find('='));
    std::erase_if(merged, [&](const std::string& m) { return m.substr(0, m.find('=')) == name; });
    if (v.find('=') != std::string::npos) {
      merged.push_back(v);
    } else if (const char* value = std::getenv(v.c_str())) {
      merged.push_back(v + "=" + value);
    }
  }
  spec.env = merged;
  spec.cwd = options.workdir.empty() ? cfg.workdir : options.workdir;
  std::string user = options.user.empty() ? cfg.user : options.user;
  if (!user.empty()) {
    BERTH_ASSIGN_OR_RETURN(spec.user, ResolveUser(user));
  }
  std::optional<Pty> pty;
  if (options.tty) {
    BERTH_ASSIGN_OR_RETURN(pty, OpenPty(STDIN_FILENO));
    spec.std_in = spec.std_out = spec.std_err = sys::Stdio::From(pty->slave.get());
    spec.controlling_tty = true;
  } else if (!options.interactive) {
    spec.std_in = sys::Stdio::Null();  // Docker's: our stdin reaches it only with -i
  }
  if (options.detach) {
    spec.detached = true;
    if (!options.tty) spec.std_in = spec.std_out = spec.std_err = sys::Stdio::Null();
  }
  BERTH_TRY(sys::EnterNamespacesOf(c->pid));
  if (!options.tty) {
    // ^C and ^\ from the terminal reach the command itself (same process group).
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
  }
  struct sigaction sa = {};
  sa.sa_handler = Forward;
  for (int sig : {SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  BERTH_ASSIGN_OR_RETURN(sys::Subprocess child, sys::Subprocess::Start(std::move(spec)));
  if (options.detach) return 0;
  g_exec_child = child.pid();
  if (pty) {
    pty->slave.Reset();
    RawMode raw(STDIN_FILENO);
    (void)RelayPty(pty->master.get(), child.pid(), options.interactive ? STDIN_FILENO : -1,
                   STDOUT_FILENO);
  }
  auto code = child.Wait();
  g_exec_child = 0;
  return code;
}

}  // namespace berth::runtime
