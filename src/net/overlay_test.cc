// The overlay against the kernel, inside tests/sandbox.sh: every test makes its own "nodes"
// (network namespaces bind-mounted under /run/netns, so ip -n / bridge -n / ip netns exec
// reach them), programs them through overlay.h and reads the result back both through
// Programmed() and through iproute2. Two tests send a real ping from one node's subnet to the
// other's, over host-gw and over vxlan.
#include "net/overlay.h"

#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sys/fd.h"
#include "sys/netns.h"
#include "sys/subprocess.h"
#include "tests/support/private_netns.h"

namespace berth::net {
namespace {

using nlohmann::json;

IpAddr Ip(const char* s) { return *IpAddr::Parse(s); }
Cidr Net(const char* s) { return *Cidr::ParseNetwork(s); }

/// Runs a command to its end; its stdout, or a failed expectation with its stderr.
std::string Exec(const std::vector<std::string>& argv, int* exit_code = nullptr) {
  sys::SubprocessSpec spec;
  spec.argv = argv;
  spec.std_out = sys::Stdio::Pipe();
  spec.std_err = sys::Stdio::Pipe();
  auto done = sys::RunToExit(std::move(spec));
  if (!done.ok()) {
    ADD_FAILURE() << argv[0] << ": " << done.error().message();
    return "";
  }
  if (exit_code) {
    *exit_code = done->exit_code;
  } else if (done->exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    ADD_FAILURE() << cmd << "exited " << done->exit_code << ": " << done->err;
  }
  return done->out;
}

json RunJson(const std::vector<std::string>& argv) {
  std::string out = Exec(argv);
  return out.empty() ? json::array() : json::parse(out);
}

/// One simulated node: a network namespace of its own for the length of a test.
struct Node {
  std::string name;  // under /run/netns
  sys::Fd fd;

  /// `ip -n NAME args...`
  std::string Ip(std::vector<std::string> args) const {
    args.insert(args.begin(), {"ip", "-n", name});
    return Exec(args);
  }
  /// Runs `fn` with the calling thread inside the node (what berthd's agent does at home).
  template <typename F>
  auto In(F fn) const {
    auto guard = sys::ScopedNetns::Enter(fd.get());
    EXPECT_TRUE(guard.ok());
    return fn();
  }
};

class OverlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!berth::testing::InPrivateNetns()) {
      GTEST_SKIP() << "creates namespaces and links: run under tests/sandbox.sh as root";
    }
    a_ = MakeNode("a");
    b_ = MakeNode("b");
  }
  void TearDown() override {
    for (Node* n : {&a_, &b_}) {
      if (!n->name.empty()) {
        EXPECT_TRUE(sys::RemoveNetns("/run/netns/" + n->name).ok());
      }
    }
  }

  static Node MakeNode(const std::string& which) {
    static int serial = 0;
    Node n;
    n.name = "ovl" + std::to_string(::getpid()) + "-" + std::to_string(++serial) + which;
    const std::string path = "/run/netns/" + n.name;
    EXPECT_TRUE(sys::CreateNetns(path).ok());
    auto fd = sys::OpenNetns(path);
    EXPECT_TRUE(fd.ok());
    if (fd.ok()) n.fd = std::move(*fd);
    n.Ip({"link", "set", "lo", "up"});
    return n;
  }

  /// A veth between the two nodes as their underlay: u0 198.18.0.1/24 in a, .2 in b.
  void JoinByVeth() {
    a_.Ip({"link", "add", "u0", "type", "veth", "peer", "name", "u0", "netns", b_.name});
    a_.Ip({"addr", "add", "198.18.0.1/24", "dev", "u0"});
    b_.Ip({"addr", "add", "198.18.0.2/24", "dev", "u0"});
    a_.Ip({"link", "set", "u0", "up"});
    b_.Ip({"link", "set", "u0", "up"});
  }
  /// Node a alone with an underlay (programming checks only): u0 with 198.18.0.1/24, a veth
  /// whose other end stays in a too (this kernel has no dummy devices).
  void LoneUnderlay() {
    a_.Ip({"link", "add", "u0", "type", "veth", "peer", "name", "u0p"});
    a_.Ip({"link", "set", "u0p", "up"});
    a_.Ip({"addr", "add", "198.18.0.1/24", "dev", "u0"});
    a_.Ip({"link", "set", "u0", "up"});
  }
  /// The node's own subnet as its container bridge holds it: `gw` on a bridge (no ports).
  static void HoldSubnet(const Node& n, const char* gw) {
    n.Ip({"link", "add", "cbr0", "type", "bridge"});
    n.Ip({"addr", "add", gw, "dev", "cbr0"});
    n.Ip({"link", "set", "cbr0", "up"});
  }

  static VxlanSpec Spec(const char* local, const char* vtep) {
    VxlanSpec s;
    s.local = Ip(local);
    s.underlay_dev = "u0";
    s.vtep_address = Cidr(Ip(vtep), 32);
    return s;
  }

  json Routes(const Node& n) {
    return RunJson({"ip", "-n", n.name, "-j", "route", "show", "proto", "0xbe"});
  }
  json Fdb(const Node& n) {
    return RunJson({"bridge", "-n", n.name, "-j", "fdb", "show", "dev", "berth.vxlan"});
  }
  json Neighs(const Node& n) {
    return RunJson({"ip", "-n", n.name, "-j", "neigh", "show", "dev", "berth.vxlan"});
  }

  Node a_, b_;
};

