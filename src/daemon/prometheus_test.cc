#include "daemon/prometheus.h"

#include <gtest/gtest.h>

namespace berth::daemon {
namespace {

TEST(PromText, FamiliesAndEscapedLabels) {
  PromText p;
  p.Family("berth_x_total", "counter", "What x counts\nand more");
  p.Sample("berth_x_total", {{"network", "a\"b\\c"}, {"kind", "y"}}, 3);
  p.Family("berth_up", "gauge", "Up");
  p.Sample("berth_up", 1);
  EXPECT_EQ(p.text(),
            "# HELP berth_x_total What x counts\\nand more\n"
            "# TYPE berth_x_total counter\n"
            "berth_x_total{network=\"a\\\"b\\\\c\",kind=\"y\"} 3\n"
            "# HELP berth_up Up\n# TYPE berth_up gauge\nberth_up 1\n");
}

}  // namespace
}  // namespace berth::daemon
