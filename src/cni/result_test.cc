#include "cni/result.h"

#include <gtest/gtest.h>

namespace berth::cni {
namespace {

using nlohmann::json;

AddResult Sample() {
  AddResult r;
  r.interfaces = {{"br-1", "aa:aa:aa:aa:aa:aa", "", std::nullopt},
                  {"veth1", "bb:bb:bb:bb:bb:bb", "", std::nullopt},
                  {"eth0", "02:42:0a:01:00:05", "/run/netns/x", 1450}};
  r.ips = {{*Cidr::ParseInterface("10.1.0.5/24"), *IpAddr::Parse("10.1.0.1"), 2}};
  r.routes = {{*Cidr::ParseInterface("0.0.0.0/0"), *IpAddr::Parse("10.1.0.1")}};
  r.dns.nameservers = {"10.1.0.1"};
  return r;
}

TEST(Result, EachVersionHasItsShape) {
  json v04 = RenderResult(Sample(), "0.4.0");
  EXPECT_EQ(v04["cniVersion"], "0.4.0");
  EXPECT_EQ(v04["ips"][0], (json{{"version", "4"}, {"address", "10.1.0.5/24"},
                                 {"gateway", "10.1.0.1"}, {"interface", 2}}));
  EXPECT_FALSE(v04["interfaces"][2].contains("mtu"));
  EXPECT_EQ(RenderResult(Sample(), "0.3.1")["ips"][0]["version"], "4");

  json v10 = RenderResult(Sample(), "1.0.0");
  EXPECT_FALSE(v10["ips"][0].contains("version"));
  EXPECT_FALSE(v10["interfaces"][2].contains("mtu"));
  json v11 = RenderResult(Sample(), "1.1.0");
  EXPECT_EQ(v11["interfaces"][2], (json{{"name", "eth0"}, {"mac", "02:42:0a:01:00:05"},
                                        {"mtu", 1450}, {"sandbox", "/run/netns/x"}}));
  EXPECT_FALSE(v11["interfaces"][0].contains("sandbox"));
  EXPECT_EQ(v11["routes"][0], (json{{"dst", "0.0.0.0/0"}, {"gw", "10.1.0.1"}}));
  EXPECT_EQ(v11["dns"], (json{{"nameservers", {"10.1.0.1"}}}));
  EXPECT_FALSE(RenderResult(AddResult{}, "1.0.0").contains("dns"));
}

TEST(Result, ParsesWhatEveryVersionRenders) {
  for (const char* v : {"0.3.1", "0.4.0", "1.0.0", "1.1.0"}) {
    auto r = ParseResult(RenderResult(Sample(), v));
    ASSERT_TRUE(r.ok()) << v << ": " << r.error().message();
    EXPECT_EQ(r->interfaces.size(), 3u);
    EXPECT_EQ(r->interfaces[2].sandbox, "/run/netns/x");
    EXPECT_EQ(r->ips[0].address.ToString(), "10.1.0.5/24");
    EXPECT_EQ(*r->ips[0].interface, 2);
    EXPECT_TRUE(r->routes[0].is_default());
    EXPECT_EQ(r->dns.nameservers, std::vector<std::string>{"10.1.0.1"});
  }
  // An IPAM plugin's answer: no interfaces, routes without gw.
  auto ipam = ParseResult(json::parse(R"({"cniVersion":"1.0.0","ips":[{"address":"10.88.0.2/16",
      "gateway":"10.88.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}})"));
  ASSERT_TRUE(ipam.ok());
  EXPECT_FALSE(ipam->routes[0].gw);
  EXPECT_FALSE(ipam->ips[0].interface);
}

TEST(Result, MalformedIsInvalidConfig) {
  for (const char* bad : {R"([])", R"({"ips":{}})", R"({"ips":[{"address":"nope"}]})",
                          R"({"ips":[{"address":"10.0.0.1/8","interface":-1}]})",
                          R"({"interfaces":[{"mac":"x"}]})", R"({"routes":[{"gw":"1.2.3.4"}]})",
                          R"({"routes":[{"dst":"10.0.0.0/8","gw":"fe80::1"}]})",
                          R"({"dns":{"nameservers":"1.1.1.1"}})"}) {
    auto r = ParseResult(json::parse(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(ToCniError(r.error()).code, kInvalidConfig) << bad;
  }
}

TEST(Dns, MergeKeepsOrderAndDropsDuplicates) {
  Dns a{{"10.1.0.1"}, "", {"a.example"}, {}};
  a.Merge(Dns{{"10.1.0.1", "198.51.100.53"}, "example", {"b.example", "a.example"}, {"ndots:2"}});
  EXPECT_EQ(a.nameservers, (std::vector<std::string>{"10.1.0.1", "198.51.100.53"}));
  EXPECT_EQ(a.domain, "example");
  EXPECT_EQ(a.search, (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(a.options, std::vector<std::string>{"ndots:2"});
}

}  // namespace
}  // namespace berth::cni
