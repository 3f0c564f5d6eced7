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

namespace berth::daemon {
namespace {

TEST(PromText, HistogramBucketsAreCumulative) {
  PromText p;
  p.Family("berth_d_seconds", "histogram", "How long");
  p.Histogram("berth_d_seconds", {{"source", "cli"}}, {0.005, 0.1}, {2, 0, 1}, 1.25);
  EXPECT_EQ(p.text(),
            "# HELP berth_d_seconds How long\n# TYPE berth_d_seconds histogram\n"
            "berth_d_seconds_bucket{source=\"cli\",le=\"0.005\"} 2\n"
            "berth_d_seconds_bucket{source=\"cli\",le=\"0.1\"} 2\n"
            "berth_d_seconds_bucket{source=\"cli\",le=\"+Inf\"} 3\n"
            "berth_d_seconds_sum{source=\"cli\"} 1.25\n"
            "berth_d_seconds_count{source=\"cli\"} 3\n");
}

}  // namespace
}  // namespace berth::daemon
