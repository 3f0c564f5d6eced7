#include "core/names.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(ValidateName, AcceptsDockerStyleNames) {
  for (const std::string& ok : {std::string("web"), std::string("db-1"), std::string("my_net.v2"),
                                std::string("A"), std::string("0abc"), std::string(63, 'a')}) {
    EXPECT_TRUE(ValidateName("network", ok).ok()) << ok;
  }
}

TEST(ValidateName, RejectsMetacharactersAndLength) {
  for (std::string bad : {std::string(""), std::string("x; flush ruleset"), std::string("-x"),
                          std::string("a b"), std::string("a/b"), std::string("$(id)"),
                          std::string("a\"b"), std::string("x\n"), std::string(64, 'a'),
                          std::string(".hidden"), std::string("ünï")}) {
    auto st = ValidateName("network", bad);
    EXPECT_FALSE(st.ok()) << bad;
    if (!st.ok()) {
      EXPECT_EQ(st.error().code(), Code::kInvalid);
      EXPECT_NE(st.error().message().find("invalid network name"), std::string::npos);
    }
  }
}

TEST(ValidateIfName, KernelLimits) {
  EXPECT_TRUE(ValidateIfName("br-0123456789a").ok());
  EXPECT_TRUE(ValidateIfName(std::string(15, 'x')).ok());
  EXPECT_FALSE(ValidateIfName(std::string(16, 'x')).ok());
  EXPECT_FALSE(ValidateIfName("").ok());
  EXPECT_FALSE(ValidateIfName("..").ok());
  EXPECT_FALSE(ValidateIfName("a:b").ok());
  EXPECT_FALSE(ValidateIfName("a/b").ok());
}

TEST(ValidateHostname, Labels) {
  EXPECT_TRUE(ValidateHostname("web").ok());
  EXPECT_TRUE(ValidateHostname("web-1.example.test").ok());
  EXPECT_FALSE(ValidateHostname("").ok());
  EXPECT_FALSE(ValidateHostname("-web").ok());
  EXPECT_FALSE(ValidateHostname("a..b").ok());
  EXPECT_FALSE(ValidateHostname("under_score").ok());
  EXPECT_FALSE(ValidateHostname(std::string(64, 'a')).ok());
}

}  // namespace
}  // namespace berth
