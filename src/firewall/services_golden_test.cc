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

TEST(Services, BackendChangeKeepsTheMapElements) {
  Delta leave;
  leave.remove_services = {Web({Ip("172.18.0.2"), Ip("172.18.0.3")})};
  leave.add_services = {Web({Ip("172.18.0.2")})};
  std::string json = RenderDelta(leave);
  EXPECT_EQ(json.find("\"element\""), std::string::npos) << json;
  EXPECT_FALSE(EncodeDelta(leave).has_value());  // chains: through libnftables
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
