#include "sys/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace berth::sys {
namespace {

SubprocessSpec Command(std::vector<std::string> argv) {
  SubprocessSpec spec;
  spec.argv = std::move(argv);
  return spec;
}

SubprocessSpec Captured(std::vector<std::string> argv) {
  SubprocessSpec spec = Command(std::move(argv));
  spec.std_in = spec.std_out = spec.std_err = Stdio::Pipe();
  return spec;
}

int ExitOf(SubprocessSpec spec) {
  auto child = Subprocess::Start(std::move(spec));
  if (!child.ok()) return -1000;
  auto code = child->Wait();
  return code.ok() ? *code : -1001;
}

bool Gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

TEST(Subprocess, ExitStatusAsAShellReportsIt) {
  EXPECT_EQ(ExitOf(Command({"true"})), 0);
  EXPECT_EQ(ExitOf(Command({"false"})), 1);
  EXPECT_EQ(ExitOf(Command({"sh", "-c", "exit 7"})), 7);
  EXPECT_EQ(ExitOf(Command({"sh", "-c", "kill -9 $$"})), 128 + SIGKILL);
}

TEST(Subprocess, ExecFailuresAreErrorsOfStart) {
  auto missing = Subprocess::Start(Command({"no-such-command-berth-test"}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kCommandNotFound);
  EXPECT_EQ(missing.error().message(),
            "exec \"no-such-command-berth-test\": No such file or directory");

  SubprocessSpec dir = Command({"not-a-program"});
  dir.path = "/";
  auto cannot = Subprocess::Start(std::move(dir));
  ASSERT_FALSE(cannot.ok());
  EXPECT_EQ(cannot.error().code(), Code::kCommandCannotRun);
  EXPECT_EQ(cannot.error().sys_errno(), EACCES);

  EXPECT_EQ(Subprocess::Start(Command({})).error().code(), Code::kInvalid);
}

TEST(Subprocess, PipesRoundTrip) {
  auto r = RunToExit(Captured({"sh", "-c", "cat; echo oops >&2; exit 3"}), "hello\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->out, "hello\n");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(r->exit_code, 3);
}

TEST(Subprocess, LargeInputAndOutputDoNotDeadlock) {
  // cat echoes while we still write: both pipes fill up unless both are served at once.
  std::string big(4 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>('a' + i % 26);
  auto r = RunToExit(Captured({"sh", "-c", "cat; head -c 3000000 /dev/zero >&2"}), big);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->out, big);
  EXPECT_EQ(r->err.size(), 3000000u);
}

TEST(Subprocess, ChildThatIgnoresItsInputIsNoSigpipe) {
  auto r = RunToExit(Captured({"true"}), std::string(1 << 20, 'x'));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->exit_code, 0);
}

TEST(Subprocess, StdioChoices) {
  SubprocessSpec both = Command({"sh", "-c", "echo a; echo b >&2"});
  both.std_out = Stdio::Pipe();
  both.std_err = Stdio::ToStdout();
  auto r = RunToExit(std::move(both));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "a\nb\n");

  SubprocessSpec null = Command({"cat"});
  null.std_in = Stdio::Null();
  null.std_out = Stdio::Pipe();
  r = RunToExit(std::move(null));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "");

  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  SubprocessSpec given = Command({"echo", "via fd"});
  given.std_out = Stdio::From(p[1]);
  EXPECT_EQ(ExitOf(std::move(given)), 0);
  ::close(p[1]);
  char buf[64] = {};
  EXPECT_EQ(::read(p[0], buf, sizeof(buf)), 7);
  EXPECT_STREQ(buf, "via fd\n");
  ::close(p[0]);

  SubprocessSpec bad = Command({"true"});
  bad.std_out = Stdio::ToStdout();
  EXPECT_EQ(Subprocess::Start(std::move(bad)).error().code(), Code::kInvalid);
}

TEST(Subprocess, EnvironmentAndDirectory) {
  SubprocessSpec spec = Captured({"sh", "-c", "echo \"$GREETING\"; pwd"});
  spec.env = std::vector<std::string>{"GREETING=hi", "PATH=/usr/bin:/bin"};
  spec.cwd = "/";
  auto r = RunToExit(std::move(spec));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "hi\n/\n");
}

