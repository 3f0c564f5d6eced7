#include "dns/table.h"

#include <gtest/gtest.h>

#include <set>

#include "dns/test_util.h"

namespace berth::dns {
namespace {

using testing_util::MakeQuery;
using testing_util::ParseResponse;
using testing_util::Response;

IpAddr Ip(const char* s) { return *IpAddr::Parse(s); }

// Two networks: "mon" (172.18.0.0/16) with mysql, redis and two "db" aliases; "other"
// (172.19.0.0/16) with x; "bridge" container c2 on both.
TableSpec Spec() {
  TableSpec s;
  s.networks.push_back(
      {"mon", {Ip("172.18.0.1")}, {*Cidr::ParseNetwork("172.18.0.0/16")}, false});
  s.networks.push_back(
      {"other", {Ip("172.19.0.1")}, {*Cidr::ParseNetwork("172.19.0.0/16")}, false});
  s.endpoints.push_back({0, Ip("172.18.0.2"), {"mysql", "db", "abc123"}, ""});
  s.endpoints.push_back({0, Ip("172.18.0.3"), {"redis", "db"}, ""});
  s.endpoints.push_back({1, Ip("172.19.0.2"), {"x"}, ""});
  s.endpoints.push_back({0, Ip("172.18.0.4"), {"both"}, "c-both"});
  s.endpoints.push_back({1, Ip("172.19.0.4"), {"both"}, "c-both"});
  return s;
}

struct Asked {
  Verdict verdict;
  Response r;
};

Asked Ask(const Table& t, const std::string& from, const std::string& name, uint16_t qtype,
          uint32_t rotation = 0, bool from_host = false, const char* local = "172.18.0.1") {
  std::string pkt = MakeQuery(42, name, qtype);
  Query q;
  ParseResult pr = ParseQuery(pkt, &q);
  uint8_t buf[4096];
  ResponseWriter w(buf, q.UdpLimit());
  Requester who{Ip(from.c_str()), Ip(local), from_host};
  Verdict v = Respond(t, q, pr, who, rotation, w);
  Asked a{v, {}};
  if (v == Verdict::kAnswer) {
    a.r = ParseResponse(std::string(reinterpret_cast<char*>(buf), w.Finish()));
  }
  return a;
}

TEST(FlatIndex, FindsWhatWasBuiltAndNothingElse) {
  FlatIndex idx;
  std::vector<std::pair<std::string, uint32_t>> items;
  for (uint32_t i = 0; i < 1000; ++i) items.emplace_back("name" + std::to_string(i), i);
  idx.Build(items);
  EXPECT_EQ(idx.size(), 1000u);
  for (uint32_t i = 0; i < 1000; ++i) {
    const uint32_t* v = idx.Find("name" + std::to_string(i));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*v, i);
  }
  EXPECT_EQ(idx.Find("name1000"), nullptr);
  EXPECT_EQ(FlatIndex().Find("x"), nullptr);
}

TEST(Table, AnswersNamesCaseInsensitively) {
  auto t = Table::Build(Spec());
  auto a = Ask(*t, "172.18.0.3", "MySQL", type::kA);
  ASSERT_EQ(a.verdict, Verdict::kAnswer);
  ASSERT_TRUE(a.r.ok);
  EXPECT_EQ(a.r.rcode, 0);
  EXPECT_TRUE(a.r.aa);
  EXPECT_EQ(a.r.qname, "MySQL");  // echoed as asked
  ASSERT_EQ(a.r.a.size(), 1u);
  EXPECT_EQ(a.r.a[0], "172.18.0.2");
  // The hostname (short id) too.
  EXPECT_EQ(Ask(*t, "172.18.0.3", "abc123", type::kA).r.a.size(), 1u);
}

TEST(Table, AliasesRoundRobin) {
  auto t = Table::Build(Spec());
  std::set<std::string> firsts;
  for (uint32_t rot = 0; rot < 4; ++rot) {
    auto a = Ask(*t, "172.18.0.2", "db", type::kA, rot);
    ASSERT_EQ(a.r.a.size(), 2u);
    firsts.insert(a.r.a[0]);
  }
  EXPECT_EQ(firsts, (std::set<std::string>{"172.18.0.2", "172.18.0.3"}));
}

TEST(Table, ScopedByTheRequestersNetworks) {
  auto t = Table::Build(Spec());
  // x is on "other" only: mysql (on "mon") does not see it; it is forwarded like any
  // unknown name.
  EXPECT_EQ(Ask(*t, "172.18.0.2", "x", type::kA).verdict, Verdict::kForward);
  EXPECT_EQ(Ask(*t, "172.19.0.2", "x", type::kA).r.a.size(), 1u);
  // "both" has an address on each network; each side sees its own.
  auto m = Ask(*t, "172.18.0.2", "both", type::kA);
  ASSERT_EQ(m.r.a.size(), 1u);
  EXPECT_EQ(m.r.a[0], "172.18.0.4");
  auto o = Ask(*t, "172.19.0.2", "both", type::kA);
  ASSERT_EQ(o.r.a.size(), 1u);
  EXPECT_EQ(o.r.a[0], "172.19.0.4");
}

TEST(Table, AContainerOnTwoNetworksSeesBothFromEitherAddress) {
  auto t = Table::Build(Spec());
  // "both" asks from its "mon" address for x, which is on "other" only.
  auto a = Ask(*t, "172.18.0.4", "x", type::kA);
  ASSERT_EQ(a.verdict, Verdict::kAnswer);
  EXPECT_EQ(a.r.a, std::vector<std::string>{"172.19.0.2"});
  // ... and for "both": both of its own addresses.
  EXPECT_EQ(Ask(*t, "172.18.0.4", "both", type::kA).r.a.size(), 2u);
}

TEST(Table, StrangersAreRefusedTheHostIsNot) {
  auto t = Table::Build(Spec());
  EXPECT_EQ(Ask(*t, "203.0.113.5", "mysql", type::kA).r.rcode, 5);
  // Through the loopback device: the host asks the gateway of "mon".
  auto h = Ask(*t, "172.18.0.1", "mysql", type::kA, 0, true, "172.18.0.1");
  EXPECT_EQ(h.r.rcode, 0);
  EXPECT_EQ(h.r.a.size(), 1u);
  // ... and of "other": mysql is not there.
  EXPECT_EQ(Ask(*t, "172.19.0.1", "mysql", type::kA, 0, true, "172.19.0.1").verdict,
            Verdict::kForward);
  // A host address that is no gateway of ours.
  EXPECT_EQ(Ask(*t, "127.0.0.1", "mysql", type::kA, 0, true, "127.0.0.1").r.rcode, 5);
}

TEST(Table, KnownNameOtherTypeIsNoDataUnknownIsForwarded) {
  auto t = Table::Build(Spec());
  auto aaaa = Ask(*t, "172.18.0.2", "redis", type::kAaaa);
  ASSERT_EQ(aaaa.verdict, Verdict::kAnswer);
  EXPECT_EQ(aaaa.r.rcode, 0);
  EXPECT_TRUE(aaaa.r.a.empty());
  EXPECT_TRUE(aaaa.r.aaaa.empty());
  EXPECT_EQ(Ask(*t, "172.18.0.2", "redis", type::kMx).r.rcode, 0);
  EXPECT_EQ(Ask(*t, "172.18.0.2", "example.test", type::kA).verdict, Verdict::kForward);
}

TEST(Table, Ptr) {
  auto t = Table::Build(Spec());
  auto p = Ask(*t, "172.18.0.3", "2.0.18.172.in-addr.arpa", type::kPtr);
  ASSERT_EQ(p.verdict, Verdict::kAnswer);
  ASSERT_EQ(p.r.ptr.size(), 1u);
  EXPECT_EQ(p.r.ptr[0], "mysql");
  // Unused address in a container subnet: NXDOMAIN here, never asked upstream.
  EXPECT_EQ(Ask(*t, "172.18.0.3", "99.0.18.172.in-addr.arpa", type::kPtr).r.rcode, 3);
  // Another network's container: not visible, and not our subnet from here.
  EXPECT_EQ(Ask(*t, "172.18.0.3", "2.0.19.172.in-addr.arpa", type::kPtr).verdict,
            Verdict::kForward);
  EXPECT_EQ(Ask(*t, "172.18.0.3", "1.100.51.198.in-addr.arpa", type::kPtr).verdict,
            Verdict::kForward);
}

TEST(Table, NothingIsForwardedForContainersOnlyOnInternalNetworks) {
  TableSpec s = Spec();
  s.networks.push_back({"priv", {Ip("172.20.0.1")}, {*Cidr::ParseNetwork("172.20.0.0/16")}, true});
  s.endpoints.push_back({2, Ip("172.20.0.2"), {"secret"}, "c-secret"});
  s.endpoints.push_back({2, Ip("172.20.0.3"), {"peer"}, "c-peer"});
  s.endpoints.push_back({2, Ip("172.20.0.4"), {"gw"}, "c-gw"});
  s.endpoints.push_back({0, Ip("172.18.0.9"), {"gw"}, "c-gw"});
  auto t = Table::Build(s);
  EXPECT_EQ(Ask(*t, "172.20.0.2", "peer", type::kA).r.a.size(), 1u);  // names still work
  EXPECT_EQ(Ask(*t, "172.20.0.2", "example.test", type::kA).r.rcode, 5);
  EXPECT_EQ(Ask(*t, "172.20.0.2", "1.100.51.198.in-addr.arpa", type::kPtr).r.rcode, 5);
  // A container also on a network with a way out is forwarded as usual.
  EXPECT_EQ(Ask(*t, "172.20.0.4", "example.test", type::kA).verdict, Verdict::kForward);
}

TEST(Table, MalformedGetsFormErrAndNoQuestionEchoWhenItDidNotParse) {
  auto t = Table::Build(Spec());
  std::string pkt = MakeQuery(5, "mysql", type::kA);
  pkt[5] = 2;
  Query q;
  ParseResult pr = ParseQuery(pkt, &q);
  uint8_t buf[512];
  ResponseWriter w(buf, 512);
  ASSERT_EQ(Respond(*t, q, pr, {Ip("172.18.0.2"), Ip("172.18.0.1"), false}, 0, w),
            Verdict::kAnswer);
  auto r = ParseResponse(std::string(reinterpret_cast<char*>(buf), w.Finish()));
  EXPECT_EQ(r.id, 5);
  EXPECT_EQ(r.rcode, 1);
}

TEST(Table, LargeAnswerIsTruncatedOverUdpWithoutEdns) {
  TableSpec s;
  s.networks.push_back({"n", {Ip("10.1.0.1")}, {*Cidr::ParseNetwork("10.1.0.0/24")}, false});
  for (int i = 0; i < 40; ++i) {
    s.endpoints.push_back(
        {0, Ip(("10.1.0." + std::to_string(10 + i)).c_str()), {"c" + std::to_string(i), "big"}, ""});
  }
  auto t = Table::Build(s);
  auto a = Ask(*t, "10.1.0.10", "big", type::kA);
  EXPECT_TRUE(a.r.tc);
  EXPECT_TRUE(a.r.a.empty());
  // Over TCP (64 KiB limit) all 40 come back.
  std::string pkt = MakeQuery(1, "big", type::kA);
  Query q;
  ParseResult pr = ParseQuery(pkt, &q);
  std::vector<uint8_t> buf(kMaxTcpMessage);
  ResponseWriter w(buf.data(), buf.size());
  Respond(*t, q, pr, {Ip("10.1.0.10"), Ip("10.1.0.1"), false}, 0, w);
  auto r = ParseResponse(std::string(reinterpret_cast<char*>(buf.data()), w.Finish()));
  EXPECT_FALSE(r.tc);
  EXPECT_EQ(r.a.size(), 40u);
}

// A service "web" (10.96.0.5) on "mon" with 80/tcp and 8081/tcp, and "dns" (10.96.0.53) on
// "other" with 53/udp.
TableSpec SpecWithServices() {
  TableSpec s = Spec();
  s.services.push_back({0, "web", Ip("10.96.0.5"), {{80, false}, {8081, false}}});
  s.services.push_back({1, "dns", Ip("10.96.0.53"), {{53, true}}});
  return s;
}

TEST(Table, ServicesResolveToTheirVipBothWays) {
  auto t = Table::Build(SpecWithServices());
  EXPECT_EQ(Ask(*t, "172.18.0.2", "web", type::kA).r.a, std::vector<std::string>{"10.96.0.5"});
  EXPECT_EQ(Ask(*t, "172.18.0.2", "5.0.96.10.in-addr.arpa", type::kPtr).r.ptr,
            std::vector<std::string>{"web"});
  // Scoped like container names.
  EXPECT_EQ(Ask(*t, "172.19.0.2", "web", type::kA).verdict, Verdict::kForward);
}

TEST(Table, SrvByPortNumberAndByWellKnownName) {
  auto t = Table::Build(SpecWithServices());
  for (const char* name : {"_80._tcp.web", "_http._tcp.web", "_80._TCP.Web"}) {
    auto a = Ask(*t, "172.18.0.2", name, type::kSrv);
    ASSERT_EQ(a.verdict, Verdict::kAnswer) << name;
    ASSERT_TRUE(a.r.ok) << name;
    EXPECT_EQ(a.r.rcode, 0) << name;
    EXPECT_TRUE(a.r.aa);
    ASSERT_EQ(a.r.srv.size(), 1u) << name;
    EXPECT_EQ(a.r.srv[0].port, 80);
    EXPECT_EQ(a.r.srv[0].priority, 0);
    EXPECT_GT(a.r.srv[0].weight, 0);
    EXPECT_EQ(a.r.srv[0].target, "web");
    EXPECT_EQ(a.r.additional_a, std::vector<std::string>{"web A 10.96.0.5"});
  }
  // 8081 has no well-known name: only the number form.
  EXPECT_EQ(Ask(*t, "172.18.0.2", "_8081._tcp.web", type::kSrv).r.srv.size(), 1u);
  // UDP: _53._udp and _domain._udp, from "other" only.
  auto d = Ask(*t, "172.19.0.2", "_domain._udp.dns", type::kSrv);
  ASSERT_EQ(d.r.srv.size(), 1u);
  EXPECT_EQ(d.r.srv[0].port, 53);
  EXPECT_EQ(d.r.srv[0].target, "dns");
  EXPECT_EQ(Ask(*t, "172.19.0.2", "_53._udp.dns", type::kSrv).r.srv.size(), 1u);
  EXPECT_EQ(Ask(*t, "172.18.0.2", "_53._udp.dns", type::kSrv).verdict, Verdict::kForward);
  // ANY carries the SRV too.
  EXPECT_EQ(Ask(*t, "172.18.0.2", "_80._tcp.web", type::kAny).r.srv.size(), 1u);
}

TEST(Table, SrvForAPortTheNameDoesNotHaveIsNoDataNotNxDomain) {
  auto t = Table::Build(SpecWithServices());
  for (const char* name : {"_81._tcp.web", "_80._udp.web", "_https._tcp.web", "_80._tcp.mysql"}) {
    auto a = Ask(*t, "172.18.0.2", name, type::kSrv);
    ASSERT_EQ(a.verdict, Verdict::kAnswer) << name;
    EXPECT_EQ(a.r.rcode, 0) << name;
    EXPECT_TRUE(a.r.srv.empty()) << name;
    EXPECT_TRUE(a.r.additional_a.empty()) << name;
  }
  // Another type at an SRV name: the name exists, no data of that type.
  auto a = Ask(*t, "172.18.0.2", "_80._tcp.web", type::kA);
  EXPECT_EQ(a.r.rcode, 0);
  EXPECT_TRUE(a.r.a.empty());
  EXPECT_TRUE(a.r.srv.empty());
  // SRV at the service's own name: no data either.
  auto plain = Ask(*t, "172.18.0.2", "web", type::kSrv);
  EXPECT_EQ(plain.r.rcode, 0);
  EXPECT_TRUE(plain.r.srv.empty());
  // A name that is not ours, in SRV form, is the upstream's.
  EXPECT_EQ(Ask(*t, "172.18.0.2", "_80._tcp.nothere", type::kSrv).verdict, Verdict::kForward);
  EXPECT_EQ(Ask(*t, "172.18.0.2", "_ldap._tcp.example.test", type::kSrv).verdict,
            Verdict::kForward);
}

}  // namespace
}  // namespace berth::dns
