// The control plane against a real etcd (etcd/test_etcd.h): config init, subnet claims under
// contention, keeping a subnet, fencing, node removal.
#include "cluster/subnets.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "cluster/config.h"
#include "cluster/peers.h"
#include "etcd/test_etcd.h"

namespace berth::cluster {
namespace {

using etcd::testing_util::TestEtcd;

class ClusterEtcdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = TestEtcd::Start();
    if (e.ok()) {
      etcd_ = std::move(*e).release();
    } else {
      start_error_ = new std::string(e.error().message());
    }
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(etcd_, nullptr) << "etcd: " << (start_error_ ? *start_error_ : "");
    client_ = Open();
    ASSERT_NE(client_, nullptr);
    config_.cidr = *Cidr::ParseNetwork("10.244.0.0/16");
    config_.backend = Backend::kAuto;
    ASSERT_TRUE(Init(*client_, config_).ok());
  }

  std::unique_ptr<etcd::Client> Open() {
    etcd::Options o;
    o.endpoints = {etcd_->endpoint()};
    o.prefix = std::string("/test/") +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto c = etcd::Client::Open(o);
    EXPECT_TRUE(c.ok()) << c.error().message();
    return c.ok() ? std::move(*c) : nullptr;
  }

  static NodeInfo Node(const std::string& name, const char* ip = "198.18.0.1") {
    NodeInfo n;
    n.name = name;
    n.node_ip = *IpAddr::Parse(ip);
    return n;
  }

  static TestEtcd* etcd_;
  static std::string* start_error_;
  std::unique_ptr<etcd::Client> client_;
  ClusterConfig config_;
};

TestEtcd* ClusterEtcdTest::etcd_ = nullptr;
std::string* ClusterEtcdTest::start_error_ = nullptr;

TEST_F(ClusterEtcdTest, InitTwiceIsANoOpAndADifferentConfigIsRefused) {
  auto again = Init(*client_, config_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_FALSE(*again);
  ClusterConfig other = config_;
  other.subnet_len = 26;
  auto refused = Init(*client_, other);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kExists);
  EXPECT_NE(refused.error().message().find("\"subnet_len\":24"), std::string::npos);
  EXPECT_NE(refused.error().message().find("\"subnet_len\":26"), std::string::npos);
  EXPECT_EQ(*Load(*client_), config_);
}

TEST_F(ClusterEtcdTest, TwentyNodesJoiningAtOnceGetDistinctSubnets) {
  constexpr int kNodes = 20;
  std::vector<Result<NodeInfo>> got(kNodes, Error::Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      auto c = Open();  // a client each, as separate hosts would have
      got[i] = Claim(*c, config_, Node("n" + std::to_string(i)));
    });
  }
  for (auto& t : threads) t.join();
  std::set<Cidr> subnets;
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(got[i].ok()) << got[i].error().message();
    EXPECT_TRUE(config_.cidr.Contains(got[i]->subnet));
    EXPECT_EQ(got[i]->subnet.prefix(), 24);
    subnets.insert(got[i]->subnet);
    // etcd agrees with what each node was told.
    auto held = client_->Get(SubnetKey(got[i]->subnet));
    ASSERT_TRUE(held.ok());
    ASSERT_EQ(held->kvs.size(), 1u);
    EXPECT_EQ(held->kvs[0].value, "n" + std::to_string(i));
  }
  EXPECT_EQ(subnets.size(), static_cast<size_t>(kNodes));
  EXPECT_EQ(client_->GetPrefix(kSubnetsPrefix)->kvs.size(), static_cast<size_t>(kNodes));
}

TEST_F(ClusterEtcdTest, ANodeThatComesBackKeepsItsSubnet) {
  auto first = Claim(*client_, config_, Node("a"));
  ASSERT_TRUE(first.ok()) << first.error().message();
  // Restarted, with a new address and MAC: same subnet, updated record.
  NodeInfo again = Node("a", "198.18.0.9");
  again.vtep_mac = "02:00:00:00:00:01";
  auto second = Claim(*client_, config_, again);
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->subnet, first->subnet);
  auto rec = client_->Get(NodeKey("a"));
  EXPECT_EQ(ParseNode(rec->kvs[0].value)->node_ip.ToString(), "198.18.0.9");
  // Its subnet key deleted by hand: taken back, not a new subnet.
  ASSERT_TRUE(client_->Delete(SubnetKey(first->subnet)).ok());
  auto third = Claim(*client_, config_, again);
  ASSERT_TRUE(third.ok()) << third.error().message();
  EXPECT_EQ(third->subnet, first->subnet);
}

