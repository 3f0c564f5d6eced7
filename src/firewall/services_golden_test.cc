// Golden test of a service's nftables (ruleset.h ServiceRules): the chains and map elements of
// a service with backends, with none, and a backend leaving, in JSON (what berth runs) and as
// nft commands (explain). To accept an intended change, run with BERTH_UPDATE_GOLDEN=1 and
// review the diff of testdata/services.golden.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "firewall/ruleset.h"
#include "firewall/golden_file.h"

namespace berth::firewall {
namespace {

IpAddr Ip(const char* s) { return *IpAddr::Parse(s); }

ServiceRules Web(std::vector<IpAddr> backends) {
  return {"4c3e2795e9b0aaaa", Ip("10.96.0.1"),
          {{80, 8080, Protocol::kTcp}, {53, 5353, Protocol::kUdp}}, std::move(backends), true};
}

std::string Compact(const std::string& json) { return nlohmann::json::parse(json).dump() + "\n"; }

std::string Render() {
  ServiceRules three = Web({Ip("172.18.0.2"), Ip("172.18.0.3"), Ip("172.18.0.4")});
  ServiceRules two = Web({Ip("172.18.0.2"), Ip("172.18.0.4")});
  three.publish = {{30080, 80, Protocol::kTcp}};
  ServiceRules none = Web({});
  ServiceRules random = three;
  random.round_robin = false;
  Delta create, leave, empty, remove;
  create.add_services = {three};
  leave.remove_services = {three};
  leave.add_services = {two};
  empty.remove_services = {two};
  empty.add_services = {none};
  remove.remove_services = {none};
  std::string out;
  out += "== delta.create\n" + Compact(RenderDelta(create));
  out += "== delta.backend_leaves\n" + Compact(RenderDelta(leave));
  out += "== delta.last_backend_leaves\n" + Compact(RenderDelta(empty));
  out += "== delta.remove\n" + Compact(RenderDelta(remove));
  out += "== explain.create\n" + ExplainDelta(create);
  out += "== explain.backend_leaves\n" + ExplainDelta(leave);
  out += "== explain.random\n" + ExplainServices({random});
  out += "== explain.none\n" + ExplainServices({none});
  State s;
  s.services = {two};
  out += "== state.content\n" + Compact(RenderState(s, {"svc-old-tcp80", "forward"}).content);
  // Client-IP affinity: a dynamic set per backend, checked first, filled by the backend chain.
  ServiceRules sticky = Web({Ip("172.18.0.2"), Ip("172.18.0.3")});
  sticky.ports.pop_back();
  sticky.round_robin = false;
  sticky.affinity = 10800;
  ServiceRules sticky_one = sticky;
  sticky_one.backends = {Ip("172.18.0.3")};
  Delta sticky_create, sticky_leave;
  sticky_create.add_services = {sticky};
  sticky_leave.remove_services = {sticky};
  sticky_leave.add_services = {sticky_one};
  out += "== delta.affinity_create\n" + Compact(RenderDelta(sticky_create));
  out += "== delta.affinity_backend_leaves\n" + Compact(RenderDelta(sticky_leave));
  out += "== explain.affinity_create\n" + ExplainDelta(sticky_create);
  out += "== explain.affinity_backend_leaves\n" + ExplainDelta(sticky_leave);
  State st;
  st.services = {sticky};
  StateBatches sticky_state = RenderState(st, {}, {"aff-old-tcp80-0", "bridges"});
  out += "== state.affinity_create\n" + Compact(sticky_state.create);
  out += "== state.affinity_content\n" + Compact(sticky_state.content);
  out += "== state.affinity_text\n" + ExplainState(st);
  return out;
}

TEST(ServicesGolden, RenderingsAreUnchanged) {
  testing::ExpectGolden("services.golden", Render());
}

TEST(Services, ChainDeltaRefillsKeptChainsAndDeletesGoneOnes) {
  ServiceRules three = Web({Ip("172.18.0.2"), Ip("172.18.0.3"), Ip("172.18.0.4")});
  ServiceRules one = Web({Ip("172.18.0.2")});
  ChainDelta d = ServiceChainDelta({three}, {one});
  EXPECT_TRUE(d.add.empty());
  // Per port: the dispatch chain and backend 0 stay (refilled), backends 1 and 2 go.
  ASSERT_EQ(d.refill.size(), 4u);
  ASSERT_EQ(d.remove.size(), 4u);
  EXPECT_EQ(d.remove[0], "svc-4c3e2795e9b0-tcp80-1");
}

ServiceRules Sticky(std::vector<IpAddr> backends) {
  ServiceRules s = Web(std::move(backends));
  s.affinity = 60;
  return s;
}

TEST(Services, AffinitySetsFollowTheirBackends) {
  ChainDelta created = ServiceChainDelta({}, {Sticky({Ip("172.18.0.2"), Ip("172.18.0.3")})});
  ASSERT_EQ(created.add_sets.size(), 4u);  // two ports, two backends
  EXPECT_EQ(created.add_sets[0].name, "aff-4c3e2795e9b0-tcp80-0");
  EXPECT_EQ(created.add_sets[0].type.timeout, 60u);
  // 172.18.0.2 leaves: the set of index 0 now holds 172.18.0.3's clients (emptied), index 1
  // goes.
  ChainDelta left = ServiceChainDelta({Sticky({Ip("172.18.0.2"), Ip("172.18.0.3")})},
                                      {Sticky({Ip("172.18.0.3")})});
  EXPECT_TRUE(left.add_sets.empty());
  EXPECT_EQ(left.flush_sets, (std::vector<std::string>{"aff-4c3e2795e9b0-tcp80-0",
                                                       "aff-4c3e2795e9b0-udp53-0"}));
  EXPECT_EQ(left.remove_sets, (std::vector<std::string>{"aff-4c3e2795e9b0-tcp80-1",
                                                        "aff-4c3e2795e9b0-udp53-1"}));
  // A backend joining at the end keeps everyone's clients.
  ChainDelta joined = ServiceChainDelta({Sticky({Ip("172.18.0.2")})},
                                        {Sticky({Ip("172.18.0.2"), Ip("172.18.0.3")})});
  EXPECT_TRUE(joined.flush_sets.empty());
  EXPECT_TRUE(joined.remove_sets.empty());
  EXPECT_EQ(joined.add_sets.size(), 2u);
  // Without affinity there are no sets.
  EXPECT_TRUE(ServiceSets({Web({Ip("172.18.0.2")})}).empty());
}

TEST(Services, DifferencesAndExpectedKnowTheAffinitySets) {
  State s;
  s.services = {Sticky({Ip("172.18.0.2")})};
  nlohmann::json objs = nlohmann::json::array();
  for (const char* set : {"aff-4c3e2795e9b0-tcp80-0", "aff-gone-tcp1-0"}) {
    objs.push_back({{"set", {{"family", "inet"}, {"table", "berth"}, {"name", set},
                             {"type", "ipv4_addr"}}}});
  }
  std::vector<std::string> diff = Differences(s, nlohmann::json{{"nftables", objs}}.dump());
  auto has = [&](const std::string& what) {
    return std::find(diff.begin(), diff.end(), what) != diff.end();
  };
  EXPECT_FALSE(has("set aff-4c3e2795e9b0-tcp80-0: missing"));
  EXPECT_TRUE(has("set aff-4c3e2795e9b0-udp53-0: missing"));
  EXPECT_TRUE(has("stray set aff-gone-tcp1-0"));
  ExpectedTable e = Expected(s);
  auto it = std::find_if(e.sets.begin(), e.sets.end(),
                         [](const ExpectedSet& x) { return x.name == "aff-4c3e2795e9b0-udp53-0"; });
  ASSERT_NE(it, e.sets.end());
  EXPECT_FALSE(it->exact);  // clients come and go
  // The port chain: one affinity rule per backend before the numgen pick.
  for (const ChainBody& c : ServiceChains(s.services)) {
    if (c.name == "svc-4c3e2795e9b0-tcp80" || c.name == "svc-4c3e2795e9b0-tcp80-0") {
      EXPECT_EQ(c.rules.size(), 2u) << c.name;
    }
  }
}

TEST(Services, BackendChangeKeepsTheMapElements) {
  Delta leave;
  leave.remove_services = {Web({Ip("172.18.0.2"), Ip("172.18.0.3")})};
  leave.add_services = {Web({Ip("172.18.0.2")})};
  std::string json = RenderDelta(leave);
  EXPECT_EQ(json.find("\"element\""), std::string::npos) << json;
  auto wire = EncodeDelta(leave);  // chains and rules: the element batch carries them
  ASSERT_TRUE(wire.has_value());
  EXPECT_TRUE(wire->add.empty());
  EXPECT_TRUE(wire->remove.empty());
  EXPECT_EQ(wire->chains.remove.size(), 2u);  // backend 1 of each port
}

TEST(Services, DifferencesSeeAFlushedOrStrayServiceChain) {
  State s;
  s.services = {Web({Ip("172.18.0.2")})};
  // A table listing with the service's chains but one of them flushed, and a stray one.
  nlohmann::json objs = nlohmann::json::array();
  for (const char* c : {"svc-4c3e2795e9b0-tcp80", "svc-4c3e2795e9b0-tcp80-0",
                        "svc-4c3e2795e9b0-udp53", "svc-4c3e2795e9b0-udp53-0", "svc-gone-tcp1"}) {
    objs.push_back({{"chain", {{"family", "inet"}, {"table", "berth"}, {"name", c}}}});
  }
  for (const char* c : {"svc-4c3e2795e9b0-tcp80", "svc-4c3e2795e9b0-udp53",
                        "svc-4c3e2795e9b0-udp53-0"}) {
    objs.push_back({{"rule", {{"family", "inet"}, {"table", "berth"}, {"chain", c}}}});
  }
  std::string listing = nlohmann::json{{"nftables", objs}}.dump();
  std::vector<std::string> diff = Differences(s, listing);
  auto has = [&](const std::string& what) {
    return std::find(diff.begin(), diff.end(), what) != diff.end();
  };
  EXPECT_TRUE(has("chain svc-4c3e2795e9b0-tcp80-0: 0 of 1 rules"));
  EXPECT_TRUE(has("stray chain svc-gone-tcp1"));
  EXPECT_FALSE(has("chain svc-4c3e2795e9b0-udp53-0: 0 of 1 rules"));
}

}  // namespace
}  // namespace berth::firewall
