#include "core/ip.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(IpAddr, ParsesAndPrintsBothFamilies) {
  struct {
    const char* in;
    bool v6;
    const char* out;
  } cases[] = {
      {"172.17.0.1", false, "172.17.0.1"},
      {"0.0.0.0", false, "0.0.0.0"},
      {"2001:db8::1", true, "2001:db8::1"},
      {"2001:DB8:0:0::10", true, "2001:db8::10"},
  };
  for (const auto& c : cases) {
    auto ip = IpAddr::Parse(c.in);
    ASSERT_TRUE(ip.ok()) << c.in;
    EXPECT_EQ(ip->is_v6(), c.v6);
    EXPECT_EQ(ip->ToString(), c.out);
  }
}

TEST(IpAddr, RejectsGarbage) {
  for (const char* bad : {"", "1.2.3", "1.2.3.256", "abc", "1.2.3.4/24", " 1.2.3.4", "::g"}) {
    auto ip = IpAddr::Parse(bad);
    EXPECT_FALSE(ip.ok()) << bad;
    if (!ip.ok()) {
      EXPECT_EQ(ip.error().code(), Code::kInvalid);
    }
  }
}

TEST(IpAddr, Arithmetic) {
  auto ip = *IpAddr::Parse("172.17.255.255");
  EXPECT_EQ(ip.Plus(1).ToString(), "172.18.0.0");
  EXPECT_EQ(IpAddr::V4(0xac110002).ToString(), "172.17.0.2");
  EXPECT_EQ(ip.v4(), 0xac11ffffu);
  EXPECT_LT(*IpAddr::Parse("10.0.0.9"), *IpAddr::Parse("10.0.0.10"));
}

TEST(Cidr, ParseNetworkRequiresAlignedAddress) {
  auto c = Cidr::ParseNetwork("172.18.0.0/16");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ToString(), "172.18.0.0/16");
  auto bad = Cidr::ParseNetwork("172.18.0.1/16");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("did you mean 172.18.0.0/16"), std::string::npos);
  for (const char* s : {"172.18.0.0", "172.18.0.0/33", "172.18.0.0/", "172.18.0.0/x",
                        "172.18.0.0/16/2", "/16", "2001:db8::/129"}) {
    EXPECT_FALSE(Cidr::ParseNetwork(s).ok()) << s;
  }
  EXPECT_TRUE(Cidr::ParseInterface("172.18.0.1/16").ok());
}

TEST(Cidr, ContainmentAndOverlap) {
  auto net = *Cidr::ParseNetwork("10.1.0.0/16");
  EXPECT_EQ(net.Network().ToString(), "10.1.0.0");
  EXPECT_EQ(net.Last().ToString(), "10.1.255.255");
  EXPECT_EQ(net.Size(), u128{65536});
  EXPECT_TRUE(net.Contains(*IpAddr::Parse("10.1.200.3")));
  EXPECT_FALSE(net.Contains(*IpAddr::Parse("10.2.0.0")));
  EXPECT_FALSE(net.Contains(*IpAddr::Parse("::a01:1")));
  EXPECT_TRUE(net.Contains(*Cidr::ParseNetwork("10.1.4.0/24")));
  EXPECT_FALSE(net.Contains(*Cidr::ParseNetwork("10.0.0.0/8")));
  EXPECT_TRUE(net.Overlaps(*Cidr::ParseNetwork("10.0.0.0/8")));
  EXPECT_TRUE(net.Overlaps(*Cidr::ParseNetwork("10.1.255.0/24")));
  EXPECT_FALSE(net.Overlaps(*Cidr::ParseNetwork("10.2.0.0/16")));
  auto v6 = *Cidr::ParseNetwork("2001:db8::/64");
  EXPECT_TRUE(v6.Contains(*IpAddr::Parse("2001:db8::ffff")));
  EXPECT_EQ(v6.Last().ToString(), "2001:db8::ffff:ffff:ffff:ffff");
}

}  // namespace
}  // namespace berth
