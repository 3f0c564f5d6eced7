#include "core/rollback.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/log.h"

namespace berth {
namespace {

std::vector<std::string> g_lines;

void Capture(log::Level level, std::string_view msg, std::initializer_list<log::Field>) {
  g_lines.push_back((level == log::Level::kWarn ? "warn: " : "other: ") + std::string(msg));
}

TEST(RollbackLogTest, FailedUndoStepsAreLoggedNotPrinted) {
  g_lines.clear();
  log::SetSink(Capture);
  std::vector<std::string> undone;
  {
    Rollback rb;
    rb.Add("delete bridge", [&] {
      undone.push_back("bridge");
      return Ok();
    });
    rb.Add("delete veth", [&]() -> Status {
      undone.push_back("veth");
      return Error::NotFound("no link named veth1");
    });
  }
  log::SetSink(nullptr);
  EXPECT_EQ(undone, (std::vector<std::string>{"veth", "bridge"})) << "newest first, all of them";
  EXPECT_EQ(g_lines, std::vector<std::string>{"warn: rollback: delete veth: no link named veth1"});
}

}  // namespace
}  // namespace berth
