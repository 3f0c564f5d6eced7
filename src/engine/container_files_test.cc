#include "engine/container_files.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

TEST(ContainerFiles, HostsNamesTheContainer) {
  std::string h = RenderHosts("a1b2c3", "web", {*IpAddr::Parse("172.18.0.2")});
  EXPECT_EQ(h.rfind("127.0.0.1\tlocalhost\n", 0), 0u);
  EXPECT_NE(h.find("\n172.18.0.2\ta1b2c3 web\n"), std::string::npos);
  EXPECT_EQ(RenderHosts("web", "web", {*IpAddr::Parse("10.0.0.2")}).find("web web"),
            std::string::npos);
}

TEST(ContainerFiles, HostsKeepsWhatBerthDidNotWrite) {
  std::string before = RenderHosts("h", "web", {*IpAddr::Parse("172.18.0.2")}) +
                       "10.1.2.3\tdb.local\n203.0.113.9 mine # edited by hand\n";
  std::string after =
      RenderHosts("h", "web", {*IpAddr::Parse("172.19.0.5"), *IpAddr::Parse("172.18.0.2")}, before);
  EXPECT_EQ(after, RenderHosts("h", "web",
                               {*IpAddr::Parse("172.19.0.5"), *IpAddr::Parse("172.18.0.2")}) +
                       "10.1.2.3\tdb.local\n203.0.113.9 mine # edited by hand\n");
  // The container's own lines go with its endpoints; the kept ones are never doubled.
  std::string released = RenderHosts("h", "web", {}, after);
  EXPECT_EQ(released.find("172.1"), std::string::npos);
  EXPECT_EQ(RenderHosts("h", "web", {}, released), released);
}

TEST(ContainerFiles, ResolvConfDropsLoopbackNameservers) {
  std::string host =
      "# comment\nnameserver 127.0.0.53\nnameserver 203.0.113.53\nnameserver ::1\n"
      "search example.test\noptions edns0 trust-ad\n";
  std::string r = RenderResolvConf(host);
  EXPECT_EQ(r.find("127.0.0.53"), std::string::npos);
  EXPECT_EQ(r.find("::1"), std::string::npos);
  EXPECT_NE(r.find("nameserver 203.0.113.53\n"), std::string::npos);
  EXPECT_NE(r.find("search example.test\n"), std::string::npos);
  EXPECT_NE(r.find("options edns0 trust-ad\n"), std::string::npos);
  std::string own = RenderResolvConf(host, {"172.18.0.1"});
  EXPECT_NE(own.find("nameserver 172.18.0.1\n"), std::string::npos);
  EXPECT_EQ(own.find("203.0.113.53"), std::string::npos);
  EXPECT_NE(own.find("search example.test\n"), std::string::npos);
}

TEST(ContainerFiles, ResolvConfSearchOverrideReplacesSearchAndDomain) {
  std::string host = "nameserver 203.0.113.53\ndomain old.test\nsearch a.test\noptions ndots:2\n";
  std::string r = RenderResolvConf(host, {"172.18.0.1"}, {"corp.test", "lab.test"});
  EXPECT_NE(r.find("search corp.test lab.test\n"), std::string::npos);
  EXPECT_EQ(r.find("a.test\n"), std::string::npos);
  EXPECT_EQ(r.find("domain"), std::string::npos);
  EXPECT_NE(r.find("options ndots:2\n"), std::string::npos);
}

}  // namespace
}  // namespace berth::engine
