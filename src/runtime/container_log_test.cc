// LogWriter and its line times: a line's time is when its first byte was written, chunks that
// end mid-line continue the line, a restarted writer appends, and a reader finds the time of
// any line start (the nearest earlier one for lines without a record).
#include "runtime/container_log.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class ContainerLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-log-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "log").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(ContainerLogTest, TimesEachLineWhenItsFirstByteIsWritten) {
  {
    LogWriter w(path_);
    ASSERT_TRUE(w.valid());
    w.Write("one\ntw", 6);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    w.Write("o\nthree\n", 8);
  }
  EXPECT_EQ(Slurp(path_), "one\ntwo\nthree\n");  // the log is exactly what was written
  auto times = ReadLineTimes(path_);
  ASSERT_EQ(times.size(), 3u);
  EXPECT_EQ(times[0].offset, 0u);
  EXPECT_EQ(times[1].offset, 4u);
  EXPECT_EQ(times[2].offset, 8u);
  EXPECT_EQ(times[0].unix_ns, times[1].unix_ns);  // "two" began in the first chunk
  EXPECT_GE(times[2].unix_ns - times[1].unix_ns, 20'000'000);
  EXPECT_EQ(LineWrittenAt(times, 8), times[2].unix_ns);
}

TEST_F(ContainerLogTest, ARestartedWriterAppendsAndContinuesAnOpenLine) {
  { LogWriter(path_).Write("half", 4); }
  { LogWriter(path_).Write(" done\nnext\n", 11); }
  EXPECT_EQ(Slurp(path_), "half done\nnext\n");
  auto times = ReadLineTimes(path_);
  ASSERT_EQ(times.size(), 2u);  // " done" continues the line "half"
  EXPECT_EQ(times[1].offset, 10u);
}

TEST_F(ContainerLogTest, LinesWithoutARecordTakeTheNearestEarlierTime) {
  std::vector<LineTime> times = {{0, 100}, {50, 200}};
  EXPECT_EQ(LineWrittenAt(times, 0), 100);
  EXPECT_EQ(LineWrittenAt(times, 30), 100);
  EXPECT_EQ(LineWrittenAt(times, 50), 200);
  EXPECT_EQ(LineWrittenAt(times, 90), 200);
  EXPECT_EQ(LineWrittenAt({}, 10), 0);
  EXPECT_EQ(FormatTimestamp(1'700'000'000'123'456'789), "2023-11-14T22:13:20.123456789Z ");
}

}  // namespace
}  // namespace berth::runtime
