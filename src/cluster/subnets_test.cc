// The control plane against a real etcd (etcd/test_etcd.h): config init, subnet claims under
// contention, keeping a subnet, fencing, node removal.
#include "cluster/subnets.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <set>
#include <thread>

#include "cluster/config.h"
#include "cluster/peers.h"
#include "etcd/test_etcd.h"

namespace berth::cluster {
namespace {

using etcd::testing_util::TestEtcd;

class ClusterEtcdTest : public etcd::testing_util::SharedEtcdTest {
 protected:
  void SetUp() override {
    SharedEtcdTest::SetUp();
    if (HasFatalFailure()) return;
    client_ = Open();
    ASSERT_NE(client_, nullptr);
    config_.cidr = *Cidr::ParseNetwork("10.244.0.0/16");
    config_.backend = Backend::kAuto;
    ASSERT_TRUE(Init(*client_, config_).ok());
  }

  static NodeInfo Node(const std::string& name, const char* ip = "198.18.0.1") {
    NodeInfo n;
    n.name = name;
    n.node_ip = *IpAddr::Parse(ip);
    return n;
  }

  std::unique_ptr<etcd::Client> client_;
  ClusterConfig config_;
};


// A proxy in front of etcd that passes every request on and throws away etcd's answer to the
// first transaction: etcd applied it, the client hears nothing (the connection just closes).
class TxnAnswerDropper {
 public:
  explicit TxnAnswerDropper(int etcd_port) : etcd_port_(etcd_port) {
    listener_ = etcd::testing_util::SilentListener(&port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TxnAnswerDropper() {
    stop_ = true;
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int dropped() const { return dropped_; }

 private:
  // One request per connection: the client's easy handles do not share connections.
  static std::string ReadRequest(int fd) {
    std::string in;
    char buf[8192];
    while (true) {
      size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t cl = in.find("Content-Length: ");
        size_t len = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
        if (in.size() >= end + 4 + len) return in;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return in;
      in.append(buf, static_cast<size_t>(n));
    }
  }

  void Serve() {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sys::Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      std::string request = ReadRequest(conn.get());
      // etcd closes after its answer, so the answer is everything it sends.
      request.insert(request.find("\r\n") + 2, "Connection: close\r\n");
      sys::Fd up(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(etcd_port_));
      if (::connect(up.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) continue;
      (void)::send(up.get(), request.data(), request.size(), MSG_NOSIGNAL);
      std::string answer;
      char buf[8192];
      ssize_t n;
      while ((n = ::recv(up.get(), buf, sizeof buf, 0)) > 0) answer.append(buf, n);
      if (request.rfind("POST /v3/kv/txn ", 0) == 0 && dropped_ == 0) {
        ++dropped_;
        continue;  // conn closes: the client gets nothing
      }
      (void)::send(conn.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
    }
  }

  int etcd_port_;
  int port_ = 0;
  sys::Fd listener_;
  std::atomic<bool> stop_{false};
  std::atomic<int> dropped_{0};
  std::thread thread_;
};

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

TEST_F(ClusterEtcdTest, AClaimWhoseAnswerWasLostReadsBackThatItWon) {
  const std::string& url = etcd_->endpoint();
  TxnAnswerDropper proxy(std::stoi(url.substr(url.rfind(':') + 1)));
  etcd::Options o = client_->options();
  o.endpoints = {proxy.endpoint()};
  auto c = etcd::Client::Open(o);
  ASSERT_TRUE(c.ok());
  auto got = Claim(**c, config_, Node("lost-answer"));
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(proxy.dropped(), 1);
  auto held = client_->Get(SubnetKey(got->subnet));
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->kvs.size(), 1u);
  EXPECT_EQ(held->kvs[0].value, "lost-answer");
  EXPECT_EQ(client_->GetPrefix(kSubnetsPrefix)->kvs.size(), 1u);
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

// node rm leaves a tombstone: the removed host cannot claim its subnet back (its cluster
// network still uses it), where a host of a wiped etcd can; a new join of the name clears it.
TEST_F(ClusterEtcdTest, ARemovedNodeCannotClaimItsSubnetBack) {
  auto a = Claim(*client_, config_, Node("a"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(RemoveNode(*client_, "a").ok());
  auto tomb = client_->Get(RemovedKey("a"));
  ASSERT_EQ(tomb->kvs.size(), 1u);
  EXPECT_EQ(tomb->kvs[0].value, a->subnet.ToString());
  auto back = Claim(*client_, config_, *a);  // the subnet required: the removed host's agent
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code(), Code::kExists);
  EXPECT_NE(back.error().message().find("was removed"), std::string::npos);
  auto fresh = Claim(*client_, config_, Node("a"));  // a new join of the name
  ASSERT_TRUE(fresh.ok()) << fresh.error().message();
  EXPECT_TRUE(client_->Get(RemovedKey("a"))->kvs.empty());
}

// Two hosts of a wiped etcd asking for one subnet: one gets it, the other is fenced.
TEST_F(ClusterEtcdTest, TwoClaimantsOfOneSubnetAfterAWipeGetOneWinner) {
  NodeInfo x = Node("x"), y = Node("y", "198.18.0.2");
  x.subnet = y.subnet = *Cidr::ParseNetwork("10.244.9.0/24");
  std::atomic<int> won{0}, fenced{0};
  auto cx = Open(), cy = Open();
  auto claim = [&](etcd::Client* c, NodeInfo n) {
    auto r = Claim(*c, config_, n);
    if (r.ok()) ++won;
    if (!r.ok() && r.error().code() == Code::kExists) ++fenced;
  };
  std::thread tx(claim, cx.get(), x), ty(claim, cy.get(), y);
  tx.join();
  ty.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(fenced, 1);
}

// Two hosts with one node name: the second one's claim is refused unless it takes over.
TEST_F(ClusterEtcdTest, AnotherHostWithTheSameNameIsRefused) {
  NodeInfo first = Node("a");
  first.host_id = "host-1";
  auto a = Claim(*client_, config_, first);
  ASSERT_TRUE(a.ok());
  NodeInfo second = Node("a", "198.18.0.9");
  second.host_id = "host-2";
  auto refused = Claim(*client_, config_, second);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kExists);
  EXPECT_NE(refused.error().message().find("198.18.0.1"), std::string::npos);
  auto taken = Claim(*client_, config_, second, /*take_over=*/true);
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->subnet, a->subnet);
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
  c.vni = 1;
  for (const char* bad : {"127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/8", "0.0.0.0/8",
                          "240.0.0.0/8"}) {
    c.cidr = *Cidr::ParseNetwork(bad);
    EXPECT_FALSE(Validate(c).ok()) << bad;
  }
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
