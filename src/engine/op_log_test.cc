#include "engine/op_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace berth::engine {
namespace {

TEST(OpLogTest, RecordsRoundTrip) {
  OpRecord r{OpKind::kDetach, "cni", false, 0.004512, "my net"};
  std::string line = FormatOpRecord(r);
  EXPECT_EQ(line, "detach cni failed 0.004512 my net\n");
  line.pop_back();
  auto back = ParseOpRecord(line);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, r);
}

TEST(OpLogTest, ForeignAndTornLinesAreSkipped) {
  for (const char* bad : {"", "attach", "attach cli ok", "attach cli ok 0.1", "attach cli ok x app",
                          "connect cli ok 0.1 app", "attach cli maybe 0.1 app",
                          "attach cli ok -1 app", "attach cli ok 0.1x app"}) {
    EXPECT_FALSE(ParseOpRecord(bad).has_value()) << bad;
  }
}

TEST(OpLogTest, AppendsOneLinePerEndpoint) {
  char dir[] = "/tmp/oplogXXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/ops.log";
  OpLog none(path, "");
  none.Append({{OpKind::kAttach, "app"}}, true, std::chrono::milliseconds(1));
  EXPECT_NE(::access(path.c_str(), F_OK), 0);  // disabled: not even created

  OpLog log(path, "cli");
  log.Append({{OpKind::kAttach, "app"}, {OpKind::kAttach, "db"}}, true,
             std::chrono::microseconds(1500));
  log.Append({{OpKind::kDetach, "app"}}, false, std::chrono::seconds(2));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(),
            "attach cli ok 0.001500 app\nattach cli ok 0.001500 db\n"
            "detach cli failed 2.000000 app\n");

  // Cheap: the cost added to every attach (one open, fstat, write, close).
  auto start = std::chrono::steady_clock::now();
  constexpr int kRounds = 200;
  for (int i = 0; i < kRounds; ++i) {
    log.Append({{OpKind::kAttach, "app"}}, true, std::chrono::milliseconds(3));
  }
  auto each = (std::chrono::steady_clock::now() - start) / kRounds;
  EXPECT_LT(each, std::chrono::microseconds(500)) << "generous: a loaded CI machine";
  std::printf("op log append: %.1f us\n",
              std::chrono::duration<double, std::micro>(each).count());
  ::unlink(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace berth::engine
