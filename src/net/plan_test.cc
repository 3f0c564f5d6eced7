#include "net/plan.h"

#include <gtest/gtest.h>

#include "core/ids.h"
#include "net/apply.h"
#include "tests/fakes/fake_link_ops.h"

namespace berth::net {
namespace {

Network TestNet() {
  Network n;
  n.id = "0123456789abcdef";
  n.name = "web";
  n.bridge = "br-0123456789ab";
  n.subnet = *Cidr::ParseNetwork("172.18.0.0/16");
  n.gateway = *IpAddr::Parse("172.18.0.1");
  n.mtu = 1450;
  return n;
}

Endpoint TestEndpoint() {
  Endpoint e;
  e.container_id = "c0ffee";
  e.ifname = "eth0";
  e.ip = *IpAddr::Parse("172.18.0.2");
  e.prefix_len = 16;
  e.mac = MacForIp(e.ip);
  e.gateway = *IpAddr::Parse("172.18.0.1");
  e.host_veth = "veth00000000001";
  return e;
}

TEST(Plan, AttachBuildsBridgeVethAddressAndRoute) {
  FakeLinkOps ops;
  Rollback rb;
  ASSERT_TRUE(Apply(AttachPlan(TestNet(), TestEndpoint(), true), ops, rb).ok());
  rb.Commit();
  EXPECT_EQ(ops.calls, (std::vector<std::string>{
                           "sysctl net.ipv4.ip_forward=1",
                           "bridge br-0123456789ab 172.18.0.1/16",
                           "sysctl net/ipv4/conf/br-0123456789ab/route_localnet=1",
                           "veth veth00000000001 master br-0123456789ab peer eth0 02:42:ac:12:00:02",
                           "ctr: addr 172.18.0.2/16 dev eth0",
                           "ctr: up eth0",
                           "ctr: route default via 172.18.0.1",
                       }));
}

TEST(Plan, InternalAndSecondaryNetworksGetNoDefaultRoute) {
  Network n = TestNet();
  auto has_route = [](const Plan& p) {
    for (const Op& op : p.ops) {
      if (std::holds_alternative<AddRouteOp>(op)) return true;
    }
    return false;
  };
  EXPECT_TRUE(has_route(AttachPlan(n, TestEndpoint(), true)));
  EXPECT_FALSE(has_route(AttachPlan(n, TestEndpoint(), false)));
  n.internal = true;
  EXPECT_FALSE(has_route(AttachPlan(n, TestEndpoint(), true)));
}

TEST(Plan, FailureRollsBackWhatWasCreated) {
  FakeLinkOps ops;
  ops.fail_on = "ctr: route";
  {
    Rollback rb;
    Status st = Apply(AttachPlan(TestNet(), TestEndpoint(), true), ops, rb);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("add route via 172.18.0.1"), std::string::npos);
  }
  // Newest first: the veth, then the bridge this attach created.
  ASSERT_GE(ops.calls.size(), 2u);
  EXPECT_EQ(ops.calls[ops.calls.size() - 2], "del veth00000000001");
  EXPECT_EQ(ops.calls.back(), "del br-0123456789ab");
  EXPECT_TRUE(ops.links.empty());
}

TEST(Plan, ExistingBridgeIsNotRolledBack) {
  FakeLinkOps ops;
  ops.links.insert("br-0123456789ab");
  ops.fail_on = "ctr: addr";
  {
    Rollback rb;
    ASSERT_FALSE(Apply(AttachPlan(TestNet(), TestEndpoint(), true), ops, rb).ok());
  }
  EXPECT_EQ(ops.calls.back(), "del veth00000000001");
  EXPECT_EQ(ops.links.count("br-0123456789ab"), 1u);
}

TEST(Plan, ExplainPrintsEquivalentIpCommands) {
  std::string text = Explain(AttachPlan(TestNet(), TestEndpoint(), true), "/var/lib/berth/netns/c");
  EXPECT_NE(text.find("ip link add br-0123456789ab mtu 1450 type bridge"), std::string::npos);
  EXPECT_NE(text.find("ip link add veth00000000001 mtu 1450 master br-0123456789ab up type veth "
                      "peer name eth0 address 02:42:ac:12:00:02 mtu 1450 netns "
                      "/var/lib/berth/netns/c"),
            std::string::npos);
  EXPECT_NE(text.find("nsenter --net=/var/lib/berth/netns/c ip route add default via 172.18.0.1 "
                      "dev eth0"),
            std::string::npos);
  EXPECT_EQ(Explain(DetachPlan(TestEndpoint()), "x"),
            "ip link set veth00000000001 down && (ip link del veth00000000001 &)\n");
}

}  // namespace
}  // namespace berth::net