TEST(Subprocess, FunctionChild) {
  SubprocessSpec spec;
  spec.std_out = Stdio::Pipe();
  spec.child_main = [] {
    std::printf("from the child");
    return 5;
  };
  auto r = RunToExit(std::move(spec));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "from the child");
  EXPECT_EQ(r->exit_code, 5);
}

TEST(Subprocess, CloseFdsKeepsOnlyWhatItIsTold) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);  // not close-on-exec: only close_fds keeps it from the child
  SubprocessSpec spec;
  spec.close_fds = true;
  spec.keep_fds = {p[1]};
  spec.child_main = [&] {
    bool dropped = ::fcntl(p[0], F_GETFD) < 0, kept = ::fcntl(p[1], F_GETFD) >= 0;
    return (dropped ? 1 : 0) + (kept ? 2 : 0);
  };
  EXPECT_EQ(ExitOf(std::move(spec)), 3);
  ::close(p[0]);
  ::close(p[1]);
}

TEST(Subprocess, DetachedChildIsAdoptedAndReportsExecFailure) {
  SubprocessSpec spec = Command({"sh", "-c", "echo $$ $PPID"});
  spec.detached = true;
  spec.std_out = Stdio::Pipe();
  auto child = Subprocess::Start(std::move(spec));
  ASSERT_TRUE(child.ok()) << child.error().message();
  std::string out;
  ASSERT_TRUE(child->Communicate({}, &out, nullptr).ok());
  EXPECT_EQ(out.substr(0, out.find(' ')), std::to_string(child->pid()));
  EXPECT_NE(std::stoi(out.substr(out.find(' ') + 1)), ::getpid());  // not our child
  EXPECT_FALSE(child->Wait().ok());

  SubprocessSpec missing = Command({"no-such-daemon-berth-test"});
  missing.detached = true;
  auto failed = Subprocess::Start(std::move(missing));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), Code::kCommandNotFound);
}

TEST(Subprocess, DaemonInOneCall) {
  // The shape of starting berthd: detached, no inherited descriptors, cwd /, output to a log.
  int log[2];
  ASSERT_EQ(::pipe(log), 0);
  SubprocessSpec spec = Command({"sh", "-c", "pwd; echo to-stderr >&2"});
  spec.detached = true;
  spec.close_fds = true;
  spec.cwd = "/";
  spec.std_in = Stdio::Null();
  spec.std_out = Stdio::From(log[1]);
  spec.std_err = Stdio::ToStdout();
  ASSERT_TRUE(Subprocess::Start(std::move(spec)).ok());
  ::close(log[1]);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(log[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(log[0]);
  EXPECT_EQ(out, "/\nto-stderr\n");
}

TEST(Subprocess, DestructionKillsAndReapsReleaseLetsGo) {
  pid_t pid;
  {
    auto child = Subprocess::Start(Command({"sleep", "100"}));
    ASSERT_TRUE(child.ok());
    pid = child->pid();
  }
  EXPECT_TRUE(Gone(pid));  // killed and reaped: not even a zombie

  auto child = Subprocess::Start(Command({"sleep", "100"}));
  ASSERT_TRUE(child.ok());
  pid = child->Release();
  EXPECT_FALSE(child->Kill().ok());
  EXPECT_FALSE(Gone(pid));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST(Subprocess, IsolationFailureNamesTheStep) {
  SubprocessSpec spec = Command({"true"});
  spec.isolation.emplace();
  spec.isolation->netns_fd = STDIN_FILENO;  // not a namespace
  auto child = Subprocess::Start(std::move(spec));
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().message().rfind("join network namespace: ", 0), 0u)
      << child.error().message();
}

TEST(Subprocess, IsolationGivesAHostname) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (run under tests/sandbox.sh)";
  SubprocessSpec spec = Captured({"hostname"});
  spec.isolation.emplace();
  spec.isolation->hostname = "berth-sub-test";
  auto r = RunToExit(std::move(spec));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->out, "berth-sub-test\n");
}

}  // namespace
}  // namespace berth::sys
