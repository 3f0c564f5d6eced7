// The self-healing primitives against the kernel: NftMonitor, the generation stamp and
// MissingObjects. They change nftables, so they run only inside tests/sandbox.sh (a network
// namespace of their own) and as root; elsewhere they skip. They build a table shaped like
// berth's with the nft binary.
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "firewall/nft_generation.h"
#include "firewall/nft_monitor.h"
#include "firewall/nft_verify.h"

namespace berth::firewall {
namespace {

using Clock = std::chrono::steady_clock;

bool InSandbox() {
  const char* parent = std::getenv("BERTH_SANDBOX_PARENT_NETNS");
  struct stat st {};
  if (!parent || ::stat("/proc/self/ns/net", &st) != 0) return false;
  return std::strtoull(parent, nullptr, 10) != st.st_ino && ::geteuid() == 0 &&
         ::access("/usr/sbin/nft", X_OK) == 0;
}

// Runs nft with `script` on stdin; true on success.
bool Nft(const std::string& script, bool quiet = false) {
  FILE* p = ::popen(quiet ? "/usr/sbin/nft -f - >/dev/null 2>&1" : "/usr/sbin/nft -f - 2>&1", "w");
  if (!p) return false;
  std::fputs(script.c_str(), p);
  return ::pclose(p) == 0;
}

constexpr char kBerthLike[] = R"(
table inet berth {
  set bridges { type ifname; elements = { "br0", "br1" } }
  map pub_port_port { type inet_proto . inet_service : inet_service; }
  chain user { }
  chain forward {
    type filter hook forward priority 0; policy accept;
    jump user
    oifname @bridges drop
  }
  chain prerouting { type nat hook prerouting priority -100; policy accept; fib daddr type local counter; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; oifname != @bridges counter; }
}
)";

ExpectedTable Expected() {
  return {"berth",
          {{"user", 0}, {"forward", 2}, {"prerouting", 1}, {"postrouting", 1}},
          {{"bridges", 2}, {"pub_port_port", 0}}};
}

// Deletes berth's table from this very process (raw netlink, like berth's own code would).
void DeleteTableOurselves() {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  ASSERT_NE(nl, nullptr);
  ASSERT_EQ(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  uint32_t seq = 1;
  mnl_nlmsg_batch* batch = mnl_nlmsg_batch_start(buf, sizeof(buf));
  nftnl_batch_begin(static_cast<char*>(mnl_nlmsg_batch_current(batch)), seq++);
  mnl_nlmsg_batch_next(batch);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(static_cast<char*>(mnl_nlmsg_batch_current(batch)),
                                        NFT_MSG_DELTABLE, NFPROTO_INET, NLM_F_ACK, seq++);
  mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, "berth");
  mnl_nlmsg_batch_next(batch);
  nftnl_batch_end(static_cast<char*>(mnl_nlmsg_batch_current(batch)), seq++);
  mnl_nlmsg_batch_next(batch);
  ASSERT_GT(mnl_socket_sendto(nl, mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch)), 0);
  mnl_nlmsg_batch_stop(batch);
  char reply[MNL_SOCKET_BUFFER_SIZE];
  ssize_t n = mnl_socket_recvfrom(nl, reply, sizeof(reply));
  ASSERT_GT(n, 0);
  auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(reinterpret_cast<nlmsghdr*>(reply)));
  EXPECT_EQ(err->error, 0);
  mnl_socket_close(nl);
}

class NftHealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!InSandbox()) GTEST_SKIP() << "needs root inside tests/sandbox.sh";
    Nft("delete table inet berth\n", /*quiet=*/true);
    ASSERT_TRUE(Nft(kBerthLike));
    auto m = NftMonitor::Open();
    ASSERT_TRUE(m.ok()) << m.error().message();
    monitor_.emplace(std::move(*m));
    auto first = monitor_->Drain();
    ASSERT_TRUE(first.ok());
    EXPECT_FALSE(*first);
  }

  // Runs `script` with nft, then waits up to a second for Drain() to report damage. Returns
  // the milliseconds from nft's exit to the report, or -1 when none came.
  double ChangeAndWait(const std::string& script) {
    Clock::time_point start = Clock::now();
    EXPECT_TRUE(Nft(script)) << script;
    Clock::time_point done = Clock::now();
    Clock::time_point deadline = done + std::chrono::seconds(1);
    while (Clock::now() < deadline) {
      pollfd p{monitor_->fd(), POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      ::poll(&p, 1, static_cast<int>(left.count()) + 1);
      auto d = monitor_->Drain();
      EXPECT_TRUE(d.ok());
      if (d.ok() && *d) {
        auto now = Clock::now();
        std::printf("[ latency ] nft start -> Drain %.3f ms (nft itself %.3f ms)\n",
                    std::chrono::duration<double, std::milli>(now - start).count(),
                    std::chrono::duration<double, std::milli>(done - start).count());
        return std::chrono::duration<double, std::milli>(now - done).count();
      }
    }
    return -1;
  }

  std::vector<std::string> Missing() {
    auto m = MissingObjects(Expected());
    EXPECT_TRUE(m.ok()) << m.error().message();
    return m.ok() ? *m : std::vector<std::string>{"error"};
  }

  std::optional<NftMonitor> monitor_;
};

