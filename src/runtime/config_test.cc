#include "runtime/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace berth::runtime {
namespace {

TEST(RestartPolicy, ParsesDockersForms) {
  EXPECT_EQ(RestartPolicy::Parse("no")->kind, RestartPolicy::kNo);
  EXPECT_EQ(RestartPolicy::Parse("always")->kind, RestartPolicy::kAlways);
  EXPECT_EQ(RestartPolicy::Parse("unless-stopped")->kind, RestartPolicy::kUnlessStopped);
  auto p = RestartPolicy::Parse("on-failure:3");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->max_retries, 3);
  EXPECT_EQ(p->ToString(), "on-failure:3");
  for (const char* bad : {"sometimes", "always:2", "on-failure:x", "on-failure:-1"}) {
    EXPECT_FALSE(RestartPolicy::Parse(bad).ok()) << bad;
  }
}

TEST(RestartPolicy, Decides) {
  auto on_failure = *RestartPolicy::Parse("on-failure:2");
  EXPECT_TRUE(on_failure.ShouldRestart(1, 0, false));
  EXPECT_TRUE(on_failure.ShouldRestart(1, 1, false));
  EXPECT_FALSE(on_failure.ShouldRestart(1, 2, false));  // the maximum reached
  EXPECT_FALSE(on_failure.ShouldRestart(0, 0, false));  // success is not a failure
  auto always = *RestartPolicy::Parse("always");
  EXPECT_TRUE(always.ShouldRestart(0, 100, false));
  EXPECT_FALSE(always.ShouldRestart(0, 0, true));  // stopped by the user
  EXPECT_FALSE(RestartPolicy{}.ShouldRestart(1, 0, false));
}

TEST(ContainerEnv, DefaultsThenVariablesInOrder) {
  ::setenv("BERTH_TEST_PASSED", "yes", 1);
  ::unsetenv("BERTH_TEST_UNSET");
  auto env = ContainerEnv("box", true,
                          {"A=1", "A=2", "HOME=/home/x", "BERTH_TEST_PASSED", "BERTH_TEST_UNSET"});
  EXPECT_EQ(env[1], "HOSTNAME=box");
  EXPECT_EQ(env[2], "HOME=/home/x");
  EXPECT_EQ(env[3], "TERM=xterm");
  EXPECT_EQ(env[4], "A=2");
  EXPECT_EQ(env[5], "BERTH_TEST_PASSED=yes");
  EXPECT_EQ(env.size(), 6u);
}

TEST(HostsLine, HostColonIp) {
  EXPECT_EQ(*HostsLine("db:10.1.2.3"), "10.1.2.3\tdb");
  EXPECT_EQ(*HostsLine("v6=2001:db8::1"), "2001:db8::1\tv6");
  for (const char* bad : {"db", ":10.1.2.3", "db:", "db:not-an-ip", "db:host-gateway"}) {
    EXPECT_FALSE(HostsLine(bad).ok()) << bad;
  }
}

TEST(ResolveUser, NamesAndNumbers) {
  auto root = ResolveUser("root");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->uid, 0u);
  auto nums = ResolveUser("4242:4343");
  ASSERT_TRUE(nums.ok());
  EXPECT_EQ(nums->uid, 4242u);
  EXPECT_EQ(nums->gid, 4343u);
  EXPECT_FALSE(ResolveUser("no-such-user-here").ok());
  EXPECT_FALSE(ResolveUser("root:no-such-group-here").ok());
}

}  // namespace
}  // namespace berth::runtime
