#include <gtest/gtest.h>

#include <set>

#include "ipam/allocator.h"
#include "ipam/subnets.h"

namespace berth::ipam {
namespace {

Cidr C(const char* s) { return *Cidr::ParseNetwork(s); }
IpAddr I(const char* s) { return *IpAddr::Parse(s); }

Network Net(const char* subnet, std::optional<Cidr> range = std::nullopt) {
  Network n;
  n.name = "t";
  n.subnet = C(subnet);
  n.gateway = n.subnet.Network().Plus(1);
  n.ip_range = range;
  return n;
}

TEST(PickSubnet, WalksThePoolsInOrder) {
  EXPECT_EQ(PickSubnet({})->ToString(), "172.18.0.0/16");
  EXPECT_EQ(PickSubnet({C("172.17.0.0/16"), C("172.18.0.0/16")})->ToString(), "172.19.0.0/16");
  // A host route anywhere inside a pool entry makes berth skip it.
  EXPECT_EQ(PickSubnet({C("172.18.3.0/24")})->ToString(), "172.19.0.0/16");
  // A covering route (172.16.0.0/12) removes every 172 pool: on to 192.168.0.0/20.
  EXPECT_EQ(PickSubnet({C("172.16.0.0/12")})->ToString(), "192.168.0.0/20");
  EXPECT_EQ(PickSubnet({C("172.16.0.0/12"), C("192.168.0.0/24")})->ToString(), "192.168.16.0/20");
  // Default routes are ignored.
  EXPECT_EQ(PickSubnet({C("0.0.0.0/0")})->ToString(), "172.18.0.0/16");
}

TEST(PickSubnet, ExhaustionIsAClearError) {
  auto r = PickSubnet({C("172.16.0.0/12"), C("192.168.0.0/16")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("--subnet"), std::string::npos);
  EXPECT_EQ(DefaultPools().size(), 14u + 16u);
}

TEST(PlanAddresses, DefaultsAndValidation) {
  auto p = PlanAddresses({}, {C("172.17.0.0/16")}, {C("198.51.100.0/24")});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->subnet.ToString(), "172.18.0.0/16");
  EXPECT_EQ(p->gateway.ToString(), "172.18.0.1");

  AddressRequest r{C("10.9.0.0/24"), I("10.9.0.254"), C("10.9.0.128/25")};
  p = PlanAddresses(r, {}, {C("10.9.0.0/24")});  // a host route blocks an explicit subnet...
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("overlaps the host's route to 10.9.0.0/24"),
            std::string::npos);
  r.force = true;  // ... unless --force
  p = PlanAddresses(r, {}, {C("10.9.0.0/24")});
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->gateway.ToString(), "10.9.0.254");
  EXPECT_EQ(p->ip_range->ToString(), "10.9.0.128/25");

  struct {
    AddressRequest req;
    const char* expect;
  } bad[] = {
      {{std::nullopt, I("10.0.0.1"), std::nullopt}, "--gateway needs --subnet"},
      {{std::nullopt, std::nullopt, C("10.0.0.0/24")}, "--ip-range needs --subnet"},
      {{C("172.17.128.0/24"), {}, {}}, "overlaps"},
      {{C("10.0.0.0/24"), I("10.0.1.1"), {}}, "outside subnet"},
      {{C("10.0.0.0/24"), I("10.0.0.255"), {}}, "broadcast"},
      {{C("10.0.0.0/24"), I("10.0.0.0"), {}}, "network or broadcast"},
      {{C("10.0.0.0/24"), {}, C("10.0.1.0/25")}, "outside subnet"},
      {{C("10.0.0.0/31"), {}, {}}, "too small"},
      {{C("10.0.0.0/24"), I("10.0.0.7"), C("10.0.0.7/32")}, "holds no usable address"},
      {{C("10.0.0.0/24"), {}, C("10.0.0.0/31")}, "holds no usable address"},
      {{C("10.0.0.0/24"), {}, C("10.0.0.255/32")}, "holds no usable address"},
  };
  for (const auto& b : bad) {
    auto res = PlanAddresses(b.req, {C("172.17.0.0/16")}, {});
    ASSERT_FALSE(res.ok()) << b.expect;
    EXPECT_NE(res.error().message().find(b.expect), std::string::npos) << res.error().message();
  }
}

TEST(SubnetUsable, RefusesRangesThatBreakTheHost) {
  struct {
    const char* subnet;
    bool with_force;  // accepted with --force
    const char* expect;
  } cases[] = {
      {"127.0.0.0/8", false, "loopback"},      {"127.5.0.0/16", false, "loopback"},
      {"0.0.0.0/8", false, "this network"},    {"0.0.0.0/0", false, "overlaps"},
      {"224.0.0.0/4", false, "multicast"},     {"232.1.0.0/16", false, "multicast"},
      {"255.255.255.0/24", false, "limited broadcast"},
      {"240.0.0.0/4", false, "limited broadcast"},
      {"169.254.0.0/16", true, "link-local"},  {"240.1.0.0/16", true, "reserved (240/4)"},
  };
  for (const auto& c : cases) {
    Status st = CheckSubnetUsable(C(c.subnet), {}, false);
    ASSERT_FALSE(st.ok()) << c.subnet;
    EXPECT_NE(st.error().message().find(c.expect), std::string::npos) << st.error().message();
    EXPECT_NE(st.error().message().find(c.with_force ? "use --force" : "even with --force"),
              std::string::npos)
        << st.error().message();
    EXPECT_EQ(CheckSubnetUsable(C(c.subnet), {}, true).ok(), c.with_force) << c.subnet;
  }
  EXPECT_TRUE(CheckSubnetUsable(C("10.0.0.0/8"), {}, false).ok());
  EXPECT_TRUE(CheckSubnetUsable(C("172.18.0.0/16"), {C("0.0.0.0/0")}, false).ok());
  Status route = CheckSubnetUsable(C("10.1.0.0/16"), {C("10.1.2.0/24")}, false);
  ASSERT_FALSE(route.ok());
  EXPECT_EQ(route.error().code(), Code::kInUse);
  EXPECT_TRUE(CheckSubnetUsable(C("10.1.0.0/16"), {C("10.1.2.0/24")}, true).ok());
  // A picked subnet never needs --force: it avoids routes and special ranges by construction.
  EXPECT_TRUE(PlanAddresses({}, {}, {C("172.18.0.0/16")}).ok());
}

