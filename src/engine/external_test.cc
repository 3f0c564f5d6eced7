// External attachments against FakeLinkOps and a throwaway state root: no root, no kernel.
// The "network namespace" is a plain file (the engine only opens it and hands the fd to LinkOps).
#include "engine/external.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

#include "core/ids.h"
#include "engine/engine.h"
#include "sys/proc.h"
#include "tests/fakes/fake_link_ops.h"

namespace berth::engine {
namespace {

using net::FakeLinkOps;

// Every LinkOps the engine asks for forwards to one fake, so a test sees all calls.
class SharedOps : public net::LinkOps {
 public:
  explicit SharedOps(FakeLinkOps& f) : f_(f) {}
  Status SetSysctl(net::Where w, const std::string& k, const std::string& v) override {
    return f_.SetSysctl(w, k, v);
  }
  Result<bool> EnsureBridge(const net::EnsureBridgeOp& op) override { return f_.EnsureBridge(op); }
  Status CreateVeth(const net::CreateVethOp& op) override { return f_.CreateVeth(op); }
  Status AddAddress(const net::AddAddressOp& op) override { return f_.AddAddress(op); }
  Status AddRoute(const net::AddRouteOp& op) override { return f_.AddRoute(op); }
  Status LinkUp(const net::LinkUpOp& op) override { return f_.LinkUp(op); }
  Status SetHairpin(const net::HairpinOp& op) override { return f_.SetHairpin(op); }
  Status ReleaseLink(const net::ReleaseLinkOp& op) override { return f_.ReleaseLink(op); }
  Status DeleteLink(const net::DeleteLinkOp& op) override { return f_.DeleteLink(op); }
  Result<std::optional<int>> Ifindex(net::Where w, const std::string& n) override {
    return f_.Ifindex(w, n);
  }
  Result<std::vector<Cidr>> HostRoutes() override { return f_.HostRoutes(); }
  Result<net::NamespaceView> Observe(net::Where w) override { return f_.Observe(w); }
  Result<std::vector<net::RouteInfo>> Routes(net::Where w) override { return f_.Routes(w); }
  Result<std::optional<net::LinkInfo>> GetLinkInfo(net::Where w, const std::string& n) override {
    return f_.GetLinkInfo(w, n);
  }
  Result<std::optional<std::string>> Mac(net::Where w, const std::string& n) override {
    return f_.Mac(w, n);
  }

 private:
  FakeLinkOps& f_;
};

// Records every delta instead of touching nftables.
class RecordingFirewall : public firewall::Firewall {
 public:
  RecordingFirewall(std::vector<firewall::Delta>& log, std::vector<std::string>& missing)
      : log_(log), missing_(missing) {}
  Status Apply(const firewall::Delta& d, const firewall::StateFn&) override {
    log_.push_back(d);
    return Ok();
  }
  Result<std::vector<std::string>> Missing(const firewall::Delta&) override { return missing_; }
  Result<std::vector<std::string>> Sync(const firewall::State&) override {
    return std::vector<std::string>();
  }
  Result<std::vector<std::string>> SyncIfChanged(const firewall::StateFn&) override {
    return std::vector<std::string>();
  }
  Result<std::vector<std::string>> Bridges() override { return std::vector<std::string>(); }

 private:
  std::vector<firewall::Delta>& log_;
  std::vector<std::string>& missing_;
};

class ExternalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-external-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    netns_ = dir_ + "/netns-a";
    std::ofstream(netns_) << "";
    Wiring w;  // no notifier: never start a berthd from a unit test
    w.links = [this](int) -> Result<std::unique_ptr<net::LinkOps>> {
      return std::unique_ptr<net::LinkOps>(new SharedOps(fake_));
    };
    w.firewall = [this]() -> Result<std::unique_ptr<firewall::Firewall>> {
      return std::unique_ptr<firewall::Firewall>(new RecordingFirewall(deltas_, missing_rules_));
    };
    auto e = Engine::Open(dir_ + "/root", std::move(w));
    ASSERT_TRUE(e.ok()) << e.error().message();
    engine_ = std::move(*e);
  }
  void TearDown() override {
    engine_.reset();
    (void)sys::RemoveTree(dir_);
  }

  static NetworkCreateRequest Net(const std::string& name, const char* subnet = nullptr) {
    NetworkCreateRequest n;
    n.name = name;
    if (subnet) n.subnet = subnet;
    return n;
  }
  ExternalAttachRequest Req(const std::string& id, const std::string& network = "cninet") {
    ExternalAttachRequest r;
    r.network = network;
    r.key = {id, "eth0"};
    r.netns_path = netns_;
    return r;
  }
  int Count(const std::string& prefix) const {
    int n = 0;
    for (const auto& c : fake_.calls) n += c.rfind(prefix, 0) == 0;
    return n;
  }
  size_t Containers() { return engine_->store().ListContainers()->size(); }

