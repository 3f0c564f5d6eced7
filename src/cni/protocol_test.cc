#include "cni/protocol.h"

#include <gtest/gtest.h>

#include <cerrno>
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
    EXPECT_EQ(ToCniError(r.error()).code, kInvalidEnvironment);
    for (const auto& n : b.names) {
      EXPECT_NE(r.error().message().find(n), std::string::npos) << r.error().message();
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
  for (const char* v : kSupportedVersions) EXPECT_TRUE(CheckVersion(Command::kAdd, v).ok()) << v;
  auto code = [](const Status& st) { return st.ok() ? 0 : ToCniError(st.error()).code; };
  for (const char* v : {"0.1.0", "0.2.0", "0.3.0", "1.2.0", "2.0.0", "junk"}) {
    EXPECT_EQ(code(CheckVersion(Command::kAdd, v)), kIncompatibleVersion) << v;
  }
  EXPECT_EQ(code(CheckVersion(Command::kCheck, "0.3.1")), kIncompatibleVersion);
  EXPECT_TRUE(CheckVersion(Command::kCheck, "0.4.0").ok());
  EXPECT_EQ(code(CheckVersion(Command::kStatus, "1.0.0")), kIncompatibleVersion);
  EXPECT_EQ(code(CheckVersion(Command::kGc, "0.4.0")), kIncompatibleVersion);
  EXPECT_TRUE(CheckVersion(Command::kGc, "1.1.0").ok());
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
  EXPECT_EQ(ToCniError(unknown.error()).code, kInvalidEnvironment);
  EXPECT_NE(unknown.error().message().find("FOO, BAR"), std::string::npos);
  EXPECT_TRUE(ParseCniArgs("IgnoreUnknown=1;FOO=1").ok());
  EXPECT_TRUE(ParseCniArgs("IgnoreUnknown=true;FOO=1").ok());
  EXPECT_FALSE(ParseCniArgs("IgnoreUnknown=0;FOO=1").ok());
  EXPECT_FALSE(ParseCniArgs("novalue").ok());
  EXPECT_FALSE(ParseCniArgs("=x").ok());
}

TEST(Documents, ErrorAndVersion) {
  auto e = nlohmann::json::parse(ErrorJson(Error::Invalid("bad").WithDetails("worse"), "0.4.0"));
  EXPECT_EQ(e, (nlohmann::json{{"cniVersion", "0.4.0"}, {"code", 7}, {"msg", "bad"},
                              {"details", "worse"}}));
  EXPECT_FALSE(nlohmann::json::parse(ErrorJson(BadInput(kInvalidEnvironment, "x"), "1.1.0"))
                   .contains("details"));
  auto v = nlohmann::json::parse(VersionJson("0.4.0"));
  EXPECT_EQ(v["cniVersion"], "0.4.0");
  EXPECT_EQ(v["supportedVersions"],
            (nlohmann::json{"0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
  EXPECT_EQ(nlohmann::json::parse(VersionJson(""))["cniVersion"], "1.1.0");
  EXPECT_EQ(nlohmann::json::parse(VersionJson("junk"))["cniVersion"], "1.1.0");
}

// The one mapping from berth's errors to CNI codes (the table in protocol.h), every code.
TEST(CniErrorMapping, EveryCategoryAndEveryTag) {
  struct {
    Error error;
    int code;
  } cases[] = {
      // Untagged: the category decides.
      {Error::Invalid("range has no free address"), kInvalidConfig},
      {Error::Unavailable("network removed meanwhile"), kTryAgainLater},
      {Error::Exists("address taken"), kBerthConflict},
      {Error::InUse("port busy"), kBerthConflict},
      {Error::NotFound("no link"), kBerthFailure},
      {Error::System("create veth", EPERM), kBerthFailure},
      {Error::Internal("bug"), kBerthFailure},
      {Error(Code::kCommandNotFound, "x"), kBerthFailure},
      {Error(Code::kCommandCannotRun, "x"), kBerthFailure},
      // Tagged where the category cannot tell: the tag wins.
      {BadInput(kIncompatibleVersion, "v"), kIncompatibleVersion},
      {BadInput(kUnsupportedField, "f"), kUnsupportedField},
      {Error::NotFound("c").WithCniCode(kUnknownContainer), kUnknownContainer},
      {BadInput(kInvalidEnvironment, "e"), kInvalidEnvironment},
      {Error::System("read stdin", EIO).WithCniCode(kIoFailure), kIoFailure},
      {BadInput(kDecodingFailure, "d"), kDecodingFailure},
      {Error::Invalid("x").WithCniCode(kInvalidConfig), kInvalidConfig},
      {Error::Invalid("x").WithCniCode(kTryAgainLater), kTryAgainLater},
      {Error::Invalid("x").WithCniCode(kNotAvailable), kNotAvailable},
      {Error::System("x", EIO).WithCniCode(kBerthFailure), kBerthFailure},
      {Error::Invalid("x").WithCniCode(kBerthConflict), kBerthConflict},
      {Error::Invalid("x").WithCniCode(kBerthCheckFailed), kBerthCheckFailed},
      {Error::System("x", EIO).WithCniCode(42), 42},  // a delegate's own code
  };
  for (const auto& c : cases) {
    ErrorDoc d = ToCniError(c.error);
    EXPECT_EQ(d.code, c.code) << c.error.message();
    EXPECT_EQ(d.msg, c.error.message());
  }
  // The context chain is the message; details stay apart; wrapping keeps the tag.
  Error e = BadInput(kIncompatibleVersion, "incompatible CNI version", "supported: 1.1.0");
  e.Wrap("config");
  ErrorDoc d = ToCniError(e);
  EXPECT_EQ(d.code, kIncompatibleVersion);
  EXPECT_EQ(d.msg, "config: incompatible CNI version");
  EXPECT_EQ(d.details, "supported: 1.1.0");
}

}  // namespace
}  // namespace berth::cni