TEST(NextFree, SkipsReservedAndUsedAndMovesOn) {
  Network n = Net("10.0.0.0/29");  // .0 network, .1 gateway, .2-.6 hosts, .7 broadcast
  std::set<IpAddr> used;
  InUseFn in_use = [&](const IpAddr& ip) -> Result<bool> { return used.count(ip) > 0; };
  std::optional<IpAddr> cursor;
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) {
    auto ip = NextFree(n, cursor, in_use);
    ASSERT_TRUE(ip.ok());
    used.insert(*ip);
    cursor = *ip;
    got.push_back(ip->ToString());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5",
                                            "10.0.0.6"}));
  auto full = NextFree(n, cursor, in_use);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), Code::kUnavailable);
  // Release .3: it is found again by wrapping around, not by reusing the lowest at once.
  used.erase(I("10.0.0.3"));
  EXPECT_EQ(NextFree(n, cursor, in_use)->ToString(), "10.0.0.3");
  used.erase(I("10.0.0.5"));
  EXPECT_EQ(NextFree(n, I("10.0.0.3"), in_use)->ToString(), "10.0.0.5");
}

TEST(NextFree, StaysInsideIpRange) {
  Network n = Net("10.0.0.0/24", C("10.0.0.128/30"));
  std::set<IpAddr> used;
  InUseFn in_use = [&](const IpAddr& ip) -> Result<bool> { return used.count(ip) > 0; };
  std::vector<std::string> got;
  std::optional<IpAddr> cursor;
  while (true) {
    auto ip = NextFree(n, cursor, in_use);
    if (!ip.ok()) break;
    used.insert(*ip);
    cursor = *ip;
    got.push_back(ip->ToString());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.128", "10.0.0.129", "10.0.0.130",
                                            "10.0.0.131"}));
}

TEST(NextFree, InRangeWrapsInsideTheRangeOnly) {
  Network n = Net("10.0.0.0/24");
  std::set<IpAddr> used;
  InUseFn in_use = [&](const IpAddr& ip) -> Result<bool> { return used.count(ip) > 0; };
  std::optional<IpAddr> cursor;
  std::vector<std::string> got;
  for (;;) {
    auto ip = NextFreeInRange(n, I("10.0.0.1"), I("10.0.0.4"), cursor, in_use);
    if (!ip.ok()) {
      EXPECT_EQ(ip.error().code(), Code::kUnavailable);
      EXPECT_NE(ip.error().message().find("10.0.0.1-10.0.0.4"), std::string::npos);
      break;
    }
    used.insert(*ip);
    cursor = *ip;
    got.push_back(ip->ToString());
  }
  // .1 is the gateway: skipped even inside the range.
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4"}));
  used.erase(I("10.0.0.2"));
  EXPECT_EQ(NextFreeInRange(n, I("10.0.0.1"), I("10.0.0.4"), cursor, in_use)->ToString(),
            "10.0.0.2");
  // A cursor outside the range (left by another config) starts at the range's beginning.
  used.clear();
  EXPECT_EQ(NextFreeInRange(n, I("10.0.0.10"), I("10.0.0.20"), I("10.0.0.200"), in_use)
                ->ToString(),
            "10.0.0.10");
  auto bad = NextFreeInRange(n, I("10.0.0.20"), I("10.0.1.5"), std::nullopt, in_use);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kInvalid);
}

TEST(NextFree, PropagatesLookupErrors) {
  Network n = Net("10.0.0.0/24");
  auto r = NextFree(n, std::nullopt, [](const IpAddr&) -> Result<bool> {
    return Error::Internal("disk on fire");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "disk on fire");
}

TEST(CheckStatic, Rules) {
  Network n = Net("10.0.0.0/24");
  InUseFn in_use = [](const IpAddr& ip) -> Result<bool> { return ip == *IpAddr::Parse("10.0.0.9"); };
  EXPECT_TRUE(CheckStatic(n, I("10.0.0.10"), in_use).ok());
  EXPECT_EQ(CheckStatic(n, I("10.0.0.9"), in_use).error().code(), Code::kExists);
  EXPECT_EQ(CheckStatic(n, I("10.0.1.9"), in_use).error().code(), Code::kInvalid);
  EXPECT_EQ(CheckStatic(n, I("10.0.0.1"), in_use).error().code(), Code::kInvalid);
  EXPECT_EQ(CheckStatic(n, I("10.0.0.255"), in_use).error().code(), Code::kInvalid);
}

}  // namespace
}  // namespace berth::ipam
