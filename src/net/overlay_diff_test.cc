// The reconcile's decisions without a kernel: what is right is not written, what is wrong is
// replaced, what berth no longer wants is deleted, and a peer switching path takes its vxlan
// entries with it.
#include "net/overlay_diff.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace berth::net {
namespace {

constexpr int kVx = 7;  // the VXLAN device's ifindex
constexpr int kEth = 2;  // the underlay's

IpAddr Ip(const char* s) { return *IpAddr::Parse(s); }
Cidr Net(const char* s) { return *Cidr::ParseNetwork(s); }

Peer HostGw(const char* subnet, const char* node) {
  return {"hg", Net(subnet), Ip(node), PeerPath::kHostGw, ""};
}
Peer Vxlan(const char* subnet, const char* node, const char* mac) {
  return {"vx", Net(subnet), Ip(node), PeerPath::kVxlan, mac};
}

/// The kernel holding exactly `peers`, as ReadOverlayEntries would read it.
OverlayEntries Holding(const std::vector<Peer>& peers) {
  OverlayEntries e;
  e.vxlan_ifindex = kVx;
  for (const Peer& p : peers) {
    if (p.path == PeerPath::kHostGw) {
      e.routes.push_back({p.subnet, p.node_ip, kEth, false});
    } else {
      e.routes.push_back({p.subnet, p.subnet.Network(), kVx, true});
      e.fdb[p.vtep_mac] = p.node_ip;
      e.neighs[p.subnet.Network()] = p.vtep_mac;
    }
  }
  return e;
}

int Count(const OverlayDiff& d, Write how) {
  int n = 0;
  for (const OverlayWrite& w : d.writes) n += w.how == how;
  return n;
}

TEST(OverlayDiffTest, FromNothingAddsEachPeerRouteLast) {
  OverlayEntries none;
  none.vxlan_ifindex = kVx;
  auto d = DiffOverlay(none, {HostGw("10.244.2.0/24", "198.18.0.2"),
                              Vxlan("10.244.3.0/24", "198.18.0.3", "02:42:0A:F4:03:00")});
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->stats.added, 2);
  ASSERT_EQ(d->writes.size(), 4u);
  EXPECT_EQ(std::get<OverlayRoute>(d->writes[0].entry).ifindex, 0);  // the kernel picks
  EXPECT_EQ(std::get<FdbEntry>(d->writes[1].entry).mac, "02:42:0a:f4:03:00");
  EXPECT_EQ(std::get<NeighEntry>(d->writes[2].entry).ip, Ip("10.244.3.0"));
  // Replaced even when berth has none: the kernel may hold a non-permanent one of its own.
  EXPECT_EQ(d->writes[2].how, Write::kReplace);
  const auto& route = std::get<OverlayRoute>(d->writes[3].entry);
  EXPECT_EQ(route.via, Ip("10.244.3.0"));
  EXPECT_TRUE(route.onlink);
  EXPECT_EQ(route.ifindex, kVx);
  EXPECT_EQ(Count(*d, Write::kAdd), 3);
}

TEST(OverlayDiffTest, APeerWhoseVxlanEntriesFailedGetsNoRoute) {
  OverlayEntries none;
  none.vxlan_ifindex = kVx;
  Peer vx = Vxlan("10.244.3.0/24", "198.18.0.3", "02:42:0a:f4:03:00");
  vx.node = "b";
  Peer later = Vxlan("10.244.4.0/24", "198.18.0.4", "02:42:0a:f4:04:00");
  later.node = "c";
  auto d = DiffOverlay(none, {vx, later});
  ASSERT_TRUE(d.ok()) << d.error().message();
  std::vector<std::string> done;
  Status st = RunWrites(d->writes, [&](const OverlayWrite& w) -> Status {
    const char* kind = std::holds_alternative<OverlayRoute>(w.entry) ? "route"
                       : std::holds_alternative<FdbEntry>(w.entry)   ? "fdb"
                                                                     : "neigh";
    done.push_back(w.peer + " " + kind);
    if (w.peer == "b" && std::holds_alternative<NeighEntry>(w.entry))
      return Error::Exists("File exists");
    return Ok();
  });
  // b's route is never written; c, after it, is programmed whole.
  EXPECT_EQ(done, (std::vector<std::string>{"b fdb", "b neigh", "c fdb", "c neigh", "c route"}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("b: File exists"), std::string::npos)
      << st.error().message();
  EXPECT_NE(st.error().message().find("b: route not written"), std::string::npos)
      << st.error().message();
}

TEST(OverlayDiffTest, WhatIsRightIsNotWritten) {
  std::vector<Peer> peers = {HostGw("10.244.2.0/24", "198.18.0.2"),
                             Vxlan("10.244.3.0/24", "198.18.0.3", "02:42:0a:f4:03:00")};
  auto d = DiffOverlay(Holding(peers), peers);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->writes.empty());
  EXPECT_EQ(d->stats.unchanged, 2);
}

