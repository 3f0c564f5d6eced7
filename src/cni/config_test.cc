#include "cni/config.h"

#include <gtest/gtest.h>

namespace berth::cni {
namespace {

using nlohmann::json;

Result<NetConf> Parse(const std::string& text) {
  auto j = Decode(text);
  if (!j.ok()) return j.error();
  return ParseNetConf(*j);
}

TEST(Decode, OnlyAJsonObjectDecodes) {
  EXPECT_TRUE(Decode("{}").ok());
  for (const char* bad : {"", "{", "[1]", "\"x\"", "{\"a\":1} trailing"}) {
    auto j = Decode(bad);
    ASSERT_FALSE(j.ok()) << bad;
    EXPECT_EQ(ToCniError(j.error()).code, kDecodingFailure);
  }
  EXPECT_EQ(*ConfigVersion(json::object()), "0.1.0");
  EXPECT_EQ(ToCniError(ConfigVersion(json{{"cniVersion", 1}}).error()).code, kInvalidConfig);
}

TEST(NetConf, DefaultsAreBerths) {
  auto c = Parse(R"({"cniVersion":"1.0.0","name":"web","type":"berth"})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->name, "web");
  EXPECT_TRUE(c->is_default_gateway);
  EXPECT_TRUE(c->ip_masq);
  EXPECT_TRUE(c->dns_enabled);
  EXPECT_FALSE(c->internal);
  EXPECT_FALSE(c->mtu);
  EXPECT_FALSE(c->ipam.delegated());
  EXPECT_FALSE(c->prev_result);
  EXPECT_FALSE(c->valid_attachments);
}

TEST(NetConf, EveryBerthKey) {
  auto c = Parse(R"({"cniVersion":"1.1.0","name":"web","type":"berth","root":"/run/b",
    "bridge":"br-web","isDefaultGateway":false,"ipMasq":false,"mtu":1400,"dns":false,
    "internal":true,
    "ipam":{"type":"berth","subnet":"10.123.0.0/24","gateway":"10.123.0.254",
            "rangeStart":"10.123.0.10","rangeEnd":"10.123.0.20",
            "routes":[{"dst":"0.0.0.0/0"},{"dst":"10.200.0.0/16","gw":"10.123.0.1"}]},
    "runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},
                                      {"hostPort":53,"containerPort":5353,"protocol":"UDP",
                                       "hostIP":"203.0.113.1"}],
                     "ips":["10.123.0.15/24","2001:db8::5/64"],"mac":"c2:00:00:00:00:01",
                     "aliases":{"web":["www","api"],"other":["x"]},
                     "dns":{"servers":["10.123.0.254"],"searches":["svc.example"],
                            "options":["ndots:2"]}},
    "prevResult":{"cniVersion":"1.1.0"},
    "cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(*c->root, "/run/b");
  EXPECT_EQ(*c->bridge, "br-web");
  EXPECT_FALSE(c->is_default_gateway);
  EXPECT_FALSE(c->ip_masq);
  EXPECT_EQ(*c->mtu, 1400);
  EXPECT_FALSE(c->dns_enabled);
  EXPECT_TRUE(c->internal);
  EXPECT_EQ(c->ipam.subnet->ToString(), "10.123.0.0/24");
  EXPECT_EQ(c->ipam.gateway->ToString(), "10.123.0.254");
  EXPECT_EQ(c->ipam.range_start->ToString(), "10.123.0.10");
  EXPECT_EQ(c->ipam.range_end->ToString(), "10.123.0.20");
  ASSERT_EQ(c->ipam.routes.size(), 2u);
  EXPECT_TRUE(c->ipam.routes[0].is_default());
  ASSERT_EQ(c->runtime.ports.size(), 2u);
  EXPECT_EQ(c->runtime.ports[0].host_port, 8080);
  EXPECT_EQ(c->runtime.ports[0].container_port, 80);
  EXPECT_EQ(c->runtime.ports[1].protocol, Protocol::kUdp);
  EXPECT_EQ(c->runtime.ports[1].host_ip.ToString(), "203.0.113.1");
  ASSERT_EQ(c->runtime.ips.size(), 1u) << "the IPv6 address is not berth's";
  EXPECT_EQ(c->runtime.ips[0].ToString(), "10.123.0.15/24");
  EXPECT_EQ(*c->runtime.mac, "c2:00:00:00:00:01");
  EXPECT_EQ(c->runtime.aliases.at("web"), (std::vector<std::string>{"www", "api"}));
  EXPECT_EQ(c->runtime.dns.nameservers, std::vector<std::string>{"10.123.0.254"});
  EXPECT_EQ(c->runtime.dns.search, std::vector<std::string>{"svc.example"});
  ASSERT_TRUE(c->prev_result);
  ASSERT_EQ(c->valid_attachments->size(), 1u);
  EXPECT_EQ((*c->valid_attachments)[0].container_id, "c1");
}

TEST(NetConf, SpecDnsDictionaryAndTheOldGcKey) {
  auto c = Parse(R"({"cniVersion":"1.1.0","name":"web","type":"berth",
    "dns":{"nameservers":["198.51.100.53"],"domain":"example"},
    "cni.dev/attachments":[]})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->dns_enabled);
  EXPECT_EQ(c->dns.nameservers, std::vector<std::string>{"198.51.100.53"});
  EXPECT_EQ(c->dns.domain, "example");
  EXPECT_TRUE(c->valid_attachments && c->valid_attachments->empty());
}