  std::string dir_, netns_;
  FakeLinkOps fake_;
  std::vector<firewall::Delta> deltas_;
  std::vector<std::string> missing_rules_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(ExternalTest, FirstAttachCreatesTheNetworkAndACniContainer) {
  auto req = Req("c0ffee0000000000000000001");
  req.name = "web-1";
  auto a = engine_->AttachExternal(req, Net("cninet", "10.77.0.0/24"));
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_TRUE(a->network_created);
  EXPECT_EQ(a->network.subnet.ToString(), "10.77.0.0/24");
  EXPECT_EQ(a->endpoint.ip.ToString(), "10.77.0.2");
  EXPECT_EQ(a->endpoint.mac, "02:42:0a:4d:00:02");
  EXPECT_TRUE(a->default_route);
  EXPECT_EQ(Count("ctr: route default via 10.77.0.1"), 1);
  auto c = engine_->store().GetContainer("c0ffee0000000000000000001");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->name, "web-1");
  EXPECT_TRUE((*c)->is_cni());
  EXPECT_EQ((*c)->netns_path, netns_);
  auto nets = engine_->InspectNetwork("cninet");
  ASSERT_TRUE(nets.ok());
  ASSERT_EQ(nets->endpoints.size(), 1u);
  EXPECT_EQ(nets->endpoints[0].second, "web-1");

  // The second attachment joins the existing network; a default route there already is kept.
  fake_.container_view.routes.push_back({std::nullopt, *IpAddr::Parse("10.9.9.1"), 7});
  auto req2 = Req("c0ffee0000000000000000002");
  req2.name = "web-1";  // taken: falls back to a name from the id
  auto b = engine_->AttachExternal(req2, Net("cninet"));
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_FALSE(b->network_created);
  EXPECT_EQ(b->endpoint.ip.ToString(), "10.77.0.3");
  EXPECT_FALSE(b->default_route);
  EXPECT_EQ(Count("ctr: route default"), 1);
  EXPECT_EQ((*engine_->store().GetContainer("c0ffee0000000000000000002"))->name,
            "cni-c0ffee000000");
}

TEST_F(ExternalTest, PublishedPortsGoToTheFirewallAndComeBackOnDetach) {
  auto req = Req("p1");
  PortMapping p;
  p.host_port = 8080;
  p.container_port = 80;
  req.ports = {p};
  auto a = engine_->AttachExternal(req, Net("cninet", "10.77.0.0/24"));
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_EQ(a->endpoint.ports.size(), 1u);
  ASSERT_FALSE(deltas_.empty());
  ASSERT_EQ(deltas_.back().add_ports.size(), 1u);
  EXPECT_EQ(deltas_.back().add_ports[0].host_port, 8080);
  EXPECT_EQ(deltas_.back().add_ports[0].container_ip.ToString(), "10.77.0.2");
  // The same host port twice is a conflict, and nothing of the second attach stays.
  auto again = Req("p2");
  again.ports = {p};
  auto clash = engine_->AttachExternal(again, Net("cninet"));
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code(), Code::kInUse) << clash.error().message();
  EXPECT_FALSE(engine_->store().GetContainer("p2")->has_value());
  ASSERT_TRUE(engine_->DetachExternal("cninet", {"p1", "eth0"}).ok());
  ASSERT_EQ(deltas_.back().remove_ports.size(), 1u);
  EXPECT_TRUE(engine_->store().AllPorts()->empty());
}

