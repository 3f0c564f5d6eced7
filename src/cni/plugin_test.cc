// The plugin's front door without a kernel: everything that is decided before the engine
// changes anything (environment, decoding, versions, configuration, netns checks), with a
// fake delegate. Engine paths are covered by tests/integration/test_cni.py in a sandbox.
#include "cni/plugin.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "sys/proc.h"

namespace berth::cni {
namespace {

using nlohmann::json;

class FakeDelegator : public Delegator {
 public:
  std::vector<std::string> calls;
  Result<PluginOutput> Run(const std::string& type, const std::string& command,
                           std::string_view) override {
    calls.push_back(type + " " + command);
    return PluginOutput{0, "", ""};
  }
};

class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cni-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/not-a-netns") << "";
  }
  void TearDown() override { (void)sys::RemoveTree(dir_); }

  std::string Conf(const std::string& version, const std::string& extra = "") {
    return R"({"cniVersion":")" + version + R"(","name":"web","type":"berth","root":")" + dir_ +
           "/root\"" + extra + "}";
  }
  Response Invoke(const std::string& cmd, const std::string& in, const std::string& netns = "",
                  const std::string& args = "") {
    Env env{cmd, "c1", netns.empty() ? dir_ + "/not-a-netns" : netns, "eth0", args, ""};
    return cni::Run(env, in, fake_, [](const char*) -> const char* { return nullptr; });
  }
  static json Doc(const Response& r) { return json::parse(r.out); }

  std::string dir_;
  FakeDelegator fake_;
};

TEST_F(PluginTest, VersionAnswersWithAndWithoutStdin) {
  Response r = Invoke("VERSION", "");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(Doc(r)["cniVersion"], "1.1.0");
  r = Invoke("VERSION", R"({"cniVersion":"0.3.1"})");
  EXPECT_EQ(Doc(r)["cniVersion"], "0.3.1");
  r = Invoke("VERSION", "{nope");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Doc(r)["code"], 6);
}

TEST_F(PluginTest, ErrorsInTheSpecOrderWithTheRightCodes) {
  struct {
    std::string cmd, in;
    int code;
    std::string version;  // the cniVersion of the error document
  } cases[] = {
      {"", Conf("1.0.0"), kInvalidEnvironment, "1.0.0"},
      {"ADD", "{", kDecodingFailure, "1.1.0"},
      {"ADD", "", kDecodingFailure, "1.1.0"},
      {"ADD", Conf("0.2.0"), kIncompatibleVersion, "1.1.0"},
      {"ADD", Conf("9.9.9"), kIncompatibleVersion, "1.1.0"},
      {"ADD", R"({"name":"web","type":"berth"})", kIncompatibleVersion, "1.1.0"},
      {"CHECK", Conf("0.3.1"), kIncompatibleVersion, "0.3.1"},
      {"STATUS", Conf("1.0.0"), kIncompatibleVersion, "1.0.0"},
      {"GC", Conf("0.4.0"), kIncompatibleVersion, "0.4.0"},
      {"ADD", R"({"cniVersion":"0.4.0","type":"berth"})", kInvalidConfig, "0.4.0"},
      {"ADD", Conf("1.0.0", R"(,"ipam":{"ranges":[]})"), kUnsupportedField, "1.0.0"},
      {"ADD", Conf("1.0.0"), kInvalidEnvironment, "1.0.0"},  // CNI_NETNS is a plain file
      {"CHECK", Conf("1.0.0"), kInvalidConfig, "1.0.0"},     // no prevResult
      {"GC", Conf("1.1.0"), kInvalidConfig, "1.1.0"},        // no valid-attachments
  };
  for (const auto& c : cases) {
    Response r = Invoke(c.cmd, c.in);
    ASSERT_EQ(r.exit_code, 1) << c.cmd << " " << c.in;
    json d = Doc(r);
    EXPECT_EQ(d["code"], c.code) << c.cmd << " " << c.in << " -> " << r.out;
    EXPECT_EQ(d["cniVersion"], c.version) << c.in;
    EXPECT_TRUE(d["msg"].is_string());
  }
  Response missing = Invoke("ADD", Conf("1.0.0"), dir_ + "/nope");
  EXPECT_NE(Doc(missing)["msg"].get<std::string>().find("CNI_NETNS"), std::string::npos);
  Response args = Invoke("ADD", Conf("1.0.0"), "", "FOO=1");
  EXPECT_EQ(Doc(args)["code"], kInvalidEnvironment);
  EXPECT_TRUE(fake_.calls.empty()) << "nothing was delegated";
}

TEST_F(PluginTest, DelOfSomethingNeverAddedSucceedsAndDelegates) {
  Response r = Invoke("DEL", Conf("1.0.0", R"(,"ipam":{"type":"host-local"})"), "/gone");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(fake_.calls, std::vector<std::string>{"host-local DEL"});
}

}  // namespace
}  // namespace berth::cni
