// The renderers against the kernel and libnftables: elements written in the wire encoding read
// back through libnftables' JSON as the same typed elements (IPv4 and IPv6), JSON deletes find
// wire adds and the other way round, and the nft(8) text of berth's table makes the same table
// as its JSON. Writes nftables, so it runs only inside tests/sandbox.sh (skipped elsewhere):
//   tests/sandbox.sh ./build/berth_unit_tests --gtest_filter='NftRoundTrip*'
#include <gtest/gtest.h>

#include "tests/support/private_netns.h"
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "firewall/element_batch.h"
#include "firewall/nft_firewall.h"
#include "firewall/render_json.h"
#include "firewall/render_text.h"
#include "firewall/render_wire.h"
#include "firewall/ruleset.h"

namespace berth::firewall {
namespace {

using nlohmann::json;
using enum DataType;

bool InSandbox() { return berth::testing::InPrivateNetns(); }

IpAddr Ip(const char* s) { return *IpAddr::Parse(s); }

Ruleset HashSets(Family family) {
  Ruleset rs;
  rs.table = {family, "berth_rt"};
  rs.sets = {{"v6_addr", {{kIpv6Addr, kInetProto, kInetService}, kIpv6Addr}},
             {"v6_port", {{kIpv6Addr, kInetProto, kInetService}, kInetService}},
             {"v6", {{kIpv6Addr}}}};
  if (family != Family::kIp6) {
    rs.sets.push_back({"v4_addr", {{kIpv4Addr, kInetProto, kInetService}, kIpv4Addr}});
    rs.sets.push_back({"port_port", {{kInetProto, kInetService}, kInetService}});
    rs.sets.push_back({"pairs", {{kIfname, kIfname}}});
  }
  return rs;
}

std::vector<Element> Sample(Family family) {
  std::vector<Element> e = {
      {"v6_addr", {Ip("2001:db8::1"), Protocol::kTcp, Port{443}}, Ip("2001:db8:1::2")},
      {"v6_addr", {Ip("2001:db8::1"), Protocol::kUdp, Port{443}}, Ip("2001:db8:1::3")},
      {"v6_port", {Ip("2001:db8::1"), Protocol::kTcp, Port{443}}, Port{8443}},
      {"v6", {Ip("2001:db8:ffff::1")}},
  };
  if (family != Family::kIp6) {
    e.push_back({"v4_addr", {Ip("198.51.100.7"), Protocol::kTcp, Port{65535}}, Ip("10.1.2.3")});
    e.push_back({"port_port", {Protocol::kUdp, Port{1}}, Port{65535}});
    e.push_back({"pairs", {Ifname{"br-a"}, Ifname{"123456789012345"}}});
  }
  return e;
}

std::vector<std::string> Sorted(const std::vector<Element>& elems) {
  std::vector<std::string> out;
  for (const Element& e : elems) out.push_back(e.set + ": " + TextElement(e));
  std::sort(out.begin(), out.end());
  return out;
}

WireDelta Wire(const Ruleset& rs, const std::vector<Element>& remove,
               const std::vector<Element>& add) {
  WireDelta d{rs.table.family, rs.table.name, {}, {}};
  for (const Element& e : remove) d.remove.push_back(*EncodeElement(*rs.FindSet(e.set), e, false));
  for (const Element& e : add) d.add.push_back(*EncodeElement(*rs.FindSet(e.set), e, true));
  return d;
}

class NftRoundTrip : public ::testing::TestWithParam<Family> {
 protected:
  void SetUp() override {
    if (!InSandbox()) GTEST_SKIP() << "writes nftables: run inside tests/sandbox.sh";
    auto fw = NftFirewall::Open();
    ASSERT_TRUE(fw.ok());
    fw_ = std::move(*fw);
  }
  std::vector<Element> List(const Ruleset& rs) {
    std::string out;
    EXPECT_TRUE(fw_->Run(JsonListTable(rs.table), &out).ok());
    return ParseJsonListing(rs, out);
  }
  std::unique_ptr<NftFirewall> fw_;
};

TEST_P(NftRoundTrip, WireAndLibnftablesAgree) {
  Ruleset rs = HashSets(GetParam());
  ASSERT_TRUE(fw_->Run(JsonCreateBatch(rs)).ok());
  ASSERT_TRUE(fw_->Run(JsonContentBatch(rs, {})).ok());
  std::vector<Element> elems = Sample(GetParam());
  auto socket = NfnlSocket::Open();
  ASSERT_TRUE(socket.ok());
  // Added on the wire, read back through libnftables as the same typed elements.
  ASSERT_TRUE(ApplyElements(*socket, Wire(rs, {}, elems)).ok());
  EXPECT_EQ(Sorted(List(rs)), Sorted(elems));
  // Deleted through JSON: the keys libnftables encodes are the ones the wire wrote.
  Status del = fw_->Run(JsonElementBatch(rs, elems, {}));
  ASSERT_TRUE(del.ok()) << del.error().message();
  EXPECT_TRUE(List(rs).empty());
  // And the other way round.
  ASSERT_TRUE(fw_->Run(JsonElementBatch(rs, {}, elems)).ok());
  Status wire_del = ApplyElements(*socket, Wire(rs, elems, {}));
  ASSERT_TRUE(wire_del.ok()) << wire_del.error().message();
  EXPECT_TRUE(List(rs).empty());
  // A delete of what is not there fails as "not found", changing nothing.
  ASSERT_TRUE(ApplyElements(*socket, Wire(rs, {}, {elems[0]})).ok());
  Status missing = ApplyElements(*socket, Wire(rs, {elems[1]}, {elems[2]}));
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  EXPECT_EQ(Sorted(List(rs)), Sorted({elems[0]}));
  ASSERT_TRUE(fw_->Run(R"({"nftables":[{"delete":{"table":{"family":")" +
                       std::string(NftName(rs.table.family)) + R"(","name":"berth_rt"}}}]})")
                  .ok());
}

