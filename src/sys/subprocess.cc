#include "sys/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <poll.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

extern char** environ;

namespace berth::sys {

namespace {

// What the child reports through the close-on-exec pipe; nothing at all means it exec'd (or,
// for a child_main, finished its setup). A message is smaller than PIPE_BUF, so it is written
// whole: the middle process of a detached start and its child may both report.
enum class Stage : int { kForked, kFork, kIsolate, kStdio, kCwd, kExec, kTty, kUser };
struct Report {
  Stage stage;
  int value;  // kForked: the detached child's pid; kIsolate: the IsolationStep
  int err;
};

constexpr int kChildStdout = -2;  // a ChildPlan::stdio source: the child's own fd 1

// Everything the child needs, made before fork: between fork and exec the child allocates
// nothing (another thread of the caller may have held the allocator's lock).
struct ChildPlan {
  const SubprocessSpec* spec = nullptr;
  std::vector<char*> argv;
  std::vector<char*> envp;  // empty: the caller's environment
  const char* program = nullptr;
  bool search_path = true;
  int stdio[3] = {-1, -1, -1};  // what becomes fd 0, 1, 2; -1 leaves it
  std::vector<int> close_after;  // pipe ends and /dev/null, once stdio is set up
  std::vector<int> keep;         // sorted: what close_fds keeps above stdio
  int report = -1;
};

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

int ExitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

void Reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

Error ExecError(const std::string& program, int err) {
  return Error(err == ENOENT ? Code::kCommandNotFound : Code::kCommandCannotRun,
               "exec \"" + program + "\": " + std::strerror(err), err);
}

Error ErrorOf(const Report& r, const std::string& program) {
  switch (r.stage) {
    case Stage::kExec: return ExecError(program, r.err);
    case Stage::kIsolate:
      return Error::System(StepName(static_cast<IsolationStep>(r.value)), r.err);
    case Stage::kStdio: return Error::System("set up standard streams", r.err);
    case Stage::kCwd: return Error::System("change directory", r.err);
    case Stage::kTty: return Error::System("set the controlling terminal", r.err);
    case Stage::kUser: return Error::System("switch user", r.err);
    default: return Error::System("fork", r.err);
  }
}

// Moves a descriptor above stdio: the child's dup2s onto 0-2 must not clobber it (a caller
// that closed its stdin gets fd 0 back from pipe2 or open).
Status AboveStdio(Fd* fd) {
  if (fd->get() > 2) return Ok();
  int moved = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return Error::System("fcntl", errno);
  fd->Reset(moved);
  return Ok();
}

Status MakePipe(Fd* rd, Fd* wr) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::System("pipe", errno);
  rd->Reset(p[0]);
  wr->Reset(p[1]);
  BERTH_TRY(AboveStdio(rd));
  return AboveStdio(wr);
}

void Send(int fd, Stage stage, int value, int err) {
  Report r{stage, value, err};
  ssize_t ignored = ::write(fd, &r, sizeof(r));
  (void)ignored;
}

[[noreturn]] void Fail(const ChildPlan& p, Stage stage, int value = 0) {
  int err = errno;
  Send(p.report, stage, value, err);
  ::_exit(stage == Stage::kExec && err == ENOENT ? 127 : 126);
}

void CloseAllBut(const std::vector<int>& keep) {
  unsigned next = 3;
  for (int fd : keep) {
    if (fd < static_cast<int>(next)) continue;
    if (static_cast<unsigned>(fd) > next) ::close_range(next, static_cast<unsigned>(fd) - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(next, ~0U, 0);
}

volatile pid_t g_init_child = 0;

void ForwardToCommand(int sig) {
  if (g_init_child > 0) ::kill(g_init_child, sig);
}

// The init of SubprocessSpec::init, in the forked child: returns in the command's process;
// never returns in the init, which exits as the command did. Allocates nothing.
void BecomeInit(const ChildPlan& p) {
  pid_t child = ::fork();
  if (child < 0) Fail(p, Stage::kFork);
  if (child == 0) return;
  ::close(p.report);  // the command reports its exec; Start() must see EOF then
  g_init_child = child;
  struct sigaction sa = {};
  sa.sa_handler = ForwardToCommand;
  for (int sig = 1; sig < 32; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD) continue;
    ::sigaction(sig, &sa, nullptr);
  }
  for (;;) {
    int status = 0;
    pid_t gone = ::waitpid(-1, &status, 0);
    if (gone < 0 && errno == EINTR) continue;
    if (gone < 0) ::_exit(1);
    if (gone != child) continue;  // an orphan
    if (WIFSIGNALED(status)) ::_exit(128 + WTERMSIG(status));
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
}

[[noreturn]] void RunChild(const ChildPlan& p) {
  const SubprocessSpec& s = *p.spec;
  if (s.detached) {
    ::setsid();
    pid_t pid = ::fork();
    if (pid < 0) Fail(p, Stage::kFork);
    if (pid > 0) {
      Send(p.report, Stage::kForked, pid, 0);
      ::_exit(0);
    }
  } else if (s.new_session || s.controlling_tty) {
    ::setsid();
  }
  // The caller's signal handling is not the child's: a blocked or ignored signal would stay
  // so across exec.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) ::signal(sig, SIG_DFL);

  if (s.isolation) {
    IsolationStep step = Isolate(*s.isolation);
    if (step != IsolationStep::kDone) Fail(p, Stage::kIsolate, static_cast<int>(step));
  }
  for (int i = 0; i < 3; ++i) {
    int src = p.stdio[i] == kChildStdout ? 1 : p.stdio[i];
    if (src < 0) continue;
    // dup2 onto itself keeps close-on-exec: clear it instead.
    if (src == i ? ::fcntl(i, F_SETFD, 0) < 0 : ::dup2(src, i) < 0) Fail(p, Stage::kStdio);
  }
  for (int fd : p.close_after) ::close(fd);
  if (s.close_fds) CloseAllBut(p.keep);
  if (s.controlling_tty && ::ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0) Fail(p, Stage::kTty);
  if (s.init) BecomeInit(p);
  if (s.user) {
    const Credentials& u = *s.user;
    if (::setgroups(u.groups.size(), u.groups.data()) != 0 || ::setgid(u.gid) != 0 ||
        ::setuid(u.uid) != 0) {
      Fail(p, Stage::kUser);
    }
  }
  if (!s.cwd.empty() && ::chdir(s.cwd.c_str()) != 0) Fail(p, Stage::kCwd);
  if (s.child_main) {
    ::close(p.report);  // set up: Start() returns
    int rc = s.child_main();
    std::fflush(nullptr);
    ::_exit(rc);
  }
  char* const* envp = p.envp.empty() ? environ : p.envp.data();
  if (p.search_path) {
    ::execvpe(p.program, p.argv.data(), envp);
  } else {
    ::execve(p.program, p.argv.data(), envp);
  }
  Fail(p, Stage::kExec);
}

// Writing to a pipe whose reader has gone raises SIGPIPE, which kills by default. While it
// lives this blocks SIGPIPE in the calling thread only, and afterwards consumes the one that
// writes raised (they fail with EPIPE instead): no process-wide disposition changes.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &saved_);
    sigset_t pending;
    ::sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      timespec zero = {};
      while (::sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_, saved_;
  bool was_pending_ = false;
};

}  // namespace

Result<Subprocess> Subprocess::Start(SubprocessSpec spec) {
  if (!spec.child_main && spec.argv.empty()) return Error::Invalid("no command given");
  if (spec.std_in.kind() == Stdio::Kind::kStdout || spec.std_out.kind() == Stdio::Kind::kStdout) {
    return Error::Invalid("only stderr can go to stdout");
  }
  ChildPlan plan;
  plan.spec = &spec;
  Subprocess child(-1, State::kNone);
  Fd null, child_ends[3];
  const Stdio* streams[3] = {&spec.std_in, &spec.std_out, &spec.std_err};
  for (int i = 0; i < 3; ++i) {
    switch (streams[i]->kind()) {
      case Stdio::Kind::kInherit: break;
      case Stdio::Kind::kNull:
        if (!null.valid()) {
          null.Reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
          if (!null.valid()) return Error::System("open /dev/null", errno);
          BERTH_TRY(AboveStdio(&null));
          plan.close_after.push_back(null.get());
        }
        plan.stdio[i] = null.get();
        break;
      case Stdio::Kind::kFd: plan.stdio[i] = streams[i]->fd(); break;
      case Stdio::Kind::kPipe:
        if (i == 0) {
          BERTH_TRY(MakePipe(&child_ends[i], &child.pipes_[i]));
        } else {
          BERTH_TRY(MakePipe(&child.pipes_[i], &child_ends[i]));
        }
        plan.stdio[i] = child_ends[i].get();
        plan.close_after.push_back(child_ends[i].get());
        plan.close_after.push_back(child.pipes_[i].get());
        break;
      case Stdio::Kind::kStdout: plan.stdio[i] = kChildStdout; break;
    }
  }
  Fd report_rd, report_wr;
  BERTH_TRY(MakePipe(&report_rd, &report_wr));
  plan.report = report_wr.get();
  plan.close_after.push_back(report_rd.get());
  plan.keep = spec.keep_fds;
  plan.keep.push_back(plan.report);
  std::sort(plan.keep.begin(), plan.keep.end());
  std::string program = spec.path.empty() ? (spec.argv.empty() ? "" : spec.argv[0]) : spec.path;
  plan.argv = CStrings(spec.argv);
  plan.program = program.c_str();
  plan.search_path = spec.path.empty();
  if (spec.env) plan.envp = CStrings(*spec.env);

  std::fflush(nullptr);  // or the child would write our buffered output a second time
  // A new PID namespace can only be entered by being born in it: clone() with CLONE_NEWPID,
  // otherwise exactly fork() (no new stack: the child runs on a copy of ours).
  bool new_pid = spec.isolation && spec.isolation->new_pid && !spec.detached;
  pid_t pid = new_pid ? static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD | CLONE_NEWPID, nullptr,
                                                      nullptr, nullptr, nullptr))
                      : ::fork();
  if (pid < 0) return Error::System("fork", errno);
  if (pid == 0) RunChild(plan);
  report_wr.Reset();
  for (Fd& end : child_ends) end.Reset();

