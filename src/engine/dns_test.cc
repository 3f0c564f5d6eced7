#include "engine/dns.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/ids.h"
#include "tests/support/models.h"

namespace berth::engine {
namespace {

Container MakeContainer(const std::string& name) {
  Container c;
  c.id = NewId();
  c.name = name;
  c.hostname = c.id.substr(0, 12);
  c.mode = "x";
  c.netns_owner_id = c.id;
  c.command = {"sleep"};
  return c;
}

void Attach(store::Store& s, const Container& c, const Network& n, const std::string& ip,
            std::vector<std::string> aliases = {}) {
  Endpoint e;
  e.container_id = c.id;
  e.network_id = n.id;
  e.ifname = "if-" + n.name;
  e.ip = *IpAddr::Parse(ip);
  e.prefix_len = n.subnet.prefix();
  e.mac = MacForIp(e.ip);
  e.gateway = n.gateway;
  e.host_veth = HostVethName(c.id, e.ifname);
  e.aliases = std::move(aliases);
  ASSERT_TRUE(s.InsertEndpoint(e).ok());
}

TEST(DnsRecords, UserNetworksOnlyWithNamesAliasesAndHostnames) {
  Network default_net;
  default_net.is_default = true;
  EXPECT_FALSE(DnsEnabled(default_net));
  EXPECT_TRUE(DnsEnabled(MakeNetwork("a", "10.1.0.0/24")));
  EXPECT_FALSE(DnsEnabled(MakeNetwork("a", "10.1.0.0/24", {{"dns", "false"}})));

  auto store = std::move(*store::Store::Open(":memory:"));
  Network mon = MakeNetwork("mon", "172.18.0.0/16");
  Network quiet = MakeNetwork("quiet", "172.19.0.0/16", {{"dns", "false"}});
  ASSERT_TRUE(store->InsertNetwork(mon).ok());
  ASSERT_TRUE(store->InsertNetwork(quiet).ok());
  auto def = *store->FindNetwork("bridge");
  Container mysql = MakeContainer("mysql"), plain = MakeContainer("plain");
  ASSERT_TRUE(store->InsertContainer(mysql).ok());
  ASSERT_TRUE(store->InsertContainer(plain).ok());
  Attach(*store, mysql, mon, "172.18.0.2", {"db"});
  Attach(*store, mysql, quiet, "172.19.0.2");
  Attach(*store, plain, *def, "172.17.0.2");

  auto spec = DnsRecords(*store);
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  ASSERT_EQ(spec->networks.size(), 1u);
  EXPECT_EQ(spec->networks[0].name, "mon");
  EXPECT_EQ(spec->networks[0].gateways, std::vector<IpAddr>{*IpAddr::Parse("172.18.0.1")});
  ASSERT_EQ(spec->endpoints.size(), 1u);
  const auto& e = spec->endpoints[0];
  EXPECT_EQ(e.ip.ToString(), "172.18.0.2");
  EXPECT_EQ(e.owner, mysql.id);
  EXPECT_EQ(e.names, (std::vector<std::string>{"mysql", "db", mysql.hostname}));
}

TEST(DnsRecords, ServicesWithTheirPorts) {
  auto store = std::move(*store::Store::Open(":memory:"));
  Network mon = MakeNetwork("mon", "172.18.0.0/16");
  ASSERT_TRUE(store->InsertNetwork(mon).ok());
  Service web;
  web.id = NewId();
  web.name = "web";
  web.network_id = mon.id;
  web.vip = *IpAddr::Parse("10.96.0.5");
  web.selector = {{"app", "web"}};
  web.ports = {{80, 8080, Protocol::kTcp}, {53, 53, Protocol::kUdp}};
  ASSERT_TRUE(store->InsertService(web).ok());

  auto spec = DnsRecords(*store);
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_TRUE(spec->endpoints.empty());
  ASSERT_EQ(spec->services.size(), 1u);
  const auto& s = spec->services[0];
  EXPECT_EQ(s.network, 0u);
  EXPECT_EQ(s.name, "web");
  EXPECT_EQ(s.vip.ToString(), "10.96.0.5");
  ASSERT_EQ(s.ports.size(), 2u);
  EXPECT_EQ(s.ports[0].port, 80);  // the service port, not the target port
  EXPECT_FALSE(s.ports[0].udp);
  EXPECT_EQ(s.ports[1].port, 53);
  EXPECT_TRUE(s.ports[1].udp);
}

}  // namespace
}  // namespace berth::engine
