#include "firewall/ruleset.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace berth::firewall {
namespace {

using nlohmann::json;

NetworkRules Net(const char* br, const char* subnet) {
  return {br, *Cidr::ParseNetwork(subnet), true, true, false};
}

PortRule Port(const char* host_ip, uint16_t hp, uint16_t count, uint16_t cp,
              Protocol proto = Protocol::kTcp) {
  return {*IpAddr::Parse(host_ip), proto, hp, count, *IpAddr::Parse("172.18.0.2"), cp};
}

// The commands of a batch as (verb, object kind, set name) triples with their elements.
std::vector<std::tuple<std::string, std::string, json>> Commands(const std::string& text) {
  std::vector<std::tuple<std::string, std::string, json>> out;
  json doc = json::parse(text);  // kept alive: the loop below borrows from it
  for (const auto& cmd : doc.at("nftables")) {
    for (const auto& [verb, obj] : cmd.items()) {
      for (const auto& [kind, body] : obj.items()) out.emplace_back(verb, kind, body);
    }
  }
  return out;
}

json ElementsOf(const std::string& text, const std::string& verb, const std::string& set) {
  for (const auto& [v, kind, body] : Commands(text)) {
    if (v == verb && kind == "element" && body.at("name") == set) return body.at("elem");
  }
  return json();
}

TEST(Ruleset, NetworkDeltaTouchesOnlyItsElements) {
  Delta d;
  NetworkRules n = Net("br-a", "172.18.0.0/16");
  n.icc = false;
  d.add_networks.push_back(n);
  std::string text = RenderDelta(d);
  for (const auto& [verb, kind, body] : Commands(text)) {
    EXPECT_EQ(verb, "add");
    EXPECT_EQ(kind, "element");  // never a rule, chain or table: O(1) per network
    EXPECT_EQ(body.at("table"), "berth");
  }
  EXPECT_EQ(ElementsOf(text, "add", "bridges"), json::array({"br-a"}));
  EXPECT_EQ(ElementsOf(text, "add", "icc_off")[0]["concat"], json::array({"br-a", "br-a"}));
  EXPECT_EQ(ElementsOf(text, "add", "masq_subnets")[0]["prefix"]["len"], 16);
  EXPECT_TRUE(ElementsOf(text, "add", "internal").is_null());
}

TEST(Ruleset, InternalNetworksAreNotMasqueraded) {
  Delta d;
  NetworkRules n = Net("br-i", "10.9.0.0/24");
  n.internal = true;
  d.add_networks.push_back(n);
  std::string text = RenderDelta(d);
  EXPECT_TRUE(ElementsOf(text, "add", "masq_subnets").is_null());
  EXPECT_EQ(ElementsOf(text, "add", "internal"), json::array({"br-i"}));
}

TEST(Ruleset, ClusterSubnetIsNotMasqueradedToTheCluster) {
  Delta d;
  NetworkRules n = Net("br-c", "10.244.3.0/24");
  n.cluster_cidr = *Cidr::ParseNetwork("10.244.0.0/16");
  d.add_networks.push_back(n);
  std::string text = RenderDelta(d);
  EXPECT_EQ(ElementsOf(text, "add", "cluster_subnets")[0]["prefix"]["len"], 24);
  EXPECT_EQ(ElementsOf(text, "add", "cluster_cidrs")[0]["prefix"]["len"], 16);
  // Still masqueraded to everything else.
  EXPECT_EQ(ElementsOf(text, "add", "masq_subnets")[0]["prefix"]["len"], 24);
  // The return before the egress masquerade, in postrouting.
  std::string rules = RenderState({{n}, {}}).content;
  EXPECT_NE(rules.find("cluster_cidrs"), std::string::npos);
  EXPECT_NE(ExplainDelta(d).find("cluster_cidrs"), std::string::npos);
}

TEST(Ruleset, TrafficFromOutsideTheClusterToAnotherNodeTakesTheGateway) {
  Delta d;
  NetworkRules n = Net("br-c", "10.244.3.0/24");
  n.cluster_cidr = *Cidr::ParseNetwork("10.244.0.0/16");
  n.cluster_gateway = *IpAddr::Parse("10.244.3.1");
  d.add_networks.push_back(n);
  json elems = ElementsOf(RenderDelta(d), "add", "cluster_snat");
  ASSERT_EQ(elems.size(), 1u);
  EXPECT_EQ(elems[0][0]["prefix"]["len"], 16);
  EXPECT_EQ(elems[0][1], "10.244.3.1");
  EXPECT_NE(RenderState({{n}, {}}).content.find("\"snat\""), std::string::npos);
}

TEST(Ruleset, PortsBecomeMapElements) {
  Delta d;
  d.add_ports = {Port("0.0.0.0", 8080, 1, 80), Port("0.0.0.0", 9000, 1000, 9000, Protocol::kUdp),
                 Port("127.0.0.1", 8000, 2, 80)};
  std::string text = RenderDelta(d);
  // A single port: twin address and port maps.
  EXPECT_EQ(ElementsOf(text, "add", "pub_port_addr"),
            json::parse(R"([[{"concat":["tcp",8080]},"172.18.0.2"]])"));
  EXPECT_EQ(ElementsOf(text, "add", "pub_port_port"),
            json::parse(R"([[{"concat":["tcp",8080]},80]])"));
  // A range onto the same ports: one interval element, however long.
  EXPECT_EQ(ElementsOf(text, "add", "pub_range"),
            json::parse(R"([[{"concat":["udp",{"range":[9000,9999]}]},"172.18.0.2"]])"));
  // A shifted range on one address: one element per port (nft NAT has no base offset).
  EXPECT_EQ(ElementsOf(text, "add", "pub_addr_port_port"),
            json::parse(R"([[{"concat":["127.0.0.1","tcp",8000]},80],
                            [{"concat":["127.0.0.1","tcp",8001]},81]])"));
}

TEST(Ruleset, MissingElementsComparesWithAListing) {
  Delta want;
  want.add_networks = {Net("br-a", "10.140.0.0/24")};
  want.add_ports = {Port("0.0.0.0", 8080, 1, 80)};
  // What `nft -j list table inet berth` printed for exactly this state (nftables 1.0.6).
  std::string listing = R"({"nftables":[{"metainfo":{"version":"1.0.6"}},
    {"table":{"family":"inet","name":"berth","handle":1}},
    {"set":{"family":"inet","name":"bridges","table":"berth","type":"ifname","elem":["br-a"]}},
    {"set":{"family":"inet","name":"same_bridge","table":"berth","type":["ifname","ifname"],
            "elem":[{"concat":["br-a","br-a"]}]}},
    {"set":{"family":"inet","name":"subnets","table":"berth","type":"ipv4_addr",
            "flags":["interval"],"elem":[{"prefix":{"addr":"10.140.0.0","len":24}}]}},
    {"set":{"family":"inet","name":"masq_subnets","table":"berth","type":"ipv4_addr",
            "flags":["interval"],"elem":[{"prefix":{"addr":"10.140.0.0","len":24}}]}},
    {"map":{"family":"inet","name":"pub_port_addr","table":"berth","map":"ipv4_addr",
            "elem":[[{"concat":["tcp",8080]},"172.18.0.2"]]}},
    {"map":{"family":"inet","name":"pub_port_port","table":"berth","map":"inet_service",
            "elem":[[{"concat":["tcp",8080]},80]]}}]})";
  EXPECT_EQ(MissingElements(want, listing), std::vector<std::string>{});
  json doc = json::parse(listing);
  doc["nftables"][7]["map"]["elem"] = json::array();  // someone deleted the port's mapping
  doc["nftables"][5]["set"].erase("elem");            // and emptied masq_subnets
  EXPECT_EQ(MissingElements(want, doc.dump()),
            (std::vector<std::string>{"masq_subnets: 10.140.0.0/24",
                                      "pub_port_port: tcp . 8080 : 80"}));
  EXPECT_EQ(MissingElements(want, "").size(), 6u) << "no table: everything is missing";
}

