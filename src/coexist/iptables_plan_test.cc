#include "coexist/iptables_plan.h"

#include <gtest/gtest.h>

namespace berth::coexist {
namespace {

TEST(PlanIptablesTest, NothingWhereForwardAccepts) {
  IptablesState s;
  s.table = true;
  IptablesPlan p = PlanIptables(s, {"br-1"});
  EXPECT_FALSE(p.needed);
  EXPECT_FALSE(p.changes());
}

TEST(PlanIptablesTest, RulesInForwardMeanAnotherManager) {
  IptablesState s;
  s.table = true;
  s.forward_rules = 6;  // Docker started after berth: policy ACCEPT, its rules in FORWARD
  s.docker_user = s.docker_user_used = true;
  EXPECT_EQ(PlanIptables(s, {"br-1"}).add_jump_in, "DOCKER-USER");
}

TEST(PlanIptablesTest, NoTableNoChange) {
  EXPECT_FALSE(PlanIptables(IptablesState{}, {"br-1"}).changes());
  EXPECT_FALSE(PlanIptables(IptablesState{}, {}).changes());
}

TEST(PlanIptablesTest, DockerFirstJumpsFromDockerUser) {
  IptablesState s;
  s.table = true;
  s.forward_drops = true;
  s.docker_user = s.docker_user_used = true;
  IptablesPlan p = PlanIptables(s, {"br-b", "br-a", "br-a"});
  EXPECT_TRUE(p.create_chain);
  EXPECT_TRUE(p.rewrite_rules);
  EXPECT_EQ(p.add_jump_in, "DOCKER-USER");
  EXPECT_EQ(p.rules, (std::vector<std::string>{"-i br-a", "-o br-a", "-i br-b", "-o br-b"}));
}

TEST(PlanIptablesTest, UnusedDockerUserIsNoPlaceForTheJump) {
  IptablesState s;
  s.table = s.forward_drops = s.docker_user = true;  // FORWARD does not jump to it
  EXPECT_EQ(PlanIptables(s, {"br-a"}).add_jump_in, "FORWARD");
  // Our jump there is not in effect either: one goes into FORWARD.
  s.chain = true;
  s.jumps_in = {"DOCKER-USER"};
  s.rules = {"-i br-a", "-o br-a"};
  EXPECT_EQ(PlanIptables(s, {"br-a"}).add_jump_in, "FORWARD");
}

TEST(PlanIptablesTest, DropWithoutDockerJumpsFromForward) {
  IptablesState s;
  s.table = true;
  s.forward_drops = true;
  EXPECT_EQ(PlanIptables(s, {"br-a"}).add_jump_in, "FORWARD");
}

TEST(PlanIptablesTest, InPlaceIsANoOp) {
  IptablesState s;
  s.table = s.forward_drops = s.docker_user = s.docker_user_used = s.chain = true;
  s.jumps_in = {"DOCKER-USER"};
  s.rules = {"-i br-a", "-o br-a"};
  IptablesPlan p = PlanIptables(s, {"br-a"});
  EXPECT_TRUE(p.needed);
  EXPECT_FALSE(p.changes());
  // A wiped chain content (a restart) is rewritten; a jump already elsewhere stays there.
  s.rules.clear();
  s.jumps_in = {"FORWARD"};
  p = PlanIptables(s, {"br-a"});
  EXPECT_TRUE(p.rewrite_rules);
  EXPECT_TRUE(p.add_jump_in.empty());
}

TEST(PlanIptablesTest, LastBridgeGoneRemovesEverything) {
  IptablesState s;
  s.table = s.forward_drops = s.chain = true;
  s.jumps_in = {"DOCKER-USER"};
  IptablesPlan p = PlanIptables(s, {});
  EXPECT_TRUE(p.remove_all);
  s.chain = false;
  s.jumps_in.clear();
  EXPECT_FALSE(PlanIptables(s, {}).changes());
}

}  // namespace
}  // namespace berth::coexist
