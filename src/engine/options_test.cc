#include "engine/options.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

TEST(NetworkOptions, CanonicalAndDockerKeys) {
  auto o = ParseNetworkOptions({"masquerade=false", "com.docker.network.bridge.enable_icc=false",
                                "com.docker.network.driver.mtu=1400", "bridge_name=br-test"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->values.at("masquerade"), "false");
  EXPECT_EQ(o->values.at("icc"), "false");
  EXPECT_EQ(o->values.count("mtu"), 0u);
  EXPECT_EQ(*o->mtu, 1400);
  EXPECT_EQ(*o->bridge_name, "br-test");
}

TEST(NetworkOptions, RejectsWhatWouldSilentlyDoNothing) {
  struct {
    const char* item;
    const char* expect;
  } bad[] = {
      {"masq=false", "unknown network option \"masq\""},
      {"masquerade", "expected KEY=VALUE"},
      {"=x", "expected KEY=VALUE"},
      {"icc=no", "must be true or false"},
      {"mtu=9x", "invalid MTU"},
      {"mtu=67", "68-65535"},
      {"bridge_name=a-very-long-bridge", "longer than 15"},
      {"bridge_name=x;y", "only [a-zA-Z0-9_.-]"},
  };
  for (const auto& b : bad) {
    auto o = ParseNetworkOptions({b.item});
    ASSERT_FALSE(o.ok()) << b.item;
    EXPECT_NE(o.error().message().find(b.expect), std::string::npos) << o.error().message();
  }
}

TEST(NetworkMode, Parses) {
  EXPECT_EQ(ParseNetworkMode("none")->kind, NetworkMode::kNone);
  EXPECT_EQ(ParseNetworkMode("host")->kind, NetworkMode::kHost);
  auto b = ParseNetworkMode("bridge");
  EXPECT_EQ(b->kind, NetworkMode::kNetwork);
  EXPECT_EQ(b->target, "bridge");
  auto c = ParseNetworkMode("container:web");
  EXPECT_EQ(c->kind, NetworkMode::kContainer);
  EXPECT_EQ(c->target, "web");
  EXPECT_FALSE(ParseNetworkMode("container:").ok());
  EXPECT_FALSE(ParseNetworkMode("x; flush ruleset").ok());
  EXPECT_TRUE(IsReservedNetworkName("host"));
  EXPECT_FALSE(IsReservedNetworkName("hosts"));
}

}  // namespace
}  // namespace berth::engine