TEST_F(NftHealTest, IntactTableHasNothingMissing) {
  EXPECT_EQ(Missing(), std::vector<std::string>{});
  ExpectedTable more = Expected();
  more.chains.push_back({"output", 0});
  more.sets.push_back({"subnets", 0});
  auto m = MissingObjects(more);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (std::vector<std::string>{"chain output", "set subnets"}));
}

TEST_F(NftHealTest, CountsAnIntervalOnce) {
  ASSERT_TRUE(Nft("add set inet berth subnets { type ipv4_addr; flags interval; "
                  "elements = { 10.0.0.0/24, 10.1.0.0/24 }; }\n"));
  ExpectedTable t = Expected();
  t.sets.push_back({"subnets", 2});
  EXPECT_EQ(*MissingObjects(t), std::vector<std::string>{});
  t.sets.back().min_elements = 3;
  EXPECT_EQ(*MissingObjects(t), std::vector<std::string>{"set subnets: 2 of 3 elements"});
}

TEST_F(NftHealTest, SeesTableDeleted) {
  double ms = ChangeAndWait("delete table inet berth\n");
  ASSERT_GE(ms, 0);
  EXPECT_LT(ms, 100);
  std::printf("[ latency ] delete table exit -> Drain: %.3f ms\n", ms);
  EXPECT_EQ(Missing(), std::vector<std::string>{"table inet berth"});
  EXPECT_EQ(monitor_->stats().foreign_damage, 1u);
}

TEST_F(NftHealTest, SeesRulesetFlushed) {
  ASSERT_TRUE(Nft("add table ip other\nadd chain ip other c\n"));
  double ms = ChangeAndWait("flush ruleset\n");
  ASSERT_GE(ms, 0);
  EXPECT_LT(ms, 100);
  std::printf("[ latency ] flush ruleset exit -> Drain: %.3f ms\n", ms);
  EXPECT_EQ(Missing(), std::vector<std::string>{"table inet berth"});
  // A flush of many objects is one transaction and one report.
  EXPECT_EQ(monitor_->stats().foreign_damage, 1u);
}

TEST_F(NftHealTest, SeesChainFlushed) {
  double ms = ChangeAndWait("flush chain inet berth forward\n");
  ASSERT_GE(ms, 0);
  EXPECT_LT(ms, 100);
  std::printf("[ latency ] flush chain exit -> Drain: %.3f ms\n", ms);
  EXPECT_EQ(Missing(), std::vector<std::string>{"chain forward: 0 of 2 rules"});
}

TEST_F(NftHealTest, SeesSetFlushed) {
  double ms = ChangeAndWait("flush set inet berth bridges\n");
  ASSERT_GE(ms, 0);
  EXPECT_LT(ms, 100);
  std::printf("[ latency ] flush set exit -> Drain: %.3f ms\n", ms);
  EXPECT_EQ(Missing(), std::vector<std::string>{"set bridges: 0 of 2 elements"});
}

TEST_F(NftHealTest, SeesChainDeletedAndTableMadeDormant) {
  EXPECT_GE(ChangeAndWait("delete chain inet berth prerouting\n"), 0);
  EXPECT_EQ(Missing(), std::vector<std::string>{"chain prerouting"});
  EXPECT_GE(ChangeAndWait("add table inet berth { flags dormant; }\n"), 0);
}

