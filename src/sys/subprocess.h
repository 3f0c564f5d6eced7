// Subprocess: the one way berth starts another process (ninja's subprocess-posix, with a
// container's namespaces). A SubprocessSpec says what runs (a program, or a function in a
// forked child), in which namespaces (sys::Isolation), with which standard streams and how
// attached to us; Start() forks and returns once the child has exec'd or run its setup, or
// with the reason it could not: every failure in the child (a setup step, exec) comes back
// through a close-on-exec pipe as step + errno, so "executable not found" is an error of the
// call (Code::kCommandNotFound / kCommandCannotRun), not a silently dead process.
//
// Ownership: a Subprocess owns its child until Wait() has reaped it or Release() has let it go.
// Destroying one that still owns a running child SIGKILLs and reaps it, so an error path never
// leaves a process or a zombie behind. A detached child (double fork, adopted by init) is
// never ours: nothing waits for it or kills it.
//
// Threads: Start() forks. A child that execs is safe from a multi-threaded caller (the child
// allocates nothing before exec); a `child_main` child runs arbitrary code and needs a
// single-threaded caller. A Subprocess is used by one thread at a time.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "sys/fd.h"
#include "sys/namespaces.h"

namespace berth::sys {

/// Where one of the child's standard streams goes.
class Stdio {
 public:
  enum class Kind { kInherit, kNull, kFd, kPipe, kStdout };
  static Stdio Inherit() { return Stdio(Kind::kInherit); }  // the caller's (the default)
  static Stdio Null() { return Stdio(Kind::kNull); }        // /dev/null
  /// `fd`, borrowed: it must stay open until Start() returns.
  static Stdio From(int fd) { return Stdio(Kind::kFd, fd); }
  /// A new pipe; the caller's end is stdin_pipe()/stdout_pipe()/stderr_pipe().
  static Stdio Pipe() { return Stdio(Kind::kPipe); }
  /// For stderr only: the same file as the child's stdout (`2>&1`).
  static Stdio ToStdout() { return Stdio(Kind::kStdout); }

  Kind kind() const { return kind_; }
  int fd() const { return fd_; }

 private:
  explicit Stdio(Kind kind, int fd = -1) : kind_(kind), fd_(fd) {}
  Kind kind_;
  int fd_;
};

/// Who the child runs as: uid, gid and supplementary groups (setgroups, setgid, setuid).
struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

struct SubprocessSpec {
  /// The command; argv[0] is looked up on PATH unless `path` names the file to run.
  std::vector<std::string> argv;
  std::string path;
  /// The child's whole environment ("NAME=value"); unset: the caller's.
  std::optional<std::vector<std::string>> env;
  /// Runs in the child instead of an exec (argv is then unused); its return value is the exit
  /// status. Start() returns once the child's setup is done, not when this returns.
  std::function<int()> child_main;
  /// Enter a container's namespaces first (sys/namespaces.h).
  std::optional<Isolation> isolation;
  Stdio std_in = Stdio::Inherit(), std_out = Stdio::Inherit(), std_err = Stdio::Inherit();
  /// A session of its own (setsid): no controlling terminal, out of the caller's process group,
  /// so a terminal's ^C does not reach it.
  bool new_session = false;
  /// Double fork: the child is adopted by init, never the caller's zombie, and in a session of
  /// its own. Wait() and Kill() do not apply; pid() is still known.
  bool detached = false;
  /// The child holds none of the caller's descriptors beyond its stdio and `keep_fds` (exec
  /// closes close-on-exec ones anyway; this is for `child_main` and for descriptors opened
  /// without O_CLOEXEC).
  bool close_fds = false;
  std::vector<int> keep_fds;
  std::string cwd;  // the child's working directory; empty: the caller's (after isolation)
  /// The child's stdin is a terminal that becomes its controlling terminal (in a session of
  /// its own): job control and ^C work as in a login shell (`run -t`).
  bool controlling_tty = false;
  /// The child becomes a minimal init (`docker run --init`): it forks the command, forwards
  /// every signal it gets to it, reaps orphans and exits as the command did. For a new PID
  /// namespace, whose PID 1 the kernel shields from signals it has no handler for.
  bool init = false;
  /// Run as this user (after isolation, before cwd and exec); unset: the caller's.
  std::optional<Credentials> user;
};

class Subprocess {
 public:
  /// Forks and starts `spec`. Errors: kInvalid (no command), kCommandNotFound /
  /// kCommandCannotRun (exec failed: `exec "NAME": reason`), kSystem (a setup step, with its
  /// name: "join network namespace: Operation not permitted").
  static Result<Subprocess> Start(SubprocessSpec spec);

  Subprocess(Subprocess&& o) noexcept;
  Subprocess& operator=(Subprocess&& o) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();  // SIGKILLs and reaps a child still owned (see the top of this file)

  pid_t pid() const { return pid_; }
  /// The caller's ends of the pipes asked for with Stdio::Pipe() (invalid otherwise). Reset()
  /// one to close it (stdin: the child reads EOF).
  Fd& stdin_pipe() { return pipes_[0]; }
  Fd& stdout_pipe() { return pipes_[1]; }
  Fd& stderr_pipe() { return pipes_[2]; }

  /// Writes `input` to the stdin pipe and closes it, while reading the stdout and stderr pipes
  /// to their end into `out` / `err` (either may be null to discard), all at once: neither
  /// side can block the other on a full pipe. A child that exits without reading all of its
  /// input is not an error (nor a SIGPIPE). Does not wait for the child.
  Status Communicate(std::string_view input, std::string* out, std::string* err);

  /// Waits until the child exits (EINTR-safe) and returns its exit status as a shell reports
  /// it: the code it exited with, or 128 + N when signal N killed it.
  Result<int> Wait();

  /// Sends `sig` to a child still owned.
  Status Kill(int sig = SIGKILL);

  /// Lets the child run on unsupervised (no kill on destruction, nobody reaps it here: when
  /// the caller exits, init does). Returns its pid.
  pid_t Release();

 private:
  enum class State { kNone, kOwned, kNotOurs };
  Subprocess(pid_t pid, State state) : pid_(pid), state_(state) {}

  pid_t pid_ = -1;
  State state_ = State::kNone;
  Fd pipes_[3];
};

/// What RunToExit() collected.
struct Finished {
  int exit_code = 0;  // as Wait() returns it
  std::string out;    // the stdout pipe's content, when spec.std_out is Stdio::Pipe()
  std::string err;    // the same for stderr
};

/// Start(), Communicate(input) and Wait() in one: runs `spec` to its end.
Result<Finished> RunToExit(SubprocessSpec spec, std::string_view input = {});

/// Replaces the calling process by `argv` (argv[0] looked up on PATH unless `path` is given).
/// Returns only the reason it could not: kCommandNotFound or kCommandCannotRun.
Error ExecInPlace(const std::vector<std::string>& argv, const std::string& path = "");

}  // namespace berth::sys