TEST_F(ExternalTest, RangeStaticAddressMacAndRoutes) {
  auto req = Req("a1");
  req.range = {*IpAddr::Parse("10.77.0.10"), *IpAddr::Parse("10.77.0.11")};
  req.mac = "C2:00:00:00:00:AA";
  req.routes.push_back({*Cidr::ParseNetwork("10.200.0.0/16"), std::nullopt});
  auto a = engine_->AttachExternal(req, Net("cninet", "10.77.0.0/24"));
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->endpoint.ip.ToString(), "10.77.0.10");
  EXPECT_EQ(a->endpoint.mac, "c2:00:00:00:00:aa");
  ASSERT_EQ(a->routes.size(), 1u);
  EXPECT_EQ(a->routes[0].via->ToString(), "10.77.0.1");
  EXPECT_EQ(Count("ctr: route 10.200.0.0/16 via 10.77.0.1"), 1);

  auto r2 = Req("a2");
  r2.range = req.range;
  ASSERT_TRUE(engine_->AttachExternal(r2, Net("cninet")).ok());
  auto r3 = Req("a3");
  r3.range = req.range;
  auto full = engine_->AttachExternal(r3, Net("cninet"));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), Code::kUnavailable);
  EXPECT_FALSE(engine_->store().GetContainer("a3")->has_value());
  EXPECT_EQ(engine_->ExternalReady(Net("cninet"), req.range).error().code(), Code::kUnavailable);
  EXPECT_TRUE(engine_->ExternalReady(Net("cninet"), std::nullopt).ok());

  auto r4 = Req("a4");
  r4.ip = *IpAddr::Parse("10.77.0.10");  // taken by a1
  auto dup = engine_->AttachExternal(r4, Net("cninet"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), Code::kExists);
  auto r5 = Req("a5");
  r5.mac = "01:00:5e:00:00:01";
  EXPECT_EQ(engine_->AttachExternal(r5, Net("cninet")).error().code(), Code::kInvalid);
}