TEST(OverlayDiffTest, WrongPartsAreReplacedAndStaleOnesDeleted) {
  OverlayEntries now = Holding({Vxlan("10.244.3.0/24", "198.18.0.3", "02:42:0a:f4:03:00"),
                                HostGw("10.244.4.0/24", "198.18.0.4")});
  now.fdb["02:42:0a:f4:03:00"] = Ip("198.18.0.33");  // the peer's node IP moved
  now.fdb["02:42:0a:f4:09:00"] = Ip("198.18.0.9");   // a peer long gone
  now.neighs[Ip("10.244.9.0")] = "02:42:0a:f4:09:00";
  auto d = DiffOverlay(now, {Vxlan("10.244.3.0/24", "198.18.0.3", "02:42:0a:f4:03:00")});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->stats.replaced, 1);
  EXPECT_EQ(d->stats.removed, 1);
  ASSERT_EQ(d->writes.size(), 4u);
  EXPECT_EQ(d->writes[0].how, Write::kReplace);
  EXPECT_EQ(std::get<FdbEntry>(d->writes[0].entry).node_ip, Ip("198.18.0.3"));
  EXPECT_EQ(std::get<OverlayRoute>(d->writes[1].entry).dst, Net("10.244.4.0/24"));
  EXPECT_EQ(std::get<NeighEntry>(d->writes[2].entry).ip, Ip("10.244.9.0"));
  EXPECT_EQ(std::get<FdbEntry>(d->writes[3].entry).mac, "02:42:0a:f4:09:00");
  EXPECT_EQ(Count(*d, Write::kDelete), 3);
}

TEST(OverlayDiffTest, PathSwitchReplacesTheRouteAndDropsTheVxlanEntries) {
  Peer vx = Vxlan("10.244.3.0/24", "198.18.0.3", "02:42:0a:f4:03:00");
  Peer hg = HostGw("10.244.3.0/24", "198.18.0.3");
  auto to_hg = DiffOverlay(Holding({vx}), {hg});
  ASSERT_TRUE(to_hg.ok());
  EXPECT_EQ(to_hg->stats.replaced, 1);
  EXPECT_EQ(to_hg->stats.removed, 0);
  ASSERT_EQ(to_hg->writes.size(), 3u);
  EXPECT_EQ(to_hg->writes[0].how, Write::kReplace);  // the route first: no moment without one
  EXPECT_EQ(Count(*to_hg, Write::kDelete), 2);

  auto to_vx = DiffOverlay(Holding({hg}), {vx});
  ASSERT_TRUE(to_vx.ok());
  EXPECT_EQ(to_vx->stats.replaced, 1);
  ASSERT_EQ(to_vx->writes.size(), 3u);
  EXPECT_EQ(to_vx->writes[2].how, Write::kReplace);
  EXPECT_TRUE(std::get<OverlayRoute>(to_vx->writes[2].entry).onlink);
}

