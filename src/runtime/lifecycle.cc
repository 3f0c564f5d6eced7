#include "runtime/lifecycle.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "runtime/config.h"
#include "runtime/run.h"
#include "sys/fd.h"
#include "sys/proc.h"

namespace berth::runtime {

namespace {

using Clock = std::chrono::steady_clock;

Result<Container> Require(engine::Engine& engine, const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto c, engine.store().FindContainer(key));
  if (!c) return Error::NotFound("no such container: " + key);
  return std::move(*c);
}

// Tells the restart policy to leave the container alone (Docker's "manually stopped").
Status MarkStopped(engine::Engine& engine, const Container& c) {
  BERTH_ASSIGN_OR_RETURN(RunConfig cfg, LoadRunConfig(engine.paths(), c.id));
  if (cfg.stopped) return Ok();
  cfg.stopped = true;
  return SaveRunConfig(engine.paths(), c.id, cfg);
}

// We are not its parent (its monitor is), so we wait by watching it die. `rm -f` polls
// faster than `stop`: a SIGKILLed process is gone within a millisecond or two.
bool WaitGone(const Container& c, Clock::time_point deadline,
              std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  while (sys::IsAlive(c.pid, c.start_time)) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

// The monitor (or a foreground `run`) records the exit a moment after the process is gone.
// Returns the recorded exit code, nullopt when the container is gone (--rm).
Result<std::optional<int>> WaitRecorded(engine::Engine& engine, const Container& c) {
  auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(auto now, engine.store().GetContainer(c.id));
    if (!now) return std::optional<int>();
    if (now->pid != c.pid) return std::optional<int>(0);  // started again meanwhile
    if (now->state == ContainerState::kExited) return std::optional<int>(now->exit_code);
    // Nobody will record it (its monitor was killed too): say what is known.
    if (Clock::now() > deadline) return std::optional<int>(now->exit_code);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

uint64_t Inode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string Field(const std::string& status, const char* name) {
  size_t at = status.find(std::string("\n") + name + ":");
  if (at == std::string::npos) return "";
  at += std::strlen(name) + 2;
  size_t first = status.find_first_not_of(" \t", at);
  size_t end = status.find_first_of(" \t\n", first);
  return status.substr(first, end - first);
}

}  // namespace

Status Stop(engine::Engine& engine, const std::string& key, int timeout) {
  BERTH_ASSIGN_OR_RETURN(Container c, Require(engine, key));
  if (c.is_cni()) return Error::Invalid("container " + c.name + " belongs to a CNI runtime");
  BERTH_TRY(MarkStopped(engine, c));
  if (!sys::IsAlive(c.pid, c.start_time)) return Ok();
  // A PID-1 process without a SIGTERM handler ignores it (the kernel protects a namespace's
  // init): then SIGKILL after the grace period, as Docker does.
  if (::kill(c.pid, SIGTERM) != 0 && errno != ESRCH) {
    return Error::System("stop container " + c.name, errno);
  }
  if (!WaitGone(c, Clock::now() + std::chrono::seconds(std::max(timeout, 0)))) {
    if (::kill(c.pid, SIGKILL) != 0 && errno != ESRCH) {
      return Error::System("kill container " + c.name, errno);
    }
    if (!WaitGone(c, Clock::now() + std::chrono::seconds(10))) {
      return Error::Unavailable("container " + c.name + " did not exit after SIGKILL");
    }
  }
  BERTH_ASSIGN_OR_RETURN(auto code, WaitRecorded(engine, c));
  if (!code) return Ok();  // removed (--rm)
  // The exit hook then releases its network: `stop` returns once that is done, so the name
  // no longer resolves and the address is free when it does.
  auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(auto now, engine.store().GetContainer(c.id));
    if (!now || now->pid != c.pid) return Ok();
    BERTH_ASSIGN_OR_RETURN(auto eps, engine.store().EndpointsOfContainer(c.id));
    if (eps.empty() || Clock::now() > deadline) return Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status Remove(engine::Engine& engine, const std::string& key, bool force) {
  BERTH_ASSIGN_OR_RETURN(Container c, Require(engine, key));
  if (force && sys::IsAlive(c.pid, c.start_time)) {
    BERTH_TRY(engine.CheckRemovable(c));  // before killing anything
    // Or its restart policy would start it again the moment it dies (137 is a failure).
    if (!c.is_cni()) BERTH_TRY(MarkStopped(engine, c));
    if (::kill(c.pid, SIGKILL) != 0 && errno != ESRCH) {
      return Error::System("kill container " + c.name, errno);
    }
    if (!WaitGone(c, Clock::now() + std::chrono::seconds(10), std::chrono::milliseconds(1))) {
      return Error::Unavailable("container " + c.name + " did not exit after SIGKILL");
    }
  }
  return engine.RemoveContainer(c.id);
}

Status Kill(engine::Engine& engine, const std::string& key, int signal) {
  BERTH_ASSIGN_OR_RETURN(Container c, Require(engine, key));
  if (!sys::IsAlive(c.pid, c.start_time)) {
    return Error::Invalid("container " + c.name + " is not running");
  }
  if (signal == SIGKILL || signal == SIGTERM) BERTH_TRY(MarkStopped(engine, c));
  if (::kill(c.pid, signal) != 0) return Error::System("kill container " + c.name, errno);
  return Ok();
}

Result<int> ParseSignal(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::toupper(ch); });
  if (!n.empty() && std::all_of(n.begin(), n.end(), ::isdigit)) {
    int sig = std::atoi(n.c_str());
    if (sig > 0 && sig < NSIG) return sig;
  }
  if (n.rfind("SIG", 0) == 0) n = n.substr(3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    if (abbrev && n == abbrev) return sig;
  }
  return Error::Invalid("invalid signal: " + name);
}

Result<int> Wait(engine::Engine& engine, const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(Container c, Require(engine, key));
  WaitGone(c, Clock::time_point::max());
  BERTH_ASSIGN_OR_RETURN(auto code, WaitRecorded(engine, c));
  return code.value_or(0);
}

Result<std::vector<std::vector<std::string>>> Top(engine::Engine& engine, const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(Container c, Require(engine, key));
  if (!sys::IsAlive(c.pid, c.start_time)) {
    return Error::Invalid("container " + c.name + " is not running");
  }
  // Its PID namespace when it has one of its own, else its network namespace.
  std::string kind = "pid";
  uint64_t ns = Inode("/proc/" + std::to_string(c.pid) + "/ns/pid");
  if (ns == Inode("/proc/self/ns/pid")) {
    kind = "net";
    ns = Inode("/proc/" + std::to_string(c.pid) + "/ns/net");
    if (ns == Inode("/proc/self/ns/net")) ns = 0;  // host mode: only its own process tree
  }
  std::vector<std::pair<long, std::vector<std::string>>> rows;
  DIR* proc = ::opendir("/proc");
  if (!proc) return Error::System("open /proc", errno);
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::string base = std::string("/proc/") + e->d_name;
    if (ns ? Inode(base + "/ns/" + kind) != ns : pid != c.pid) continue;
    auto status = sys::ReadFile(base + "/status");
    auto cmdline = sys::ReadFile(base + "/cmdline");
    if (!status.ok() || !cmdline.ok()) continue;
    std::string cmd = *cmdline;
    while (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.empty()) cmd = "[" + Field("\n" + *status, "Name") + "]";
    rows.push_back({pid, {e->d_name, Field(*status, "Uid"), Field(*status, "PPid"), cmd}});
  }
  ::closedir(proc);
  std::sort(rows.begin(), rows.end());
  std::vector<std::vector<std::string>> out;
  for (auto& r : rows) out.push_back(std::move(r.second));
  return out;
}

