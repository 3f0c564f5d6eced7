// Each renderer of the typed model on its own, with IPv6 as well as IPv4 values (the berth
// ruleset's own renderings are pinned by golden_test.cc).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "firewall/render_json.h"
#include "firewall/render_text.h"
#include "firewall/render_wire.h"

namespace berth::firewall {
namespace {

using nlohmann::json;
using enum DataType;

std::string Hex(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

IpAddr Ip(const char* s) { return *IpAddr::Parse(s); }
Cidr Net(const char* s) { return *Cidr::ParseNetwork(s); }

// A small dual-stack table: what services and IPv6 networks will need.
Ruleset TestRuleset(Family family = Family::kInet) {
  Ruleset rs;
  rs.table = {family, "berth_test"};
  rs.chains = {{"user", std::nullopt, true},
               {"pre", BaseChain{"nat", "prerouting", -100, VerdictKind::kAccept}},
               {"svc-1", std::nullopt}};
  rs.sets = {
      {"bridges", {{kIfname}}},
      {"subnets6", {{kIpv6Addr}, std::nullopt, true}},
      {"pub6_addr", {{kIpv6Addr, kInetProto, kInetService}, kIpv6Addr}},
      {"pub6_port", {{kIpv6Addr, kInetProto, kInetService}, kInetService}},
      {"pub4_addr", {{kIpv4Addr, kInetProto, kInetService}, kIpv4Addr}},
      {"services", {{kIpv4Addr, kInetProto, kInetService}, kVerdict}},
  };
  Key k6 = {Payload{"ip6", "daddr"}, Meta{"l4proto"}, Payload{"th", "dport"}};
  rs.rules = {
      {"pre", {Match{{Payload{"ip6", "saddr"}}, Op::kEq, SetRef{"subnets6"}}, Counter{},
               Dnat{Family::kIp6, k6, "pub6_addr", "pub6_port"}}},
      {"pre", {Match{{Meta{"iifname"}}, Op::kNe, SetRef{"bridges"}},
               Verdict{VerdictKind::kJump, "svc-1"}}},
  };
  return rs;
}

Element V6Port() {
  return {"pub6_addr", {Ip("2001:db8::1"), Protocol::kTcp, Port{443}}, Ip("2001:db8:1::2")};
}

TEST(RenderWire, Ipv6ElementsUseTheRegisterLayout) {
  Ruleset rs = TestRuleset();
  auto w = EncodeElement(*rs.FindSet("pub6_addr"), V6Port(), true);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->set, "pub6_addr");
  // 16 address bytes (already register aligned), then proto and port each padded to 32 bits.
  EXPECT_EQ(Hex(w->key), "20010db8000000000000000000000001" "06000000" "01bb0000");
  EXPECT_EQ(Hex(w->data), "20010db8000100000000000000000002");
  auto del = EncodeElement(*rs.FindSet("pub6_addr"), V6Port(), false);
  ASSERT_TRUE(del.has_value());
  EXPECT_EQ(del->key, w->key);
  EXPECT_TRUE(del->data.empty());
  Element port{"pub6_port", {Ip("2001:db8::1"), Protocol::kUdp, Port{53}}, Port{5353}};
  w = EncodeElement(*rs.FindSet("pub6_port"), port, true);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(Hex(w->key), "20010db8000000000000000000000001" "11000000" "00350000");
  EXPECT_EQ(Hex(w->data), "14e9");  // a map value is not padded
}

TEST(RenderWire, ValuesMustHaveTheDeclaredType) {
  Ruleset rs = TestRuleset();
  const Set& v4 = *rs.FindSet("pub4_addr");
  const Set& v6 = *rs.FindSet("pub6_addr");
  Element e4{"pub4_addr", {Ip("10.0.0.1"), Protocol::kTcp, Port{80}}, Ip("10.0.0.2")};
  EXPECT_TRUE(EncodeElement(v4, e4, true).has_value());
  Element mixed = e4;
  mixed.data = Ip("2001:db8::2");  // an IPv6 value in an ipv4_addr map
  EXPECT_FALSE(EncodeElement(v4, mixed, true).has_value());
  EXPECT_FALSE(EncodeElement(v6, e4, true).has_value());
  EXPECT_FALSE(EncodeElement(v4, {"pub4_addr", {Ip("10.0.0.1"), Port{80}}, Ip("10.0.0.2")}, true))
      << "a key with a part missing";
  const Set& bridges = *rs.FindSet("bridges");
  EXPECT_TRUE(EncodeElement(bridges, {"bridges", {Ifname{"123456789012345"}}}, true));
  EXPECT_FALSE(EncodeElement(bridges, {"bridges", {Ifname{"1234567890123456"}}}, true))
      << "IFNAMSIZ";
  // Intervals need libnftables; a verdict is carried as one, not as bytes.
  EXPECT_FALSE(EncodeElement(*rs.FindSet("subnets6"), {"subnets6", {Net("2001:db8::/64")}}, true));
  Element svc{"services", {Ip("10.96.0.1"), Protocol::kTcp, Port{80}},
              Verdict{VerdictKind::kJump, "svc-1"}};
  auto w = EncodeElement(*rs.FindSet("services"), svc, true);
  ASSERT_TRUE(w.has_value());
  EXPECT_TRUE(w->data.empty());
  EXPECT_EQ(w->verdict, (Verdict{VerdictKind::kJump, "svc-1"}));
  svc.data = Ip("10.0.0.1");
  EXPECT_FALSE(EncodeElement(*rs.FindSet("services"), svc, true)) << "not a verdict";
}

TEST(RenderJson, DeclaresFamiliesAndTypes) {
  json create = json::parse(JsonCreateBatch(TestRuleset(Family::kIp6)))["nftables"];
  EXPECT_EQ(create[0], json::parse(R"({"add":{"table":{"family":"ip6","name":"berth_test"}}})"));
  EXPECT_EQ(create[2]["add"]["chain"]["prio"], -100);
  const json& subnets6 = create[5]["add"]["set"];
  EXPECT_EQ(subnets6["type"], "ipv6_addr");
  EXPECT_EQ(subnets6["flags"], json::array({"interval"}));
  EXPECT_EQ(subnets6["family"], "ip6");
  const json& services = create[9]["add"]["map"];
  EXPECT_EQ(services["type"], json::parse(R"(["ipv4_addr","inet_proto","inet_service"])"));
  EXPECT_EQ(services["map"], "verdict");
}

TEST(RenderJson, RulesAndElementsAreData) {
  Ruleset rs = TestRuleset();
  json content = json::parse(JsonContentBatch(rs, {V6Port()}))["nftables"];
  // user is never flushed; pre and svc-1 are, then every set.
  EXPECT_EQ(content[0]["flush"]["chain"]["name"], "pre");
  EXPECT_EQ(content[1]["flush"]["chain"]["name"], "svc-1");
  json rule = content[8]["add"]["rule"];
  EXPECT_EQ(rule["chain"], "pre");
  EXPECT_EQ(rule["expr"][0], json::parse(R"({"match":{"op":"==","left":{"payload":
      {"protocol":"ip6","field":"saddr"}},"right":"@subnets6"}})"));
  EXPECT_EQ(rule["expr"][2]["dnat"]["family"], "ip6");
  EXPECT_EQ(rule["expr"][2]["dnat"]["port"]["map"]["data"], "@pub6_port");
  EXPECT_EQ(content[9]["add"]["rule"]["expr"][1], json::parse(R"({"jump":{"target":"svc-1"}})"));
  EXPECT_EQ(content[10]["add"]["element"]["elem"],
            json::parse(R"([[{"concat":["2001:db8::1","tcp",443]},"2001:db8:1::2"]])"));

