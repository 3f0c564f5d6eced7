#include "daemon/op_log_reader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace berth::daemon {
namespace {

class OpLogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/oplogrXXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/ops.log";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::unlink((path_ + ".1").c_str());
    ::rmdir(dir_.c_str());
  }
  void Write(const std::string& text) {
    FILE* f = std::fopen(path_.c_str(), "a");
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  std::string dir_, path_;
};

TEST_F(OpLogReaderTest, ReadsNewLinesOnlyAndWaitsForTornOnes) {
  Write("attach cli ok 0.1 old\n");
  OpLogReader r(path_);
  r.SkipToEnd();
  EXPECT_TRUE(r.ReadNew().empty());
  Write("attach cli ok 0.002 app\ndetach cni fail");
  auto got = r.ReadNew();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].network, "app");
  Write("ed 0.5 app\n");
  got = r.ReadNew();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, engine::OpKind::kDetach);
  EXPECT_FALSE(got[0].ok);
}

TEST_F(OpLogReaderTest, StartsWithoutALogAndFollowsItsCreation) {
  OpLogReader r(path_);
  r.SkipToEnd();
  EXPECT_TRUE(r.ReadNew().empty());
  engine::OpLog(path_, "cni").Append({{engine::OpKind::kAttach, "app"}}, true,
                                     std::chrono::milliseconds(4));
  auto got = r.ReadNew();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].source, "cni");
}

TEST_F(OpLogReaderTest, RotatesWithoutLosingALine) {
  OpLogReader r(path_);
  r.SkipToEnd();
  std::string line = "attach cli ok 0.001 " + std::string(1000, 'n') + "\n";
  size_t wrote = 0, read = 0;
  for (int round = 0; round < 3; ++round) {
    std::string chunk;
    for (off_t n = 0; n < OpLogReader::kRotateBytes; n += static_cast<off_t>(line.size())) {
      chunk += line;
      ++wrote;
    }
    Write(chunk);
    read += r.ReadNew().size();
    // A writer that opened the log just before berthd renamed it writes into the old file.
    FILE* late = std::fopen((path_ + ".1").c_str(), "a");
    if (late) {
      std::fputs(line.c_str(), late);
      std::fclose(late);
      ++wrote;
    }
    Write(line);  // and the next writer starts a fresh log
    ++wrote;
    read += r.ReadNew().size();
  }
  EXPECT_EQ(read, wrote);
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_LT(st.st_size, OpLogReader::kRotateBytes);
}

}  // namespace
}  // namespace berth::daemon
