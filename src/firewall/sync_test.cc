// Firewall::Sync against the kernel: a table that matches the store is left alone; a flushed
// chain, a deleted table, a missing element and an element no record explains are each found
// and repaired in one rebuild. Writes nftables: runs only inside tests/sandbox.sh.
#include <gtest/gtest.h>

#include "tests/support/private_netns.h"
#include <unistd.h>

#include "firewall/nft_firewall.h"
#include "firewall/ruleset.h"

namespace berth::firewall {
namespace {

bool InSandbox() { return berth::testing::InPrivateNetns(); }

State SampleState() {
  State s;
  s.networks.push_back({"br-sync1", *Cidr::ParseNetwork("10.77.0.0/24"), true, true, false});
  PortRule p;
  p.host_ip = *IpAddr::Parse("0.0.0.0");
  p.host_port = 18080;
  p.container_ip = *IpAddr::Parse("10.77.0.2");
  p.container_port = 80;
  s.ports.push_back(p);
  return s;
}

bool Mentions(const std::vector<std::string>& diff, const std::string& text) {
  for (const std::string& d : diff) {
    if (d.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(FirewallSync, FindsAndRepairsEveryKindOfDamage) {
  if (!InSandbox()) GTEST_SKIP() << "writes nftables: run inside tests/sandbox.sh";
  auto fw = NftFirewall::Open();
  ASSERT_TRUE(fw.ok());
  State state = SampleState();
  auto first = (*fw)->Sync(state);  // from nothing: builds the table
  ASSERT_TRUE(first.ok()) << first.error().message();
  auto again = (*fw)->Sync(state);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty()) << (again->empty() ? "" : again->front());

  ASSERT_TRUE((*fw)->Run(R"({"nftables":[{"flush":{"chain":{"family":"inet","table":"berth","name":"forward"}}}]})").ok());
  auto flushed = (*fw)->Sync(state);
  ASSERT_TRUE(flushed.ok());
  EXPECT_TRUE(Mentions(*flushed, "chain forward: 0 of")) << flushed->size();
  EXPECT_TRUE((*fw)->Sync(state)->empty());

  // A stray port (a killed `run -p` would leave one) and a missing bridge element.
  State stray = state;
  PortRule extra = state.ports[0];
  extra.host_port = 18081;
  stray.ports.push_back(extra);
  ASSERT_TRUE((*fw)->Sync(stray).ok());
  auto strays = (*fw)->Sync(state);
  ASSERT_TRUE(strays.ok());
  EXPECT_TRUE(Mentions(*strays, "stray")) << strays->size();
  EXPECT_TRUE((*fw)->Sync(state)->empty());

  ASSERT_TRUE((*fw)->Run(R"({"nftables":[{"delete":{"table":{"family":"inet","name":"berth"}}}]})").ok());
  auto gone = (*fw)->Sync(state);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(Mentions(*gone, "table inet berth: missing"));
  EXPECT_TRUE((*fw)->Sync(state)->empty());
  ASSERT_TRUE((*fw)->Run(R"({"nftables":[{"delete":{"table":{"family":"inet","name":"berth"}}}]})").ok());
}

// The counted check a command makes when the generation moved agrees with the table Sync
// builds (interval sets, maps, hash sets alike) and sees each kind of damage Sync repairs
// except a swapped element, which the periodic full reconcile is for.
TEST(FirewallSync, CountedCheckAgreesWithTheKernel) {
  if (!InSandbox()) GTEST_SKIP() << "writes nftables: run inside tests/sandbox.sh";
  auto fw = NftFirewall::Open();
  ASSERT_TRUE(fw.ok());
  State state = SampleState();
  state.networks.push_back({"br-sync2", *Cidr::ParseNetwork("10.78.0.0/24"), true, false, true});
  ASSERT_TRUE((*fw)->Sync(state).ok());
  auto whole = MissingObjects(Expected(state));
  ASSERT_TRUE(whole.ok()) << whole.error().message();
  EXPECT_TRUE(whole->empty()) << whole->front();

  State stray = state;
  PortRule extra = state.ports[0];
  extra.host_port = 18082;
  stray.ports.push_back(extra);
  ASSERT_TRUE((*fw)->Sync(stray).ok());
  auto counted = MissingObjects(Expected(state));
  ASSERT_TRUE(counted.ok());
  EXPECT_FALSE(counted->empty()) << "a stray port went unnoticed";
  ASSERT_TRUE((*fw)->Sync(state).ok());

  ASSERT_TRUE((*fw)->Run(R"({"nftables":[{"flush":{"chain":{"family":"inet","table":"berth","name":"forward"}}}]})").ok());
  counted = MissingObjects(Expected(state));
  ASSERT_TRUE(counted.ok());
  EXPECT_TRUE(Mentions(*counted, "chain forward")) << counted->size();
  ASSERT_TRUE((*fw)->Run(R"({"nftables":[{"delete":{"table":{"family":"inet","name":"berth"}}}]})").ok());
  counted = MissingObjects(Expected(state));
  ASSERT_TRUE(counted.ok());
  EXPECT_TRUE(Mentions(*counted, "table inet berth"));
}

TEST(FirewallSync, NoListingMeansNoTable) {
  auto diff = Differences(SampleState(), "");
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0], "table inet berth: missing");
}

}  // namespace
}  // namespace berth::firewall
