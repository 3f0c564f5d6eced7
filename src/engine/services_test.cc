#include "engine/services.h"

#include <gtest/gtest.h>

#include "engine/bridge_config.h"

namespace berth::engine {
namespace {

TEST(ServicePort, Forms) {
  struct {
    const char* spec;
    uint16_t port, target;
    Protocol proto;
  } cases[] = {{"80", 80, 80, Protocol::kTcp},
               {"80:8080", 80, 8080, Protocol::kTcp},
               {"53/udp", 53, 53, Protocol::kUdp},
               {"53:5353/udp", 53, 5353, Protocol::kUdp},
               {"443/tcp", 443, 443, Protocol::kTcp}};
  for (const auto& c : cases) {
    auto p = ParseServicePort(c.spec);
    ASSERT_TRUE(p.ok()) << c.spec;
    EXPECT_EQ(p->port, c.port) << c.spec;
    EXPECT_EQ(p->target_port, c.target) << c.spec;
    EXPECT_EQ(p->protocol, c.proto) << c.spec;
  }
}

TEST(ServicePort, BadFormsSayWhy) {
  for (const char* spec : {"", "0", "65536", "80:", ":80", "80/sctp", "x", "80:0", "80:8080:1",
                           "-1", "80/"}) {
    auto p = ParseServicePort(spec);
    ASSERT_FALSE(p.ok()) << spec;
    EXPECT_NE(p.error().message().find("--port"), std::string::npos) << p.error().message();
  }
}

TEST(ServiceAffinity, Forms) {
  EXPECT_EQ(*ParseAffinity("none"), 0u);
  EXPECT_EQ(*ParseAffinity("client-ip"), 10800u);
  EXPECT_EQ(*ParseAffinity("client-ip:60"), 60u);
  EXPECT_EQ(*ParseAffinity("client-ip:86400"), 86400u);
  EXPECT_EQ(AffinityText(0), "none");
  EXPECT_EQ(AffinityText(10800), "client-ip:10800");
}

TEST(ServiceAffinity, BadFormsSayWhy) {
  for (const char* spec : {"", "foo", "client-ip:", "client-ip:0", "client-ip:abc",
                           "client-ip:86401", "client-ip:-1", "client-ipx", "client-ip:10s",
                           "None"}) {
    auto a = ParseAffinity(spec);
    ASSERT_FALSE(a.ok()) << spec;
    EXPECT_NE(a.error().message().find("invalid --affinity"), std::string::npos)
        << a.error().message();
    EXPECT_NE(a.error().message().find("client-ip[:SECONDS]"), std::string::npos);
  }
}

TEST(ServicePublish, Forms) {
  auto p = ParseServicePublish("30080:80");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host_port, 30080);
  EXPECT_EQ(p->port, 80);
  EXPECT_EQ(p->protocol, Protocol::kTcp);
  p = ParseServicePublish("30053:53/udp");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->protocol, Protocol::kUdp);
  for (const char* bad : {"80", "0:80", "99999:80", "30080:80:90", "30080:", "x:80"}) {
    auto r = ParseServicePublish(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find("--publish"), std::string::npos) << r.error().message();
  }
}

TEST(Selector, ParsesAndMatches) {
  auto s = ParseSelector({"app=web", "tier=front"});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(SelectorMatches(*s, {{"app", "web"}, {"tier", "front"}, {"x", "y"}}));
  EXPECT_FALSE(SelectorMatches(*s, {{"app", "web"}}));
  EXPECT_FALSE(SelectorMatches(*s, {{"app", "db"}, {"tier", "front"}}));
  EXPECT_TRUE(ParseSelector({"empty="}).ok());
  EXPECT_FALSE(ParseSelector({"novalue"}).ok());
  EXPECT_FALSE(ParseSelector({"=v"}).ok());
  EXPECT_FALSE(ParseSelector({"a=1", "a=2"}).ok());
}

TEST(Balance, Names) {
  EXPECT_FALSE(*ParseBalance("random"));
  EXPECT_TRUE(*ParseBalance("round-robin"));
  EXPECT_FALSE(ParseBalance("rr").ok());
}

TEST(ServiceChanges, OnlyServicesWhoseBackendsChanged) {
  IpAddr a = *IpAddr::Parse("172.18.0.2"), b = *IpAddr::Parse("172.18.0.3");
  firewall::ServiceRules s1{"s1", *IpAddr::Parse("10.96.0.1"), {{80, 80, Protocol::kTcp}}, {a}};
  firewall::ServiceRules s2{"s2", *IpAddr::Parse("10.96.0.2"), {{80, 80, Protocol::kTcp}}, {a}};
  firewall::ServiceRules s1b = s1;
  s1b.backends = {a, b};
  firewall::Delta d;
  AddServiceChanges({s1, s2}, {s1b, s2}, d);
  ASSERT_EQ(d.add_services.size(), 1u);
  EXPECT_EQ(d.add_services[0].id, "s1");
  EXPECT_EQ(d.remove_services[0].backends.size(), 1u);
}

TEST(ServiceCidr, DefaultAndConfigured) {
  EXPECT_EQ(DefaultBridgeConfig().service_cidr.ToString(), "10.96.0.0/16");
  auto c = ParseBridgeConfig(R"({"service-cidr": "10.100.0.0/24"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->service_cidr.ToString(), "10.100.0.0/24");
  EXPECT_FALSE(ParseBridgeConfig(R"({"service-cidr": "10.100.0.0/31"})").ok());
  EXPECT_FALSE(ParseBridgeConfig(R"({"service-cidr": 5})").ok());
}

}  // namespace
}  // namespace berth::engine