const char* kMacB = "02:42:0a:f4:03:00";

Peer HostGw(const char* subnet, const char* node) {
  return {"hg", Net(subnet), Ip(node), PeerPath::kHostGw, ""};
}
Peer Vxlan(const char* subnet, const char* node, const char* mac) {
  return {"vx", Net(subnet), Ip(node), PeerPath::kVxlan, mac};
}

/// Counts the route and neighbour (FDB included) notifications the kernel sends in the
/// namespace it was opened in: a change the reconcile made shows here, an entry left alone
/// does not. The kernel queues them before it acks the change, so after Apply() returns
/// everything it did is already waiting.
class ChangeCounter {
 public:
  ChangeCounter() {
    fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_NEIGH;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  }
  ~ChangeCounter() { ::close(fd_); }
  int Take() {
    int n = 0;
    char buf[16384];
    ssize_t len;
    while ((len = ::recv(fd_, buf, sizeof(buf), 0)) > 0) {
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(len));
           h = NLMSG_NEXT(h, len)) {
        ++n;
      }
    }
    return n;
  }

 private:
  int fd_ = -1;
};

TEST_F(OverlayTest, EnsureVxlanCreatesKeepsAndReplaces) {
  LoneUnderlay();
  VxlanSpec spec = Spec("198.18.0.1", "10.244.1.0");
  auto mac = a_.In([&] { return EnsureVxlan(spec); });
  ASSERT_TRUE(mac.ok()) << mac.error().message();
  EXPECT_EQ(*mac, "02:42:0a:f4:01:00");  // derived from the VTEP address, stable
  json link = RunJson({"ip", "-n", a_.name, "-j", "-d", "addr", "show", "berth.vxlan"})[0];
  const json& vx = link["linkinfo"]["info_data"];
  EXPECT_EQ(vx["id"], 1);
  EXPECT_EQ(vx["port"], 8472);
  EXPECT_EQ(vx["local"], "198.18.0.1");
  EXPECT_EQ(vx["link"], "u0");
  EXPECT_EQ(vx["learning"], false);
  EXPECT_EQ(link["mtu"], 1500 - kVxlanOverhead);
  EXPECT_NE(link["flags"].dump().find("\"UP\""), std::string::npos) << link["flags"];
  ASSERT_EQ(link["addr_info"].size(), 1u) << link["addr_info"];
  EXPECT_EQ(link["addr_info"][0]["local"], "10.244.1.0");
  EXPECT_EQ(link["addr_info"][0]["prefixlen"], 32);
  const int ifindex = link["ifindex"];

  // Again, and with another MTU: the same device, brought in line.
  ASSERT_TRUE(a_.In([&] { return EnsureVxlan(spec); }).ok());
  spec.mtu = 1400;
  ASSERT_TRUE(a_.In([&] { return EnsureVxlan(spec); }).ok());
  link = RunJson({"ip", "-n", a_.name, "-j", "-d", "link", "show", "berth.vxlan"})[0];
  EXPECT_EQ(link["ifindex"], ifindex);
  EXPECT_EQ(link["mtu"], 1400);
  // A new subnet lease: the VTEP address follows, the former one goes.
  spec.vtep_address = Cidr(Ip("10.244.7.0"), 32);
  ASSERT_TRUE(a_.In([&] { return EnsureVxlan(spec); }).ok());
  link = RunJson({"ip", "-n", a_.name, "-j", "addr", "show", "berth.vxlan"})[0];
  EXPECT_EQ(link["ifindex"], ifindex);
  ASSERT_EQ(link["addr_info"].size(), 1u) << link["addr_info"];
  EXPECT_EQ(link["addr_info"][0]["local"], "10.244.7.0");

  // Another VNI is another tunnel: the device is replaced, its MAC derived again from the
  // VTEP address (a device recreated for the same lease keeps the MAC its peers know).
  spec.vni = 42;
  auto again = a_.In([&] { return EnsureVxlan(spec); });
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(*again, "02:42:0a:f4:07:00");
  link = RunJson({"ip", "-n", a_.name, "-j", "-d", "link", "show", "berth.vxlan"})[0];
  EXPECT_NE(link["ifindex"], ifindex);
  EXPECT_EQ(link["linkinfo"]["info_data"]["id"], 42);

  ASSERT_TRUE(a_.In([&] { return DeleteVxlan("berth.vxlan"); }).ok());
  ASSERT_TRUE(a_.In([&] { return DeleteVxlan("berth.vxlan"); }).ok());  // absent: deleted
  int code = 0;
  Exec({"ip", "-n", a_.name, "link", "show", "berth.vxlan"}, &code);
  EXPECT_NE(code, 0);
}