INSTANTIATE_TEST_SUITE_P(Families, NftRoundTrip,
                         ::testing::Values(Family::kInet, Family::kIp6));

// Everything but handles, which differ between two creations of one table.
json WithoutHandles(json j) {
  if (j.is_object()) {
    j.erase("handle");
    for (auto& [k, v] : j.items()) v = WithoutHandles(v);
  } else if (j.is_array()) {
    for (auto& v : j) v = WithoutHandles(v);
  }
  return j;
}

// Creates `rs` with `elements` once through JSON and once from its nft(8) text, and expects the
// kernel to list the same table both times.
void ExpectTextMakesTheJsonTable(const Ruleset& rs, const std::vector<Element>& elements) {
  auto fw = NftFirewall::Open();
  ASSERT_TRUE(fw.ok());
  std::string drop = R"({"nftables":[{"delete":{"table":{"family":")" +
                     std::string(NftName(rs.table.family)) + R"(","name":")" + rs.table.name +
                     R"("}}}]})";
  (void)(*fw)->Run(drop);
  ASSERT_TRUE((*fw)->Run(JsonCreateBatch(rs)).ok());
  Status content = (*fw)->Run(JsonContentBatch(rs, elements));
  ASSERT_TRUE(content.ok()) << content.error().message();
  std::string from_json, from_text;
  ASSERT_TRUE((*fw)->Run(JsonListTable(rs.table), &from_json).ok());
  ASSERT_TRUE((*fw)->Run(drop).ok());

  char path[] = "/tmp/berth-ruleset-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::string text = TextRuleset(rs, elements);
  std::ofstream(path) << text;
  int rc = std::system((std::string("nft -f ") + path).c_str());
  ::unlink(path);
  ASSERT_EQ(rc, 0) << text;
  ASSERT_TRUE((*fw)->Run(JsonListTable(rs.table), &from_text).ok());
  (void)(*fw)->Run(drop);
  EXPECT_EQ(WithoutHandles(json::parse(from_text)).dump(1),
            WithoutHandles(json::parse(from_json)).dump(1))
      << text;
}

TEST(NftRoundTripText, BerthsTableInTextIsTheTableInJson) {
  if (!InSandbox()) GTEST_SKIP() << "writes nftables: run inside tests/sandbox.sh";
  State s;
  s.networks = {{"br-a", *Cidr::ParseNetwork("172.30.0.0/16"), true, false, false},
                {"br-i", *Cidr::ParseNetwork("10.30.0.0/24"), true, true, true}};
  s.ports = {{IpAddr::V4(0), Protocol::kTcp, 8080, 1, Ip("172.30.0.2"), 80},
             {Ip("127.0.0.1"), Protocol::kUdp, 9000, 10, Ip("172.30.0.3"), 9000}};
  ExpectTextMakesTheJsonTable(BerthRuleset(), Elements(s.networks, s.ports));
  EXPECT_EQ(ExplainState(s), TextRuleset(BerthRuleset(), Elements(s.networks, s.ports)));
}