TEST(NetConf, DelegatedIpamIsLeftToTheDelegate) {
  auto c = Parse(R"({"cniVersion":"1.0.0","name":"web","type":"berth",
    "ipam":{"type":"host-local","ranges":[[{"subnet":"10.88.0.0/16"}]],"dataDir":"/x"}})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->ipam.delegated());
  EXPECT_EQ(c->ipam.type, "host-local");
}

TEST(NetConf, MissingAndMalformedFields) {
  struct {
    const char* conf;
    int code;
    const char* text;
  } bad[] = {
      {R"({"cniVersion":"1.0.0","type":"berth"})", kInvalidConfig, "name is missing"},
      {R"({"cniVersion":"1.0.0","name":"","type":"berth"})", kInvalidConfig, "name"},
      {R"({"cniVersion":"1.0.0","name":"a b","type":"berth"})", kInvalidConfig, "name"},
      {R"({"cniVersion":"1.0.0","name":"web"})", kInvalidConfig, "type is missing"},
      {R"({"cniVersion":"1.0.0","name":7,"type":"berth"})", kInvalidConfig, "must be a string"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","mtu":"1400"})", kInvalidConfig, "mtu"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","mtu":20})", kInvalidConfig, "mtu"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","ipMasq":"yes"})", kInvalidConfig,
       "ipMasq must be true or false"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","root":"rel"})", kInvalidConfig,
       "absolute"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","bridge":"much-too-long-bridge"})",
       kInvalidConfig, "bridge"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","ipam":{"subnet":"10.1.0.1/24"}})",
       kInvalidConfig, "ipam.subnet"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","ipam":{"gateway":"10.1.0.1"}})",
       kInvalidConfig, "needs ipam.subnet"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth",
          "ipam":{"subnet":"10.1.0.0/24","rangeStart":"10.2.0.1"}})", kInvalidConfig, "outside"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth",
          "ipam":{"subnet":"10.1.0.0/24","rangeStart":"10.1.0.9","rangeEnd":"10.1.0.5"}})",
       kInvalidConfig, "before"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth",
          "ipam":{"ranges":[[{"subnet":"10.1.0.0/24"}]]}})", kUnsupportedField,
       "ipam.ranges=[[{\"subnet\":\"10.1.0.0/24\"}]]"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","ipam":{"subnet":"2001:db8::/64"}})",
       kUnsupportedField, "ipam.subnet"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth",
          "runtimeConfig":{"portMappings":[{"hostPort":0,"containerPort":80}]}})",
       kInvalidConfig, "hostPort"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth",
          "runtimeConfig":{"portMappings":[{"hostPort":1,"containerPort":80,"protocol":"sctp"}]}})",
       kUnsupportedField, "protocol"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","runtimeConfig":{"ips":["x"]}})",
       kInvalidConfig, "runtimeConfig.ips"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","runtimeConfig":{"aliases":["x"]}})",
       kInvalidConfig, "aliases"},
      {R"({"cniVersion":"1.0.0","name":"w","type":"berth","prevResult":[]})", kInvalidConfig,
       "prevResult"},
      {R"({"cniVersion":"1.1.0","name":"w","type":"berth",
          "cni.dev/valid-attachments":[{"containerID":"c"}]})", kInvalidConfig, "ifname"},
  };
  for (const auto& b : bad) {
    auto c = Parse(b.conf);
    ASSERT_FALSE(c.ok()) << b.conf;
    EXPECT_EQ(ToCniError(c.error()).code, b.code) << b.conf << ": " << c.error().message();
    EXPECT_NE(c.error().message().find(b.text), std::string::npos) << c.error().message();
  }
}

}  // namespace
}  // namespace berth::cni