  std::vector<Element> elems = {
      {"subnets6", {Net("2001:db8:5::/48")}},
      {"services", {Ip("10.96.0.1"), Protocol::kTcp, Port{80}}, Verdict{VerdictKind::kJump, "svc-1"}}};
  json batch = json::parse(JsonElementBatch(rs, elems, elems))["nftables"];
  EXPECT_EQ(batch[0]["delete"]["element"]["elem"],
            json::parse(R"([{"prefix":{"addr":"2001:db8:5::","len":48}}])"));
  EXPECT_EQ(batch[1]["delete"]["element"]["elem"],
            json::parse(R"([{"concat":["10.96.0.1","tcp",80]}])"));
  EXPECT_EQ(batch[3]["add"]["element"]["elem"],
            json::parse(R"([[{"concat":["10.96.0.1","tcp",80]},{"jump":{"target":"svc-1"}}]])"));
}

TEST(RenderJson, VerdictMapStatement) {
  Ruleset rs = TestRuleset();
  rs.rules = {{"pre", {VerdictMap{{Payload{"ip", "daddr"}, Meta{"l4proto"}, Payload{"th", "dport"}},
                                  "services"}}}};
  json content = json::parse(JsonContentBatch(rs, {}))["nftables"];
  EXPECT_EQ(content.back()["add"]["rule"]["expr"][0], json::parse(R"({"vmap":{"key":{"concat":[
      {"payload":{"protocol":"ip","field":"daddr"}},{"meta":{"key":"l4proto"}},
      {"payload":{"protocol":"th","field":"dport"}}]},"data":"@services"}})"));
  EXPECT_NE(TextRuleset(rs, {}).find("\t\tip daddr . meta l4proto . th dport vmap @services\n"),
            std::string::npos);
}