TEST_F(ClusterEtcdTest, ASubnetHeldByAnotherNodeFences) {
  auto a = Claim(*client_, config_, Node("a"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(client_->Put(SubnetKey(a->subnet), "b").ok());  // an old backup restored
  auto again = Claim(*client_, config_, Node("a"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kExists);
  EXPECT_NE(again.error().message().find("is held by node b"), std::string::npos);
  EXPECT_FALSE(CheckHeld(*client_, *a).ok());
  EXPECT_FALSE(Publish(*client_, *a).ok());
}

TEST_F(ClusterEtcdTest, AHostWhoseRecordWasLostAsksForItsOwnSubnet) {
  NodeInfo n = Node("a");
  n.subnet = *Cidr::ParseNetwork("10.244.77.0/24");  // what its cluster network uses
  auto got = Claim(*client_, config_, n);
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->subnet.ToString(), "10.244.77.0/24");
  NodeInfo other = Node("b");
  other.subnet = got->subnet;
  auto refused = Claim(*client_, config_, other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("is held by node a"), std::string::npos);
}

TEST_F(ClusterEtcdTest, RemoveNodeFreesOnlyItsOwnSubnet) {
  auto a = Claim(*client_, config_, Node("a"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(client_->Put(AliveKey("a"), "1").ok());
  ASSERT_TRUE(RemoveNode(*client_, "a").ok());
  EXPECT_TRUE(client_->Get(NodeKey("a"))->kvs.empty());
  EXPECT_TRUE(client_->Get(SubnetKey(a->subnet))->kvs.empty());
  EXPECT_TRUE(client_->Get(AliveKey("a"))->kvs.empty());
  EXPECT_EQ(RemoveNode(*client_, "a").error().code(), Code::kNotFound);
  // A record whose subnet key names someone else: that key stays.
  auto b = Claim(*client_, config_, Node("b"));
  ASSERT_TRUE(client_->Put(SubnetKey(b->subnet), "c").ok());
  ASSERT_TRUE(RemoveNode(*client_, "b").ok());
  EXPECT_EQ(client_->Get(SubnetKey(b->subnet))->kvs[0].value, "c");
}

TEST(ClusterConfig, ValidatesAndRoundTrips) {
  ClusterConfig c;
  c.cidr = *Cidr::ParseNetwork("10.244.0.0/16");
  EXPECT_TRUE(Validate(c).ok());
  EXPECT_EQ(c.SubnetCount(), 256u);
  EXPECT_EQ(c.SubnetAt(3).ToString(), "10.244.3.0/24");
  EXPECT_EQ(*ParseConfig(ToJson(c)), c);
  c.subnet_len = 16;
  EXPECT_FALSE(Validate(c).ok());
  c.subnet_len = 24;
  c.vni = 1u << 24;
  EXPECT_FALSE(Validate(c).ok());
  EXPECT_FALSE(ParseBackend("udp").ok());
}

TEST(ClusterPeers, PathsFollowTheBackend) {
  std::vector<NodeInfo> nodes(3);
  const char* ips[] = {"198.18.0.1", "198.18.0.2", "198.18.1.3"};
  for (int i = 0; i < 3; ++i) {
    nodes[i].name = "h" + std::to_string(i + 1);
    nodes[i].node_ip = *IpAddr::Parse(ips[i]);
    nodes[i].subnet = *Cidr::ParseNetwork("10.244." + std::to_string(10 - i) + ".0/24");
    nodes[i].vtep_mac = "02:00:00:00:00:0" + std::to_string(i);
  }
  OnLinkFn same_l2 = [](const IpAddr& ip) -> Result<bool> {
    return Cidr::ParseNetwork("198.18.0.0/24")->Contains(ip);
  };
  auto peers = PeersOf("h1", nodes, Backend::kAuto, same_l2);
  ASSERT_TRUE(peers.ok());
  ASSERT_EQ(peers->size(), 2u);
  EXPECT_EQ((*peers)[0].node, "h3");  // sorted by subnet
  EXPECT_EQ((*peers)[0].path, net::PeerPath::kVxlan);
  EXPECT_EQ((*peers)[1].path, net::PeerPath::kHostGw);
  EXPECT_EQ((*peers)[1].vtep_mac, "");
  auto hostgw = PeersOf("h1", nodes, Backend::kHostGw, same_l2);
  EXPECT_EQ((*hostgw)[0].path, net::PeerPath::kHostGw);
  // A vxlan peer without a VTEP MAC yet waits.
  nodes[2].vtep_mac.clear();
  std::vector<std::string> skipped;
  auto vx = PeersOf("h1", nodes, Backend::kVxlan, same_l2, &skipped);
  EXPECT_EQ(vx->size(), 1u);
  EXPECT_EQ(skipped.size(), 1u);
}

}  // namespace
}  // namespace berth::cluster