TEST_F(OverlayTest, EnsureVxlanRefusesAnotherKindOfDeviceOfThatName) {
  LoneUnderlay();
  a_.Ip({"link", "add", "berth.vxlan", "type", "bridge"});
  auto made = a_.In([&] { return EnsureVxlan(Spec("198.18.0.1", "10.244.1.0")); });
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code(), Code::kExists);
}

TEST_F(OverlayTest, FindUnderlayAndOnLink) {
  LoneUnderlay();
  a_.Ip({"link", "set", "u0", "mtu", "9000"});
  auto u = a_.In([] { return FindUnderlay(Ip("198.18.0.1")); });
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(u->dev, "u0");
  EXPECT_EQ(u->mtu, 9000);
  auto none = a_.In([] { return FindUnderlay(Ip("198.18.7.1")); });
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), Code::kNotFound);

  EXPECT_TRUE(*a_.In([] { return OnLink("u0", Ip("198.18.0.200")); }));
  EXPECT_FALSE(*a_.In([] { return OnLink("u0", Ip("198.18.1.2")); }));
  EXPECT_FALSE(a_.In([] { return OnLink("nosuch0", Ip("198.18.0.2")); }).ok());
}

TEST_F(OverlayTest, ApplyProgramsPeersAndASecondApplyTouchesNothing) {
  LoneUnderlay();
  ASSERT_TRUE(a_.In([&] { return EnsureVxlan(Spec("198.18.0.1", "10.244.1.0")); }).ok());
  std::vector<Peer> peers = {HostGw("10.244.2.0/24", "198.18.0.2"),
                             Vxlan("10.244.3.0/24", "198.18.0.3", kMacB)};
  auto counter = a_.In([] { return std::make_unique<ChangeCounter>(); });
  auto first = a_.In([&] { return Apply("berth.vxlan", peers); });
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->added, 2);
  EXPECT_EQ(counter->Take(), 4);  // two routes, an FDB entry, a neighbour

  json routes = Routes(a_);
  ASSERT_EQ(routes.size(), 2u) << routes;
  EXPECT_EQ(routes[0]["dst"], "10.244.2.0/24");
  EXPECT_EQ(routes[0]["gateway"], "198.18.0.2");
  EXPECT_EQ(routes[0]["dev"], "u0");
  EXPECT_EQ(routes[1]["dst"], "10.244.3.0/24");
  EXPECT_EQ(routes[1]["gateway"], "10.244.3.0");
  EXPECT_EQ(routes[1]["dev"], "berth.vxlan");
  EXPECT_NE(routes[1]["flags"].dump().find("onlink"), std::string::npos) << routes[1];
  json fdb = Fdb(a_);
  ASSERT_EQ(fdb.size(), 1u) << fdb;
  EXPECT_EQ(fdb[0]["mac"], kMacB);
  EXPECT_EQ(fdb[0]["dst"], "198.18.0.3");
  EXPECT_EQ(fdb[0]["state"], "permanent");
  EXPECT_NE(fdb[0]["flags"].dump().find("self"), std::string::npos) << fdb[0];
  json neighs = Neighs(a_);
  ASSERT_EQ(neighs.size(), 1u) << neighs;
  EXPECT_EQ(neighs[0]["dst"], "10.244.3.0");
  EXPECT_EQ(neighs[0]["lladdr"], kMacB);
  EXPECT_EQ(neighs[0]["state"][0], "PERMANENT");

  auto programmed = a_.In([] { return Programmed("berth.vxlan"); });
  ASSERT_TRUE(programmed.ok()) << programmed.error().message();
  ASSERT_EQ(programmed->size(), 2u);
  EXPECT_EQ((*programmed)[0].path, PeerPath::kHostGw);
  EXPECT_EQ((*programmed)[0].subnet, Net("10.244.2.0/24"));
  EXPECT_EQ((*programmed)[0].node_ip, Ip("198.18.0.2"));
  EXPECT_EQ((*programmed)[1].path, PeerPath::kVxlan);
  EXPECT_EQ((*programmed)[1].subnet, Net("10.244.3.0/24"));
  EXPECT_EQ((*programmed)[1].node_ip, Ip("198.18.0.3"));
  EXPECT_EQ((*programmed)[1].vtep_mac, kMacB);

  // An agent restart: the same peers again. Nothing is written, so nothing blips.
  auto second = a_.In([&] { return Apply("berth.vxlan", peers); });
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->unchanged, 2);
  EXPECT_EQ(second->added + second->replaced + second->removed, 0);
  EXPECT_EQ(counter->Take(), 0);
  EXPECT_EQ(Routes(a_), routes);
  EXPECT_EQ(Fdb(a_), fdb);
  EXPECT_EQ(Neighs(a_), neighs);
}