TEST(OverlayDiffTest, RefusesWhatCannotBeProgrammed) {
  OverlayEntries no_device;
  EXPECT_EQ(DiffOverlay(no_device, {Vxlan("10.244.3.0/24", "198.18.0.3", "02:42:0a:f4:03:00")})
                .error()
                .code(),
            Code::kInvalid);
  EXPECT_TRUE(DiffOverlay(no_device, {HostGw("10.244.3.0/24", "198.18.0.3")}).ok());
  OverlayEntries e = Holding({});
  EXPECT_FALSE(DiffOverlay(e, {Vxlan("10.244.3.0/24", "198.18.0.3", "")}).ok());
  EXPECT_FALSE(DiffOverlay(e, {HostGw("10.244.3.0/24", "198.18.0.3"),
                               HostGw("10.244.3.0/24", "198.18.0.4")})
                   .ok());
}

// ApplyChanges: the diff from what the last apply programmed writes only the changed peer's
// entries, however many peers there are.
std::vector<Peer> Many(int n) {
  std::vector<Peer> out;
  for (int i = 1; i <= n; ++i) {
    std::string subnet = "10.244." + std::to_string(i) + ".0/24";
    std::string node = "198.18." + std::to_string(i % 2) + "." + std::to_string(i);
    char mac[32];
    std::snprintf(mac, sizeof(mac), "02:42:0A:F4:%02X:00", i);
    Peer p{"n" + std::to_string(i), *Cidr::ParseNetwork(subnet), *IpAddr::Parse(node),
           i % 2 ? PeerPath::kVxlan : PeerPath::kHostGw, i % 2 ? mac : ""};
    out.push_back(p);
  }
  return out;
}

TEST(OverlayDiffTest, OneEventWritesOnlyTheChangedPeer) {
  for (int n : {5, 50}) {
    const std::vector<Peer> last = Many(n);
    const OverlayEntries now = EntriesOf(last, kVx);
    auto same = DiffOverlay(now, last);
    ASSERT_TRUE(same.ok());
    EXPECT_TRUE(same->writes.empty()) << n;
    EXPECT_EQ(same->stats.unchanged, n);

    std::vector<Peer> joined = last;
    joined.push_back(Vxlan("10.244.200.0/24", "198.18.9.9", "02:42:0a:f4:c8:00"));
    auto add = DiffOverlay(now, joined);
    ASSERT_TRUE(add.ok());
    ASSERT_EQ(add->writes.size(), 3u) << n;  // FDB entry, neighbour, route (exclusive)
    EXPECT_EQ(add->writes[2].how, Write::kAdd);
    EXPECT_EQ(add->stats.added, 1);

    std::vector<Peer> left(last.begin() + 1, last.end());  // n1, a vxlan peer, leaves
    auto rm = DiffOverlay(now, left);
    ASSERT_TRUE(rm.ok());
    EXPECT_EQ(Count(*rm, Write::kDelete), 3) << n;  // route, neighbour, FDB entry
    EXPECT_EQ(rm->writes.size(), 3u);
    EXPECT_TRUE(std::holds_alternative<OverlayRoute>(rm->writes[0].entry));  // route first
    EXPECT_EQ(rm->stats.removed, 1);

    std::vector<Peer> moved = last;  // n2 (host-gw) goes vxlan: its route is replaced
    moved[1] = Vxlan("10.244.2.0/24", "198.18.0.2", "02:42:0a:f4:02:00");
    auto mv = DiffOverlay(now, moved);
    ASSERT_TRUE(mv.ok());
    EXPECT_EQ(mv->writes.size(), 3u) << n;
    EXPECT_EQ(mv->stats.replaced, 1);
  }
}

TEST(OverlayDiffTest, EntriesOfIsWhatTheKernelHoldsAfterApply) {
  const std::vector<Peer> peers = {HostGw("10.244.2.0/24", "198.18.0.2"),
                                   Vxlan("10.244.3.0/24", "198.18.0.3", "02:42:0A:F4:03:00")};
  OverlayEntries e = EntriesOf(peers, kVx);
  EXPECT_EQ(e.fdb.at("02:42:0a:f4:03:00"), Ip("198.18.0.3"));
  EXPECT_EQ(e.neighs.at(Ip("10.244.3.0")), "02:42:0a:f4:03:00");
  ASSERT_EQ(e.routes.size(), 2u);
  EXPECT_EQ(e.routes[0].ifindex, 0);
  EXPECT_EQ(e.routes[1].ifindex, kVx);
}

}  // namespace
}  // namespace berth::net
