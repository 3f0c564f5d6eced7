#include <gtest/gtest.h>

#include "diagnose/probe.h"
#include "diagnose/route_lookup.h"
#include "diagnose/user_rules.h"
#include "diagnose/why.h"

namespace berth::diagnose {
namespace {

TEST(WhyParse, TargetForms) {
  auto r = ParseWhy("a", "web:80");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dst, "web");
  EXPECT_EQ(*r->port, 80);
  EXPECT_EQ(r->protocol, Protocol::kTcp);
  r = ParseWhy("host", "10.0.0.1:53/udp");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->protocol, Protocol::kUdp);
  r = ParseWhy("a", "[::1]:80");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dst, "::1");
  r = ParseWhy("a", "2001:db8::1");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->port);
  EXPECT_FALSE(ParseWhy("a", "web:0").ok());
  EXPECT_FALSE(ParseWhy("a", "web:80/sctp").ok());
  EXPECT_FALSE(ParseWhy("a", "web/udp").ok());
}

constexpr char kListing[] = R"({"nftables":[{"metainfo":{}},
 {"chain":{"family":"inet","table":"berth","name":"user","handle":1}},
 {"rule":{"family":"inet","table":"berth","chain":"user","handle":7,"expr":[{"counter":{"packets":0,"bytes":0}}]}},
 {"rule":{"family":"inet","table":"berth","chain":"user","handle":8,"expr":[
   {"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"10.1.0.0","len":16}}}},
   {"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":80}},
   {"drop":null}]}}]})";

TEST(UserRules, ParsesAndMatches) {
  auto rules = ParseUserChain(kListing);
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[1].text, "ip saddr 10.1.0.0/16 tcp dport 80 drop");
  EXPECT_EQ(rules[1].handle, 8u);
  Flow f{*IpAddr::Parse("10.1.2.3"), *IpAddr::Parse("10.2.0.2"), Protocol::kTcp, 80};
  ASSERT_TRUE(FirstDrop(rules, f));
  f.dport = 81;
  EXPECT_FALSE(FirstDrop(rules, f));
  f.dport = 80;
  f.protocol = Protocol::kUdp;
  EXPECT_FALSE(FirstDrop(rules, f));
  f.protocol = Protocol::kTcp;
  f.saddr = *IpAddr::Parse("10.3.0.1");
  EXPECT_FALSE(FirstDrop(rules, f));
}

TEST(Deadline, SlicesLeaveTheReserveAndNeverReachZero) {
  using std::chrono::milliseconds;
  Deadline d(milliseconds(1000));
  EXPECT_GT(d.Left(), milliseconds(900));
  EXPECT_EQ(d.Slice(milliseconds(400), milliseconds(250)), milliseconds(400));
  EXPECT_LE(d.Slice(milliseconds(900), milliseconds(250)), milliseconds(750));
  Deadline spent(milliseconds(0));
  EXPECT_EQ(spent.Left(), milliseconds(0));
  EXPECT_EQ(spent.Slice(milliseconds(400), milliseconds(250)), milliseconds(1));
}

TEST(RouteLookup, TextReadsLikeIpRouteGet) {
  RouteLookup r;
  r.dst = *IpAddr::Parse("10.96.0.5");
  r.gateway = *IpAddr::Parse("10.88.0.1");
  r.dev = "eth0";
  r.prefsrc = *IpAddr::Parse("10.88.0.2");
  r.type = "unicast";
  EXPECT_EQ(r.Text(), "10.96.0.5 via 10.88.0.1 dev eth0 src 10.88.0.2");
  r.gateway.reset();
  EXPECT_EQ(r.Text(), "10.96.0.5 dev eth0 src 10.88.0.2");
  r.type = "local";
  r.dev = "lo";
  EXPECT_EQ(r.Text(), "local 10.96.0.5 dev lo src 10.88.0.2");
}

}  // namespace
}  // namespace berth::diagnose