TEST_F(OverlayTest, WrongEntriesAreReplacedInPlace) {
  LoneUnderlay();
  ASSERT_TRUE(a_.In([&] { return EnsureVxlan(Spec("198.18.0.1", "10.244.1.0")); }).ok());
  std::vector<Peer> peers = {Vxlan("10.244.3.0/24", "198.18.0.3", kMacB)};
  ASSERT_TRUE(a_.In([&] { return Apply("berth.vxlan", peers); }).ok());
  a_.Ip({"neigh", "replace", "10.244.3.0", "lladdr", "02:42:0a:f4:03:99", "dev", "berth.vxlan",
         "nud", "permanent"});
  Exec({"bridge", "-n", a_.name, "fdb", "replace", kMacB, "dev", "berth.vxlan", "dst",
       "198.18.0.77", "self", "permanent"});
  auto fixed = a_.In([&] { return Apply("berth.vxlan", peers); });
  ASSERT_TRUE(fixed.ok()) << fixed.error().message();
  EXPECT_EQ(fixed->replaced, 1);
  EXPECT_EQ(Neighs(a_)[0]["lladdr"], kMacB);
  json fdb = Fdb(a_);
  ASSERT_EQ(fdb.size(), 1u) << fdb;
  EXPECT_EQ(fdb[0]["dst"], "198.18.0.3");
}

