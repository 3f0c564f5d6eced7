#include "core/ids.h"

#include <gtest/gtest.h>

#include <set>

#include "core/names.h"

namespace berth {
namespace {

TEST(Ids, NewIdIsRandomHex) {
  std::string a = NewId(), b = NewId();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(Ids, HostVethNameIsStableValidAndDistinct) {
  std::string id = NewId();
  std::string eth0 = HostVethName(id, "eth0");
  EXPECT_EQ(eth0, HostVethName(id, "eth0"));
  EXPECT_NE(eth0, HostVethName(id, "eth1"));
  EXPECT_EQ(eth0.size(), 15u);
  EXPECT_TRUE(ValidateIfName(eth0).ok());
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(HostVethName(NewId(), "eth0"));
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(Ids, MacFollowsDockerConvention) {
  EXPECT_EQ(MacForIp(*IpAddr::Parse("172.17.0.2")), "02:42:ac:11:00:02");
  EXPECT_EQ(MacForIp(*IpAddr::Parse("192.168.16.255")), "02:42:c0:a8:10:ff");
}

TEST(Ids, GeneratedNamesAreValidNames) {
  for (uint64_t salt = 0; salt < 256; ++salt) {
    EXPECT_TRUE(ValidateName("container", GeneratedName(salt)).ok()) << GeneratedName(salt);
  }
  EXPECT_EQ(BridgeName("0123456789abcdef"), "br-0123456789ab");
}

}  // namespace
}  // namespace berth
