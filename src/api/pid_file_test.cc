#include "api/pid_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "sys/proc.h"

namespace berth::api {
namespace {

class ApiPidFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-pid-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/d.pid";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_, path_;
};

TEST_F(ApiPidFileTest, NoFileIsNoDaemon) {
  PidFileState s = ProbePidFile(path_);
  EXPECT_FALSE(s.held);
  EXPECT_EQ(s.pid, 0);
}

TEST_F(ApiPidFileTest, HolderIsSeenAndASecondLockIsRefused) {
  auto lock = PidFile::Lock(path_);
  ASSERT_TRUE(lock.ok()) << lock.error().message();
  EXPECT_EQ(lock->previous(), 0);
  PidFileState s = ProbePidFile(path_);
  EXPECT_TRUE(s.held);
  EXPECT_EQ(s.pid, ::getpid());
  auto second = PidFile::Lock(path_);  // another open file description: a conflict
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), Code::kInUse);
  EXPECT_NE(second.error().message().find(std::to_string(::getpid())), std::string::npos);
}

TEST_F(ApiPidFileTest, StaleFileIsTakenOver) {
  // A pid file left by a daemon that was killed: it names a pid (here one that is alive and
  // reused by another program: ours), but nobody holds the lock.
  { std::ofstream(path_) << "1\n"; }
  PidFileState s = ProbePidFile(path_);
  EXPECT_FALSE(s.held);
  EXPECT_EQ(s.pid, 1);
  auto lock = PidFile::Lock(path_);
  ASSERT_TRUE(lock.ok()) << lock.error().message();
  EXPECT_EQ(lock->previous(), 1);
  EXPECT_EQ(*sys::ReadFile(path_), std::to_string(::getpid()) + "\n");
}

TEST_F(ApiPidFileTest, LockEndsWithItsOwner) {
  {
    auto lock = PidFile::Lock(path_);
    ASSERT_TRUE(lock.ok());
    EXPECT_TRUE(ProbePidFile(path_).held);
  }
  EXPECT_FALSE(ProbePidFile(path_).held);
  // And with a process killed outright: the kernel drops its lock.
  pid_t child = ::fork();
  if (child == 0) {
    auto lock = PidFile::Lock(path_);
    ::pause();
    ::_exit(0);
  }
  for (int i = 0; i < 500 && !ProbePidFile(path_).held; ++i) ::usleep(2000);
  EXPECT_TRUE(ProbePidFile(path_).held);
  ::kill(child, SIGKILL);
  int status;
  ::waitpid(child, &status, 0);
  EXPECT_FALSE(ProbePidFile(path_).held);
  EXPECT_TRUE(PidFile::Lock(path_).ok());
}

}  // namespace
}  // namespace berth::api