TEST(Ruleset, DeletesNameKeysAndComeFirst) {
  Delta d;
  d.add_ports = {Port("0.0.0.0", 8080, 1, 80)};
  std::string text = RenderDelta(d.Inverse());
  EXPECT_EQ(ElementsOf(text, "delete", "pub_port_addr"),
            json::parse(R"([{"concat":["tcp",8080]}])"));
  Delta both;
  both.remove_ports = {Port("0.0.0.0", 8080, 1, 80)};
  both.add_ports = {Port("0.0.0.0", 8080, 1, 81)};
  auto cmds = Commands(RenderDelta(both));
  ASSERT_FALSE(cmds.empty());
  EXPECT_EQ(std::get<0>(cmds.front()), "delete");
  EXPECT_EQ(std::get<0>(cmds.back()), "add");
}

TEST(Ruleset, StateRebuildsBerthsObjectsButNeverFlushesTheUserChain) {
  State s;
  s.networks = {Net("br-a", "172.18.0.0/16")};
  s.ports = {Port("0.0.0.0", 8080, 1, 80)};
  StateBatches batches = RenderState(s);
  for (const auto& [verb, kind, body] : Commands(batches.create)) {
    EXPECT_EQ(verb, "add");  // creating only: harmless on an existing table
  }
  bool user_created = false;
  int forward_rules = 0;
  auto all = Commands(batches.create);
  auto rest = Commands(batches.content);
  all.insert(all.end(), rest.begin(), rest.end());
  for (const auto& [verb, kind, body] : all) {
    EXPECT_EQ(body.at("family"), "inet");
    if (kind == "chain" && body.at("name") == "user") {
      EXPECT_EQ(verb, "add");
      user_created = true;
    }
    if (verb == "flush") {
      EXPECT_NE(body.at("name"), "user");
    }
    if (verb == "add" && kind == "rule" && body.at("chain") == "forward") {
      if (++forward_rules == 1) {
        EXPECT_EQ(body.at("expr")[0]["jump"]["target"], "user");
      }
    }
  }
  EXPECT_TRUE(user_created);
  EXPECT_GT(forward_rules, 1);
  EXPECT_EQ(ElementsOf(batches.content, "add", "bridges"), json::array({"br-a"}));
}