Status Logs(engine::Engine& engine, const std::string& key, const LogOptions& options,
            const std::function<void(std::string_view)>& out) {
  BERTH_ASSIGN_OR_RETURN(Container c, Require(engine, key));
  std::string path = LogPath(engine.paths(), c.id);
  sys::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() && errno != ENOENT) return Error::System("open " + path, errno);
  std::string text;
  char buf[65536];
  if (fd.valid()) {
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof(buf))) > 0;) text.append(buf, n);
  }
  size_t from = 0;
  if (options.tail >= 0) {
    from = text.size();
    // The last N lines: a final line without its newline counts as one.
    int lines = options.tail + (text.empty() || text.back() != '\n' ? 0 : 1);
    while (from > 0 && lines > 0) {
      if (text[from - 1] == '\n' && --lines == 0) break;
      --from;
    }
  }
  out(std::string_view(text).substr(from));
  if (!options.follow) return Ok();
  // Until the container has exited (by the PID it has now: a restart keeps following).
  for (;;) {
    bool more = false;
    if (!fd.valid()) fd.Reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.valid()) {
      for (ssize_t n; (n = ::read(fd.get(), buf, sizeof(buf))) > 0;) {
        out(std::string_view(buf, static_cast<size_t>(n)));
        more = true;
      }
    }
    if (more) continue;
    BERTH_ASSIGN_OR_RETURN(auto now, engine.store().GetContainer(c.id));
    if (!now || !sys::IsAlive(now->pid, now->start_time)) {
      if (!fd.valid()) return Ok();
      for (ssize_t n; (n = ::read(fd.get(), buf, sizeof(buf))) > 0;) {
        out(std::string_view(buf, static_cast<size_t>(n)));
      }
      return Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace berth::runtime