TEST_F(OverlayTest, AKernelNeighbourForTheVtepAddressIsTakenOver) {
  LoneUnderlay();
  ASSERT_TRUE(a_.In([&] { return EnsureVxlan(Spec("198.18.0.1", "10.244.1.0")); }).ok());
  // What a lookup before berth wrote its entry leaves: not permanent, so not berth's.
  a_.Ip({"neigh", "add", "10.244.3.0", "lladdr", "02:42:0a:f4:03:99", "dev", "berth.vxlan",
         "nud", "stale"});
  std::vector<Peer> peers = {Vxlan("10.244.3.0/24", "198.18.0.3", kMacB)};
  auto applied = a_.In([&] { return Apply("berth.vxlan", peers); });
  ASSERT_TRUE(applied.ok()) << applied.error().message();
  json neighs = Neighs(a_);
  ASSERT_EQ(neighs.size(), 1u) << neighs;
  EXPECT_EQ(neighs[0]["lladdr"], kMacB);
  EXPECT_EQ(neighs[0]["state"][0], "PERMANENT");
  ASSERT_EQ(Routes(a_).size(), 1u);
  auto again = a_.In([&] { return Apply("berth.vxlan", peers); });
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->unchanged, 1);
}

TEST_F(OverlayTest, ApplyChangesWritesOnlyTheChangedPeer) {
  LoneUnderlay();
  ASSERT_TRUE(a_.In([&] { return EnsureVxlan(Spec("198.18.0.1", "10.244.1.0")); }).ok());
  const char* kMacC = "02:42:0a:f4:04:00";
  std::vector<Peer> two = {HostGw("10.244.2.0/24", "198.18.0.2"),
                           Vxlan("10.244.3.0/24", "198.18.0.3", kMacB)};
  ASSERT_TRUE(a_.In([&] { return Apply("berth.vxlan", two); }).ok());
  auto counter = a_.In([] { return std::make_unique<ChangeCounter>(); });
  // A node joins: its FDB entry, neighbour and route, nothing of the others.
  std::vector<Peer> three = two;
  three.push_back(Vxlan("10.244.4.0/24", "198.18.0.4", kMacC));
  auto joined = a_.In([&] { return ApplyChanges("berth.vxlan", two, three); });
  ASSERT_TRUE(joined.ok()) << joined.error().message();
  EXPECT_EQ(joined->added, 1);
  EXPECT_EQ(joined->unchanged, 2);
  EXPECT_EQ(counter->Take(), 3);
  // The kernel holds what a full reconcile wants: it writes nothing.
  auto check = a_.In([&] { return Apply("berth.vxlan", three); });
  ASSERT_TRUE(check.ok()) << check.error().message();
  EXPECT_EQ(check->unchanged, 3);
  EXPECT_EQ(counter->Take(), 0);
  // A node leaves: its three entries go.
  std::vector<Peer> left = {three[0], three[2]};
  auto gone = a_.In([&] { return ApplyChanges("berth.vxlan", three, left); });
  ASSERT_TRUE(gone.ok()) << gone.error().message();
  EXPECT_EQ(gone->removed, 1);
  const int notes = counter->Take();  // three deletions; the kernel announces one twice
  EXPECT_GE(notes, 3);
  EXPECT_LE(notes, 4);
  EXPECT_EQ(Routes(a_).size(), 2u);
  ASSERT_EQ(Fdb(a_).size(), 1u);
  EXPECT_EQ(Fdb(a_)[0]["mac"], kMacC);
  // Nothing changed: nothing written.
  auto same = a_.In([&] { return ApplyChanges("berth.vxlan", left, left); });
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(counter->Take(), 0);
  // A new peer whose subnet has somebody else's route: refused, that route left alone.
  a_.Ip({"route", "add", "10.244.5.0/24", "via", "198.18.0.9"});
  std::vector<Peer> taken = left;
  taken.push_back(HostGw("10.244.5.0/24", "198.18.0.5"));
  EXPECT_FALSE(a_.In([&] { return ApplyChanges("berth.vxlan", left, taken); }).ok());
  EXPECT_NE(Exec({"ip", "-n", a_.name, "route", "show", "10.244.5.0/24"}).find("198.18.0.9"),
            std::string::npos);
}