TEST(Ruleset, ExplainSpeaksNft) {
  Delta d;
  d.add_ports = {Port("0.0.0.0", 8080, 1, 80)};
  EXPECT_EQ(ExplainDelta(d),
            "nft add element inet berth pub_port_addr '{ tcp . 8080 : 172.18.0.2 }'\n"
            "nft add element inet berth pub_port_port '{ tcp . 8080 : 80 }'\n");
}

}  // namespace
}  // namespace berth::firewall

namespace berth::firewall {
namespace {

std::string Hex(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

TEST(EncodeDelta, PortsUseTheKernelsRegisterLayout) {
  Delta d;
  d.add_ports = {Port("0.0.0.0", 8080, 1, 80), Port("127.0.0.1", 53, 1, 5353, Protocol::kUdp)};
  auto wire = EncodeDelta(d);
  ASSERT_TRUE(wire.has_value());
  ASSERT_EQ(wire->add.size(), 4u);
  // inet_proto . inet_service: each part padded to 32 bits; the port in network byte order.
  EXPECT_EQ(wire->add[0].set, "pub_port_addr");
  EXPECT_EQ(Hex(wire->add[0].key), "060000001f900000");
  EXPECT_EQ(Hex(wire->add[0].data), "ac120002");
  EXPECT_EQ(wire->add[1].set, "pub_port_port");
  EXPECT_EQ(Hex(wire->add[1].data), "0050");  // a map value is not padded
  EXPECT_EQ(wire->add[2].set, "pub_addr_port_addr");
  EXPECT_EQ(Hex(wire->add[2].key), "7f000001" "11000000" "00350000");
  EXPECT_EQ(Hex(wire->add[3].data), "14e9");
  EXPECT_TRUE(wire->remove.empty());
}

TEST(EncodeDelta, IntervalSetsGoThroughLibnftables) {
  Delta ports;
  ports.add_ports = {Port("0.0.0.0", 9000, 100, 9000)};  // one interval element
  EXPECT_FALSE(EncodeDelta(ports).has_value());
  Delta shifted;
  shifted.add_ports = {Port("0.0.0.0", 9000, 3, 80)};  // three single ports
  auto wire = EncodeDelta(shifted);
  ASSERT_TRUE(wire.has_value());
  EXPECT_EQ(wire->add.size(), 6u);
  Delta net;
  net.add_networks = {Net("br-a", "172.18.0.0/16")};  // the subnet sets are intervals
  EXPECT_FALSE(EncodeDelta(net).has_value());
  Delta removal;
  removal.remove_ports = {Port("0.0.0.0", 8080, 1, 80)};
  wire = EncodeDelta(removal);
  ASSERT_TRUE(wire.has_value());
  EXPECT_EQ(wire->remove.size(), 2u);
  EXPECT_TRUE(wire->remove[0].data.empty());
  EXPECT_EQ(Hex(wire->remove[0].key), "060000001f900000");
}

}  // namespace
}  // namespace berth::firewall