// A listing as nft prints it, made from the add commands' elements.
std::string ListingOf(const Ruleset& rs, const std::vector<Element>& elems) {
  json out = json::array({json::parse(R"({"metainfo":{"version":"1.0.6"}})")});
  json batch = json::parse(JsonElementBatch(rs, {}, elems));  // kept alive: the loop borrows
  for (const json& cmd : batch["nftables"]) {
    const json& e = cmd["add"]["element"];
    json body = {{"family", e["family"]}, {"table", e["table"]}, {"name", e["name"]},
                 {"elem", e["elem"]}};
    const char* kind = rs.FindSet(e["name"].get<std::string>())->is_map() ? "map" : "set";
    out.push_back(json::object({{kind, std::move(body)}}));
  }
  return json{{"nftables", out}}.dump();
}

TEST(RenderJson, ListingsReadBackAsTypedElements) {
  Ruleset rs = TestRuleset();
  std::vector<Element> elems = {
      {"bridges", {Ifname{"br-a"}}},
      {"subnets6", {Net("2001:db8:5::/48")}},
      V6Port(),
      {"pub6_port", {Ip("2001:db8::1"), Protocol::kUdp, Port{53}}, Port{5353}},
      {"pub4_addr", {Ip("10.0.0.1"), Protocol::kTcp, Port{80}}, Ip("10.0.0.2")},
      {"services", {Ip("10.96.0.1"), Protocol::kTcp, Port{80}}, Verdict{VerdictKind::kJump, "svc-1"}},
  };
  EXPECT_EQ(ParseJsonListing(rs, ListingOf(rs, elems)), elems);
  // Another table's sets, garbage and a one-address interval (listed bare).
  std::string other = R"({"nftables":[
      {"set":{"family":"inet","table":"other","name":"bridges","elem":["br-x"]}},
      {"set":{"family":"inet","table":"berth_test","name":"subnets6","elem":["2001:db8::7", 5,
              {"prefix":{"addr":"10.0.0.0","len":8}}]}},
      {"map":{"family":"inet","table":"berth_test","name":"pub4_addr","elem":[["x","y"]]}}]})";
  std::vector<Element> want = {{"subnets6", {Cidr(Ip("2001:db8::7"), 128)}}};
  EXPECT_EQ(ParseJsonListing(rs, other), want);
  EXPECT_TRUE(ParseJsonListing(rs, "").empty());
  EXPECT_TRUE(ParseJsonListing(rs, "{\"nftables\": 3}").empty());
}

TEST(RenderText, ElementsAndCommands) {
  EXPECT_EQ(TextElement(V6Port()), "2001:db8::1 . tcp . 443 : 2001:db8:1::2");
  EXPECT_EQ(TextElement(V6Port(), false), "2001:db8::1 . tcp . 443");
  Element svc{"services", {Ip("10.96.0.1"), Protocol::kTcp, Port{80}},
              Verdict{VerdictKind::kJump, "svc-1"}};
  EXPECT_EQ(TextElement(svc), "10.96.0.1 . tcp . 80 : jump svc-1");
  EXPECT_EQ(TextElementCommands({Family::kIp6, "t"}, {V6Port()}, {{"s", {Net("2001:db8::/32")}}}),
            "nft delete element ip6 t pub6_addr '{ 2001:db8::1 . tcp . 443 }'\n"
            "nft add element ip6 t s '{ 2001:db8::/32 }'\n");
}

TEST(RenderText, WholeTable) {
  std::string text = TextRuleset(TestRuleset(), {V6Port(), {"bridges", {Ifname{"br-a"}}}});
  EXPECT_NE(text.find("table inet berth_test {\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\tset subnets6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t}\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("\tmap pub6_addr {\n\t\ttype ipv6_addr . inet_proto . inet_service : "
                      "ipv6_addr\n\t\telements = { 2001:db8::1 . tcp . 443 : 2001:db8:1::2 }\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("\tchain pre {\n\t\ttype nat hook prerouting priority -100; policy accept;\n"
                      "\t\tip6 saddr == @subnets6 counter dnat ip6 to ip6 daddr . meta l4proto . "
                      "th dport map @pub6_addr : ip6 daddr . meta l4proto . th dport map "
                      "@pub6_port\n"
                      "\t\tmeta iifname != @bridges jump svc-1\n\t}\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("\tchain user {\n\t}\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace berth::firewall