TEST_F(ExternalTest, AFailedAttachLeavesNothingNotEvenTheNewNetwork) {
  fake_.fail_on = "ctr: route";
  auto a = engine_->AttachExternal(Req("x1"), Net("cninet", "10.77.0.0/24"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message().find("injected failure"), std::string::npos);
  EXPECT_EQ(Containers(), 0u);
  EXPECT_FALSE(engine_->store().GetNetworkByName("cninet")->has_value());
  EXPECT_EQ(fake_.links.size(), 0u) << "veth and bridge deleted";
  EXPECT_EQ(Count("del veth"), 1);
}

TEST_F(ExternalTest, AnExistingNetworkMustMatchTheConfiguration) {
  ASSERT_TRUE(engine_->AttachExternal(Req("x1"), Net("cninet", "10.77.0.0/24")).ok());
  auto other = engine_->AttachExternal(Req("x2"), Net("cninet", "10.78.0.0/24"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), Code::kInvalid);
  EXPECT_NE(other.error().message().find("exists with subnet 10.77.0.0/24"), std::string::npos);
  NetworkCreateRequest mtu = Net("cninet");
  mtu.mtu = 9000;
  EXPECT_EQ(engine_->AttachExternal(Req("x3"), mtu).error().code(), Code::kInvalid);
  EXPECT_EQ(Containers(), 1u);
  // The same container twice on one network is refused; a second network is fine.
  EXPECT_EQ(engine_->AttachExternal(Req("x1"), Net("cninet")).error().code(), Code::kExists);
  auto second = Req("x1", "other");
  second.key.ifname = "eth1";
  ASSERT_TRUE(engine_->AttachExternal(second, Net("other", "10.79.0.0/24")).ok());
  EXPECT_EQ(engine_->store().EndpointsOfContainer("x1")->size(), 2u);
}

TEST_F(ExternalTest, DetachIsIdempotentAndDropsTheRecordWithTheLastEndpoint) {
  ASSERT_TRUE(engine_->AttachExternal(Req("d1"), Net("cninet", "10.77.0.0/24")).ok());
  auto second = Req("d1", "other");
  second.key.ifname = "eth1";
  ASSERT_TRUE(engine_->AttachExternal(second, Net("other", "10.79.0.0/24")).ok());
  ASSERT_TRUE(engine_->DetachExternal("cninet", {"d1", "eth0"}).ok());
  EXPECT_EQ(engine_->store().EndpointsOfContainer("d1")->size(), 1u);
  ASSERT_TRUE(engine_->DetachExternal("cninet", {"d1", "eth0"}).ok());  // again: fine
  ASSERT_TRUE(engine_->DetachExternal("other", {"d1", "wrong0"}).ok());  // not ours: left
  EXPECT_EQ(engine_->store().EndpointsOfContainer("d1")->size(), 1u);
  ASSERT_TRUE(engine_->DetachExternal("other", {"d1", "eth1"}).ok());
  EXPECT_EQ(Containers(), 0u);
  EXPECT_TRUE(engine_->DetachExternal("nosuchnet", {"never", "eth0"}).ok());
  // The network stays (like `berth network create`), its address is free again.
  auto again = engine_->AttachExternal(Req("d2"), Net("cninet"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->endpoint.ip.ToString(), "10.77.0.3") << "the cursor moves on";

  Container own;
  own.id = NewId();
  own.name = "mine";
  own.mode = "bridge";
  own.netns_path = "/x";
  own.netns_owner_id = own.id;
  ASSERT_TRUE(engine_->store().InsertContainer(own).ok());
  EXPECT_EQ(engine_->DetachExternal("cninet", {own.id, "eth0"}).error().code(), Code::kInvalid);
}

TEST_F(ExternalTest, CollectRemovesWhatIsNotKeptAndNeverBerthsOwn) {
  for (const char* id : {"g1", "g2", "g3"}) {
    ASSERT_TRUE(engine_->AttachExternal(Req(id), Net("cninet", "10.77.0.0/24")).ok());
  }
  auto removed = engine_->CollectExternal("cninet", {{"g1", "eth0"}, {"g3", "eth9"}});
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_EQ(removed->size(), 2u);
  EXPECT_TRUE(engine_->store().GetContainer("g1")->has_value());
  EXPECT_FALSE(engine_->store().GetContainer("g2")->has_value());
  EXPECT_FALSE(engine_->store().GetContainer("g3")->has_value());
  EXPECT_TRUE(engine_->CollectExternal("nosuchnet", {})->empty());
}

TEST_F(ExternalTest, CheckNamesWhatIsMissing) {
  auto a = engine_->AttachExternal(Req("k1"), Net("cninet", "10.77.0.0/24"));
  ASSERT_TRUE(a.ok());
  const Endpoint& ep = a->endpoint;
  net::LinkInfo eth0{5, "eth0", "veth", 0, "", 9, true, 1500, ep.mac};
  fake_.container_view.links = {eth0};
  fake_.container_view.addrs = {{5, Cidr(ep.ip, 24)}};
  fake_.container_view.routes = {{std::nullopt, a->network.gateway, 5}};
  net::LinkInfo br{3, a->network.bridge, "bridge", 0, "", 0, true, 1500, "aa:bb:cc:dd:ee:ff"};
  net::LinkInfo veth{9, ep.host_veth, "veth", 3, a->network.bridge, 5, true, 1500, "x"};
  fake_.host_view.links = {br, veth};
  fake_.host_view.addrs = {{3, Cidr(a->network.gateway, 24)}};

  ExternalCheckRequest chk;
  chk.network = "cninet";
  chk.key = {"k1", "eth0"};
  chk.netns_path = netns_;
  chk.address = Cidr(ep.ip, 24);
  chk.routes = {{std::nullopt, std::nullopt}};
  Status ok = engine_->CheckExternal(chk);
  ASSERT_TRUE(ok.ok()) << ok.error().message();

  auto expect_error = [&](const std::string& text) {
    Status st = engine_->CheckExternal(chk);
    ASSERT_FALSE(st.ok()) << text;
    EXPECT_NE(st.error().message().find(text), std::string::npos) << st.error().message();
  };
  fake_.container_view.routes.clear();
  expect_error("route default via 10.77.0.1 is missing");
  fake_.container_view.routes = {{std::nullopt, a->network.gateway, 5}};
  fake_.container_view.addrs.clear();
  expect_error("address 10.77.0.2/24 is missing from eth0");
  fake_.container_view.addrs = {{5, Cidr(ep.ip, 24)}};
  fake_.host_view.links[1].master = "br-other";
  expect_error("is not a port of bridge");
  fake_.host_view.links[1].master = a->network.bridge;
  fake_.host_view.addrs.clear();
  expect_error("gateway address 10.77.0.1/24 is missing");
  fake_.host_view.addrs = {{3, Cidr(a->network.gateway, 24)}};
  missing_rules_ = {"masq_subnets: 10.77.0.0/24"};
  expect_error("firewall rules are missing (masq_subnets: 10.77.0.0/24)");
  missing_rules_.clear();
  chk.mac = "c2:00:00:00:00:01";  // a later plugin (tuning) changed it: CHECK follows the result
  expect_error("has MAC " + ep.mac + ", expected c2:00:00:00:00:01");
  chk.mac.reset();
  chk.address = *Cidr::ParseInterface("10.77.0.9/24");
  expect_error("the runtime was told address 10.77.0.9/24");
  chk.key.container_id = "nope";
  expect_error("berth has no such attachment");
}

TEST_F(ExternalTest, ReadinessOfANetworkNotCreatedYet) {
  EXPECT_TRUE(engine_->ExternalReady(Net("fresh", "10.90.0.0/24"), std::nullopt).ok());
  EXPECT_TRUE(engine_->ExternalReady(Net("fresh"), std::nullopt).ok());
  // Overlapping the default network's 172.17.0.0/16: the first ADD could not create it.
  auto st = engine_->ExternalReady(Net("fresh", "172.17.5.0/24"), std::nullopt);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace berth::engine
