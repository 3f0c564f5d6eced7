#include "sys/proc.h"

#include <gtest/gtest.h>
#include <unistd.h>

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
