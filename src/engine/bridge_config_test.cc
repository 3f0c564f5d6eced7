#include "engine/bridge_config.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

TEST(BridgeConfig, DefaultsAreDockers) {
  auto c = ParseBridgeConfig("{}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->subnet.ToString(), "172.17.0.0/16");
  EXPECT_EQ(c->gateway.ToString(), "172.17.0.1");
  EXPECT_EQ(c->mtu, 1500);
  EXPECT_TRUE(c->pools.empty());
}

TEST(BridgeConfig, BipMtuAndPools) {
  auto c = ParseBridgeConfig(R"({"bip": "10.20.0.1/24", "mtu": 1400,
      "default-address-pools": [{"base": "10.10.0.0/16", "size": 24}]})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->subnet.ToString(), "10.20.0.0/24");
  EXPECT_EQ(c->gateway.ToString(), "10.20.0.1");
  EXPECT_EQ(c->mtu, 1400);
  ASSERT_EQ(c->pools.size(), 256u);
  EXPECT_EQ(c->pools[1].ToString(), "10.10.1.0/24");
}

TEST(BridgeConfig, BadInputNamesWhat) {
  const char* bad[][2] = {
      {R"({"bogus": 1})", "unknown key bogus"},
      {R"({"bip": "10.20.0.0/24"})", "bip 10.20.0.0/24"},
      {R"({"bip": "10.20.0.1/31"})", "bip"},
      {R"({"mtu": 10})", "config.json"},
      {R"({"default-address-pools": [{"base": "10.10.0.0/16", "size": 8}]})", "size"},
      {R"({"default-address-pools": [{"base": "10.10.0.0/16"}]})", "entries like"},
      {"[]", "not a JSON object"},
  };
  for (const auto& [text, msg] : bad) {
    auto c = ParseBridgeConfig(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.error().message().find(msg), std::string::npos) << c.error().message();
  }
}

}  // namespace
}  // namespace berth::engine