TEST_F(OverlayTest, RemovedPeerTakesItsEntriesWithIt) {
  LoneUnderlay();
  ASSERT_TRUE(a_.In([&] { return EnsureVxlan(Spec("198.18.0.1", "10.244.1.0")); }).ok());
  Peer hg = HostGw("10.244.2.0/24", "198.18.0.2");
  ASSERT_TRUE(
      a_.In([&] { return Apply("berth.vxlan", {hg, Vxlan("10.244.3.0/24", "198.18.0.3", kMacB)}); })
          .ok());
  auto after = a_.In([&] { return Apply("berth.vxlan", {hg}); });
  ASSERT_TRUE(after.ok()) << after.error().message();
  EXPECT_EQ(after->removed, 1);
  EXPECT_EQ(after->unchanged, 1);
  json routes = Routes(a_);
  ASSERT_EQ(routes.size(), 1u) << routes;
  EXPECT_EQ(routes[0]["dst"], "10.244.2.0/24");
  EXPECT_TRUE(Fdb(a_).empty()) << Fdb(a_);
  EXPECT_TRUE(Neighs(a_).empty()) << Neighs(a_);
}

TEST_F(OverlayTest, PeerSwitchesPathBothWays) {
  LoneUnderlay();
  ASSERT_TRUE(a_.In([&] { return EnsureVxlan(Spec("198.18.0.1", "10.244.1.0")); }).ok());
  Peer hg = HostGw("10.244.3.0/24", "198.18.0.3");
  Peer vx = Vxlan("10.244.3.0/24", "198.18.0.3", kMacB);
  ASSERT_TRUE(a_.In([&] { return Apply("berth.vxlan", {hg}); }).ok());
  auto to_vx = a_.In([&] { return Apply("berth.vxlan", {vx}); });
  ASSERT_TRUE(to_vx.ok()) << to_vx.error().message();
  EXPECT_EQ(to_vx->replaced, 1);
  json routes = Routes(a_);
  ASSERT_EQ(routes.size(), 1u) << routes;
  EXPECT_EQ(routes[0]["dev"], "berth.vxlan");
  EXPECT_EQ(routes[0]["gateway"], "10.244.3.0");
  EXPECT_EQ(Fdb(a_).size(), 1u);
  auto programmed = a_.In([] { return Programmed("berth.vxlan"); });
  ASSERT_TRUE(programmed.ok());
  ASSERT_EQ(programmed->size(), 1u);
  EXPECT_EQ((*programmed)[0].path, PeerPath::kVxlan);

  auto to_hg = a_.In([&] { return Apply("berth.vxlan", {hg}); });
  ASSERT_TRUE(to_hg.ok()) << to_hg.error().message();
  EXPECT_EQ(to_hg->replaced, 1);
  routes = Routes(a_);
  ASSERT_EQ(routes.size(), 1u) << routes;
  EXPECT_EQ(routes[0]["dev"], "u0");
  EXPECT_EQ(routes[0]["gateway"], "198.18.0.3");
  EXPECT_TRUE(Fdb(a_).empty());
  EXPECT_TRUE(Neighs(a_).empty());
}