TEST_F(NftHealTest, IgnoresOtherTablesAndTheAdminChain) {
  ASSERT_TRUE(Nft("add table ip other\nadd chain ip other c\n"));
  ASSERT_TRUE(Nft("delete table ip other\n"));
  ASSERT_TRUE(Nft("add rule inet berth user counter\n"));
  ASSERT_TRUE(Nft("flush chain inet berth user\n"));
  ASSERT_TRUE(Nft("add element inet berth bridges { \"br2\" }\n"));
  ::usleep(50 * 1000);
  auto d = monitor_->Drain();
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(*d);
  EXPECT_EQ(monitor_->stats().transactions, 5u);
  EXPECT_EQ(monitor_->stats().foreign_damage, 0u);
}

TEST_F(NftHealTest, IgnoresOwnTransactions) {
  DeleteTableOurselves();
  ::usleep(50 * 1000);
  auto d = monitor_->Drain();
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(*d);
  EXPECT_EQ(monitor_->stats().own_ignored, 1u);
  EXPECT_EQ(Missing(), std::vector<std::string>{"table inet berth"});
}

TEST_F(NftHealTest, LostEventsAskForVerification) {
  MonitorOptions tiny;
  tiny.receive_buffer = 1;  // the kernel's minimum: a few events fill it
  auto small = NftMonitor::Open(tiny);
  ASSERT_TRUE(small.ok());
  std::string elems;
  for (int i = 0; i < 300; ++i) elems += (i ? ", \"x" : "\"x") + std::to_string(i) + "\"";
  ASSERT_TRUE(Nft("add element inet berth bridges { " + elems + " }\n"));
  auto d = small->Drain();
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(*d);
  EXPECT_GE(small->stats().overruns, 1u);
}

TEST_F(NftHealTest, GenerationAndStamp) {
  auto g0 = CurrentGeneration();
  ASSERT_TRUE(g0.ok()) << g0.error().message();
  ASSERT_TRUE(Nft("add element inet berth bridges { \"br9\" }\n"));
  auto g1 = CurrentGeneration();
  ASSERT_TRUE(g1.ok());
  EXPECT_EQ(*g1, *g0 + 1);

  std::string dir = ::testing::TempDir() + "/berth-gen-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  GenerationStamp stamp(dir + "/firewall.generation");
  auto changed = stamp.Changed();
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);  // no stamp yet
  ASSERT_TRUE(stamp.Store(*g1).ok());
  EXPECT_EQ(*stamp.Load(), std::optional<uint32_t>(*g1));
  EXPECT_FALSE(*stamp.Changed());

  // Berth's own commit, nobody else in between: stamped.
  ASSERT_TRUE(Nft("add element inet berth bridges { \"br8\" }\n"));
  EXPECT_TRUE(*stamp.RecordOwnCommits(*g1, 1));
  EXPECT_FALSE(*stamp.Changed());
  // Someone else committed too: the stamp goes, the next command verifies.
  uint32_t before = *CurrentGeneration();
  ASSERT_TRUE(Nft("add element inet berth bridges { \"br7\" }\n"));
  ASSERT_TRUE(Nft("add table ip other\n"));
  EXPECT_FALSE(*stamp.RecordOwnCommits(before, 1));
  EXPECT_TRUE(*stamp.Changed());

  // A stamp of another boot or namespace counts as none.
  ASSERT_TRUE(stamp.Store(*CurrentGeneration()).ok());
  {
    std::FILE* f = std::fopen((dir + "/firewall.generation").c_str(), "w");
    std::fprintf(f, "%u 1 other-boot\n", *CurrentGeneration());
    std::fclose(f);
  }
  EXPECT_EQ(*stamp.Load(), std::nullopt);

  // The cost of the check every command makes (GETGEN round trip + stamp file).
  ASSERT_TRUE(stamp.Store(*CurrentGeneration()).ok());
  constexpr int kRounds = 2000;
  Clock::time_point t0 = Clock::now();
  for (int i = 0; i < kRounds; ++i) ASSERT_FALSE(*stamp.Changed());
  double check_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kRounds;
  t0 = Clock::now();
  for (int i = 0; i < kRounds; ++i) ASSERT_TRUE(CurrentGeneration().ok());
  double gen_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kRounds;
  t0 = Clock::now();
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(MissingObjects(Expected()).ok());
  double verify_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / 200;
  std::printf("[ cost ] CurrentGeneration %.1f us, Changed() %.1f us, MissingObjects %.1f us\n",
              gen_us, check_us, verify_us);
  RecordProperty("generation_check_us", std::to_string(check_us));
  EXPECT_LT(check_us, 500);  // target < 50 us; loose here, the machine is shared
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace berth::firewall
