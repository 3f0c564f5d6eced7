#include "sys/proc.h"

#include "sys/netns.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace berth::sys {
namespace {

TEST(Proc, StartTimeIdentifiesALiveProcess) {
  auto st = ProcessStartTime(::getpid());
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(IsAlive(::getpid(), *st));
  EXPECT_FALSE(IsAlive(::getpid(), *st + 1));
  EXPECT_FALSE(IsAlive(0, *st));
}

TEST(Proc, ProcessesInNetnsFindsThisProcess) {
  struct stat st;
  ASSERT_EQ(::stat("/proc/self/ns/net", &st), 0);
  auto pids = ProcessesInNetns(st.st_ino);
  EXPECT_NE(std::find(pids.begin(), pids.end(), ::getpid()), pids.end());
  EXPECT_TRUE(ProcessesInNetns(1).empty());  // no namespace has inode 1
  EXPECT_TRUE(KillProcessesInNetns(1).ok());
}

TEST(Netns, ForeignNetnsInodeNeverNamesOurOwnOrAPlainFile) {
  // What rm sweeps for leftover processes: never the caller's own namespace, never a plain
  // file where a namespace's bind mount used to be.
  EXPECT_FALSE(ForeignNetnsInode("/proc/self/ns/net").has_value());
  EXPECT_FALSE(ForeignNetnsInode("/proc/thread-self/ns/net").has_value());
  EXPECT_FALSE(ForeignNetnsInode("/nonexistent/netns/x").has_value());
  char tmpl[] = "/tmp/berth-netns-test-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_FALSE(ForeignNetnsInode(tmpl).has_value());
  ::unlink(tmpl);
}

TEST(Proc, FilesAndTrees) {
  char tmpl[] = "/tmp/berth-proc-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_TRUE(MakeDirs(dir + "/a/b").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/a/b/f", "hello\n").ok());
  auto got = ReadFile(dir + "/a/b/f");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "hello\n");
  EXPECT_FALSE(ReadFile(dir + "/missing").ok());
  EXPECT_EQ(ReadFile(dir + "/missing").error().code(), Code::kNotFound);
  ASSERT_TRUE(RemoveTree(dir).ok());
  EXPECT_NE(::access(dir.c_str(), F_OK), 0);
  EXPECT_TRUE(RemoveTree(dir).ok());  // already gone is fine
}

}  // namespace
}  // namespace berth::sys