  pid_t started = pid;
  std::optional<Report> failure;
  for (;;) {
    Report r;
    ssize_t n = ::read(report_rd.get(), &r, sizeof(r));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: exec'd (or set up), or gone
    if (n != static_cast<ssize_t>(sizeof(r))) {
      failure = Report{Stage::kFork, 0, EPROTO};
      break;
    }
    if (r.stage == Stage::kForked) {
      started = r.value;
    } else {
      failure = r;
    }
  }
  if (spec.detached || failure) Reap(pid);  // the middle process, or a child that gave up
  if (failure) return ErrorOf(*failure, program);
  child.pid_ = started;
  child.state_ = spec.detached ? State::kNotOurs : State::kOwned;
  return child;
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(o.pid_), state_(std::exchange(o.state_, State::kNone)) {
  for (int i = 0; i < 3; ++i) pipes_[i] = std::move(o.pipes_[i]);
}

Subprocess& Subprocess::operator=(Subprocess&& o) noexcept {
  if (this == &o) return *this;
  if (state_ == State::kOwned) (void)Kill(), (void)Wait();
  pid_ = o.pid_;
  state_ = std::exchange(o.state_, State::kNone);
  for (int i = 0; i < 3; ++i) pipes_[i] = std::move(o.pipes_[i]);
  return *this;
}

Subprocess::~Subprocess() {
  for (Fd& p : pipes_) p.Reset();  // first: a child blocked on a pipe must not wait for us
  if (state_ == State::kOwned) (void)Kill(), (void)Wait();
}

Status Subprocess::Communicate(std::string_view input, std::string* out, std::string* err) {
  Fd& in = pipes_[0];
  if (!input.empty() && !in.valid()) return Error::Invalid("input for a child without a stdin pipe");
  if (input.empty()) in.Reset();
  // Non-blocking: a write larger than the pipe has room for must not wait for a child that is
  // itself waiting for us to read its output.
  if (in.valid() && ::fcntl(in.get(), F_SETFL, O_NONBLOCK) < 0) {
    return Error::System("fcntl", errno);
  }
  SigpipeBlock no_sigpipe;
  std::string* sinks[3] = {nullptr, out, err};
  size_t written = 0;
  char buf[16384];
  while (in.valid() || pipes_[1].valid() || pipes_[2].valid()) {
    pollfd fds[3];
    int which[3];
    nfds_t n = 0;
    for (int i = 0; i < 3; ++i) {
      if (!pipes_[i].valid()) continue;
      fds[n] = {pipes_[i].get(), static_cast<short>(i == 0 ? POLLOUT : POLLIN), 0};
      which[n++] = i;
    }
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      return Error::System("poll", errno);
    }
    for (nfds_t k = 0; k < n; ++k) {
      if (fds[k].revents == 0) continue;
      Fd& pipe = pipes_[which[k]];
      if (which[k] == 0) {
        ssize_t w = ::write(pipe.get(), input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        bool retry = w < 0 && (errno == EINTR || errno == EAGAIN);
        // Done, or the child stopped reading (EPIPE): either way it gets no more.
        if ((w < 0 && !retry) || written == input.size()) pipe.Reset();
        continue;
      }
      ssize_t r = ::read(pipe.get(), buf, sizeof(buf));
      if (r > 0) {
        if (sinks[which[k]]) sinks[which[k]]->append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        pipe.Reset();
      }
    }
  }
  return Ok();
}

Result<int> Subprocess::Wait() {
  if (state_ != State::kOwned) return Error::Invalid("no child of ours to wait for");
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno == EINTR) continue;
    state_ = State::kNone;
    return Error::System("wait for process " + std::to_string(pid_), errno);
  }
  state_ = State::kNone;
  return ExitStatus(status);
}

Status Subprocess::Kill(int sig) {
  if (state_ != State::kOwned) return Error::Invalid("no child of ours to signal");
  if (::kill(pid_, sig) != 0) return Error::System("kill " + std::to_string(pid_), errno);
  return Ok();
}

pid_t Subprocess::Release() {
  state_ = State::kNone;
  return pid_;
}

Result<Finished> RunToExit(SubprocessSpec spec, std::string_view input) {
  BERTH_ASSIGN_OR_RETURN(Subprocess child, Subprocess::Start(std::move(spec)));
  Finished f;
  BERTH_TRY(child.Communicate(input, &f.out, &f.err));
  BERTH_ASSIGN_OR_RETURN(f.exit_code, child.Wait());
  return f;
}

Error ExecInPlace(const std::vector<std::string>& argv, const std::string& path) {
  if (argv.empty()) return Error::Invalid("no command given");
  std::vector<char*> args = CStrings(argv);
  if (path.empty()) {
    ::execvp(args[0], args.data());
  } else {
    ::execv(path.c_str(), args.data());
  }
  return ExecError(path.empty() ? argv[0] : path, errno);
}

}  // namespace berth::sys