// IPv6 rules and intervals, and a verdict map: what IPv6 networks and services will use.
TEST(NftRoundTripText, DualStackTableInTextIsTheTableInJson) {
  if (!InSandbox()) GTEST_SKIP() << "writes nftables: run inside tests/sandbox.sh";
  Ruleset rs = HashSets(Family::kInet);
  rs.chains = {{"pre", BaseChain{"nat", "prerouting", -100, VerdictKind::kAccept}},
               {"post", BaseChain{"nat", "postrouting", 100, VerdictKind::kAccept}},
               {"svc-1", std::nullopt}};
  rs.sets.push_back({"subnets6", {{kIpv6Addr}, std::nullopt, true}});
  rs.sets.push_back({"services", {{kIpv4Addr, kInetProto, kInetService}, kVerdict}});
  Key k6 = {Payload{"ip6", "daddr"}, Meta{"l4proto"}, Payload{"th", "dport"}};
  Key k4 = {Payload{"ip", "daddr"}, Meta{"l4proto"}, Payload{"th", "dport"}};
  rs.rules = {
      {"pre", {Match{{Payload{"ip6", "saddr"}}, Op::kEq, SetRef{"subnets6"}}, Counter{},
               Dnat{Family::kIp6, k6, "v6_addr", "v6_port"}}},
      {"pre", {Match{{Payload{"ip6", "daddr"}}, Op::kEq, Value{Cidr(Ip("2001:db8:9::"), 48)}},
               Verdict{VerdictKind::kReturn}}},
      {"pre", {Counter{}, VerdictMap{k4, "services"}}},
      {"svc-1", {Dnat{Family::kIp, k4, "v4_addr", std::nullopt}}},
      {"post", {Match{{Payload{"ip6", "saddr"}}, Op::kEq, SetRef{"subnets6"}},
                Match{{Meta{"oifname"}}, Op::kNe, Value{Ifname{"br-a"}}}, Masquerade{}}},
  };
  std::vector<Element> elems = Sample(Family::kInet);
  elems.push_back({"subnets6", {Cidr(Ip("2001:db8:5::"), 48)}});
  elems.push_back({"subnets6", {Cidr(Ip("2001:db8:6::1"), 128)}});
  elems.push_back({"services", {Ip("10.96.0.1"), Protocol::kTcp, Port{80}},
                   Verdict{VerdictKind::kJump, "svc-1"}});
  ExpectTextMakesTheJsonTable(rs, elems);
}

// A service's life (created with affinity and --publish, a backend leaving, the last one
// leaving, removed) through the libnftnl batch lists, step by step, as the same table as
// through libnftables' JSON.
TEST(NftRoundTripServices, TheBatchMakesWhatLibnftablesMakes) {
  if (!InSandbox()) GTEST_SKIP() << "writes nftables: run inside tests/sandbox.sh";
  auto fw = NftFirewall::Open();
  ASSERT_TRUE(fw.ok());
  auto socket = NfnlSocket::Open();
  ASSERT_TRUE(socket.ok());
  State base;
  base.networks = {{"br-a", *Cidr::ParseNetwork("172.18.0.0/16"), true, true, false}};
  auto sticky = [](std::vector<IpAddr> backends) {
    return ServiceRules{"4c3e2795e9b0aaaa", Ip("10.96.0.1"),
                        {{80, 8080, Protocol::kTcp}, {53, 5353, Protocol::kUdp}},
                        std::move(backends), false, {{30080, 80, Protocol::kTcp}}, 60};
  };
  ServiceRules three = sticky({Ip("172.18.0.2"), Ip("172.18.0.3"), Ip("172.18.0.4")});
  ServiceRules two = sticky({Ip("172.18.0.3"), Ip("172.18.0.4")});
  ServiceRules none = sticky({});
  ServiceRules rr = three;
  rr.id = "77aa000000000000";
  rr.vip = Ip("10.96.0.2");
  rr.round_robin = true;
  rr.affinity = 0;
  rr.publish = {};
  std::vector<Delta> steps(5);
  steps[0].add_services = {three, rr};
  steps[1].remove_services = {three};
  steps[1].add_services = {two};
  steps[2].remove_services = {two};
  steps[2].add_services = {none};
  steps[3].remove_services = {none};
  steps[3].add_services = {two};
  steps[4].remove_services = {two, rr};
  auto listing = [&] {
    std::string out;
    EXPECT_TRUE((*fw)->Run(JsonListTable(BerthRuleset().table), &out).ok());
    return WithoutHandles(json::parse(out)).dump(1);
  };
  std::string drop = R"({"nftables":[{"delete":{"table":{"family":"inet","name":"berth"}}}]})";
  auto fresh = [&] {
    (void)(*fw)->Run(drop);
    StateBatches b = RenderState(base);
    ASSERT_TRUE((*fw)->Run(b.create).ok());
    ASSERT_TRUE((*fw)->Run(b.content).ok());
  };
  std::vector<std::string> by_batch, by_json;
  fresh();
  for (const Delta& d : steps) {
    auto wire = EncodeDelta(d);
    ASSERT_TRUE(wire.has_value());
    Status st = ApplyElements(*socket, *wire);
    ASSERT_TRUE(st.ok()) << st.error().message();
    by_batch.push_back(listing());
  }
  fresh();
  for (const Delta& d : steps) {
    Status st = (*fw)->Run(RenderDelta(d));
    ASSERT_TRUE(st.ok()) << st.error().message();
    by_json.push_back(listing());
  }
  (void)(*fw)->Run(drop);
  for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(by_batch[i], by_json[i]) << "step " << i;
  // A batch on a table whose chain is gone fails whole (the caller rebuilds).
  fresh();
  Delta leave = steps[1];
  Status missing = ApplyElements(*socket, *EncodeDelta(leave));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  // Every answer of the failed batch was read: the socket's next batch finds its own.
  Status again = ApplyElements(*socket, *EncodeDelta(steps[0]));
  EXPECT_TRUE(again.ok()) << again.error().message();
  (void)(*fw)->Run(drop);
}

}  // namespace
}  // namespace berth::firewall
