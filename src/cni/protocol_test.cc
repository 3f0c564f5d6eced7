#include "cni/protocol.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

namespace berth::cni {
namespace {

Env Make(const std::string& cmd, const std::string& id = "c1", const std::string& netns = "/n",
         const std::string& ifname = "eth0") {
  return Env{cmd, id, netns, ifname, "", "/opt/cni/bin"};
}

TEST(Env, ReadsTheSixVariables) {
  std::map<std::string, std::string> vars = {{"CNI_COMMAND", "ADD"}, {"CNI_IFNAME", "eth1"},
                                             {"CNI_PATH", "/a:/b"}};
  Env e = ReadEnv([&](const char* n) -> const char* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
  EXPECT_EQ(e.command, "ADD");
  EXPECT_EQ(e.ifname, "eth1");
  EXPECT_EQ(e.path, "/a:/b");
  EXPECT_EQ(e.container_id, "");
}

TEST(Env, EachCommandNeedsItsVariables) {
  EXPECT_TRUE(ValidateEnv(Make("ADD")).ok());
  EXPECT_TRUE(ValidateEnv(Make("DEL", "c1", "")).ok()) << "DEL without a netns is fine";
  EXPECT_TRUE(ValidateEnv(Make("VERSION", "", "", "")).ok());
  EXPECT_TRUE(ValidateEnv(Make("STATUS", "", "", "")).ok());
  EXPECT_TRUE(ValidateEnv(Make("GC", "", "", "")).ok());
  struct {
    Env env;
    std::vector<std::string> names;
  } bad[] = {
      {Make(""), {"CNI_COMMAND"}},
      {Make("FROB"), {"CNI_COMMAND"}},
      {Make("ADD", "", "", ""), {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}},
      {Make("CHECK", "c1", ""), {"CNI_NETNS"}},
      {Make("DEL", "-bad"), {"CNI_CONTAINERID"}},
      {Make("ADD", "c1", "/n", "much-too-long-name0"), {"CNI_IFNAME"}},
      {Make("ADD", "c1", "/n", "a/b"), {"CNI_IFNAME"}},
  };
  for (const auto& b : bad) {
    auto r = ValidateEnv(b.env);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, kInvalidEnvironment);
    for (const auto& n : b.names) {
      EXPECT_NE(r.error().msg.find(n), std::string::npos) << r.error().msg;
    }
  }
}

TEST(Version, ParseCompareAndPerCommandMinimum) {
  EXPECT_EQ(*ParseVersion("1.10.0"), (std::vector<int>{1, 10, 0}));
  for (const char* bad : {"", "1", "1.0", "1.0.0.0", "1.x.0", "v1.0.0", "1..0"}) {
    EXPECT_FALSE(ParseVersion(bad)) << bad;
  }
  EXPECT_TRUE(VersionLess("0.4.0", "1.0.0"));
  EXPECT_TRUE(VersionLess("0.9.0", "0.10.0"));
  EXPECT_FALSE(VersionLess("1.1.0", "1.1.0"));
  for (const char* v : kSupportedVersions) EXPECT_FALSE(CheckVersion(Command::kAdd, v)) << v;
  for (const char* v : {"0.1.0", "0.2.0", "0.3.0", "1.2.0", "2.0.0", "junk"}) {
    auto e = CheckVersion(Command::kAdd, v);
    ASSERT_TRUE(e) << v;
    EXPECT_EQ(e->code, kIncompatibleVersion);
  }
  EXPECT_EQ(CheckVersion(Command::kCheck, "0.3.1")->code, kIncompatibleVersion);
  EXPECT_FALSE(CheckVersion(Command::kCheck, "0.4.0"));
  EXPECT_EQ(CheckVersion(Command::kStatus, "1.0.0")->code, kIncompatibleVersion);
  EXPECT_EQ(CheckVersion(Command::kGc, "0.4.0")->code, kIncompatibleVersion);
  EXPECT_FALSE(CheckVersion(Command::kGc, "1.1.0"));
}

TEST(CniArgs, KnownKeysAndTheIgnoreUnknownConvention) {
  auto a = ParseCniArgs("K8S_POD_NAME=web;K8S_POD_NAMESPACE=default;IP=10.1.0.5");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->at("K8S_POD_NAME"), "web");
  EXPECT_EQ(a->at("IP"), "10.1.0.5");
  EXPECT_TRUE(ParseCniArgs("").ok());
  EXPECT_TRUE(ParseCniArgs(";;").ok());
  auto unknown = ParseCniArgs("FOO=1;BAR=2");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, kInvalidEnvironment);
  EXPECT_NE(unknown.error().msg.find("FOO, BAR"), std::string::npos);
  EXPECT_TRUE(ParseCniArgs("IgnoreUnknown=1;FOO=1").ok());
  EXPECT_TRUE(ParseCniArgs("IgnoreUnknown=true;FOO=1").ok());
  EXPECT_FALSE(ParseCniArgs("IgnoreUnknown=0;FOO=1").ok());
  EXPECT_FALSE(ParseCniArgs("novalue").ok());
  EXPECT_FALSE(ParseCniArgs("=x").ok());
}

TEST(Documents, ErrorAndVersion) {
  auto e = nlohmann::json::parse(ErrorJson({7, "bad", "worse"}, "0.4.0"));
  EXPECT_EQ(e, (nlohmann::json{{"cniVersion", "0.4.0"}, {"code", 7}, {"msg", "bad"},
                              {"details", "worse"}}));
  EXPECT_FALSE(nlohmann::json::parse(ErrorJson({4, "x", ""}, "1.1.0")).contains("details"));
  auto v = nlohmann::json::parse(VersionJson("0.4.0"));
  EXPECT_EQ(v["cniVersion"], "0.4.0");
  EXPECT_EQ(v["supportedVersions"],
            (nlohmann::json{"0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
  EXPECT_EQ(nlohmann::json::parse(VersionJson(""))["cniVersion"], "1.1.0");
  EXPECT_EQ(nlohmann::json::parse(VersionJson("junk"))["cniVersion"], "1.1.0");
}

}  // namespace
}  // namespace berth::cni