TEST_F(OverlayTest, RoutesThatAreNotBerthsAreNeverTouched) {
  LoneUnderlay();
  a_.Ip({"route", "add", "10.244.9.0/24", "via", "198.18.0.9"});
  a_.Ip({"route", "add", "10.244.8.0/24", "via", "198.18.0.8", "proto", "static"});
  // No VXLAN device at all: host-gw only.
  auto none = a_.In([] { return Apply("berth.vxlan", {}); });
  ASSERT_TRUE(none.ok()) << none.error().message();
  EXPECT_EQ(none->removed, 0);
  // A peer whose subnet already has somebody else's route: refused, and that route stays.
  auto clash = a_.In([] { return Apply("berth.vxlan", {HostGw("10.244.8.0/24", "198.18.0.2"),
                                                       HostGw("10.244.2.0/24", "198.18.0.2")}); });
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().message().find("10.244.8.0/24"), std::string::npos)
      << clash.error().message();
  EXPECT_EQ(Routes(a_).size(), 1u);  // the other peer was still programmed
  auto empty = a_.In([] { return Apply("berth.vxlan", {}); });
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->removed, 1);
  std::string all = a_.Ip({"route", "show"});
  EXPECT_NE(all.find("10.244.9.0/24 via 198.18.0.9"), std::string::npos) << all;
  EXPECT_NE(all.find("10.244.8.0/24 via 198.18.0.8"), std::string::npos) << all;
  EXPECT_TRUE(Routes(a_).empty());
}

/// ping from a's subnet address to b's, from inside node a.
int PingFromA(const Node& a, const char* from, const char* to) {
  int code = -1;
  Exec({"ip", "netns", "exec", a.name, "ping", "-c1", "-W1", "-I", from, to}, &code);
  return code;
}

TEST_F(OverlayTest, PacketsCrossHostGw) {
  JoinByVeth();
  HoldSubnet(a_, "10.244.1.1/24");
  HoldSubnet(b_, "10.244.2.1/24");
  EXPECT_NE(PingFromA(a_, "10.244.1.1", "10.244.2.1"), 0);  // no route yet
  ASSERT_TRUE(a_.In([] { return Apply("", {HostGw("10.244.2.0/24", "198.18.0.2")}); }).ok());
  ASSERT_TRUE(b_.In([] { return Apply("", {HostGw("10.244.1.0/24", "198.18.0.1")}); }).ok());
  EXPECT_EQ(PingFromA(a_, "10.244.1.1", "10.244.2.1"), 0);
}

TEST_F(OverlayTest, PacketsCrossVxlan) {
  JoinByVeth();
  HoldSubnet(a_, "10.244.1.1/24");
  HoldSubnet(b_, "10.244.2.1/24");
  auto mac_a = a_.In([] { return EnsureVxlan(Spec("198.18.0.1", "10.244.1.0")); });
  auto mac_b = b_.In([] { return EnsureVxlan(Spec("198.18.0.2", "10.244.2.0")); });
  ASSERT_TRUE(mac_a.ok()) << mac_a.error().message();
  ASSERT_TRUE(mac_b.ok()) << mac_b.error().message();
  EXPECT_NE(PingFromA(a_, "10.244.1.1", "10.244.2.1"), 0);  // no route yet
  auto on_a = a_.In([&] {
    return Apply("berth.vxlan", {Vxlan("10.244.2.0/24", "198.18.0.2", mac_b->c_str())});
  });
  auto on_b = b_.In([&] {
    return Apply("berth.vxlan", {Vxlan("10.244.1.0/24", "198.18.0.1", mac_a->c_str())});
  });
  ASSERT_TRUE(on_a.ok()) << on_a.error().message();
  ASSERT_TRUE(on_b.ok()) << on_b.error().message();
  EXPECT_EQ(PingFromA(a_, "10.244.1.1", "10.244.2.1"), 0);
  // It went through the tunnel: b's VXLAN device received it.
  json stats = RunJson({"ip", "-n", b_.name, "-j", "-s", "link", "show", "berth.vxlan"});
  EXPECT_GE(stats[0]["stats64"]["rx"]["packets"].get<int>(), 1) << stats;
}

}  // namespace
}  // namespace berth::net
