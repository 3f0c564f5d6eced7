#include "core/resolv_conf.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(ResolvConf, KeepsMeaningfulLinesTrimmed) {
  auto lines = ParseResolvConf(
      "# generated\n\n  nameserver 198.51.100.53  \r\n; old\nsearch a.test b.test\noptions\tndots:2\n"
      "nameserver 2001:db8::53");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].keyword, "nameserver");
  EXPECT_EQ(lines[0].value, "198.51.100.53");
  EXPECT_EQ(lines[0].text, "nameserver 198.51.100.53");
  EXPECT_EQ(lines[1].value, "a.test b.test");
  EXPECT_EQ(lines[2].keyword, "options");
  EXPECT_EQ(lines[2].value, "ndots:2");
  EXPECT_EQ(lines[3].value, "2001:db8::53");
  EXPECT_TRUE(ParseResolvConf("").empty());
}

}  // namespace
}  // namespace berth
