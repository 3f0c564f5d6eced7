#include "engine/host_ports.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

IpAddr I(const char* s) { return *IpAddr::Parse(s); }

HostPorts Make(std::vector<sys::Listener> listeners, int* loads = nullptr) {
  return HostPorts(
      [] { return Result<std::vector<IpAddr>>(std::vector<IpAddr>{I("172.18.0.1")}); },
      [listeners, loads] {
        if (loads) ++*loads;
        return Result<std::vector<sys::Listener>>(listeners);
      },
      [](uint64_t inode) -> std::optional<sys::SocketOwner> {
        if (inode == 7) return sys::SocketOwner{123, "python3"};
        return std::nullopt;
      });
}

TEST(HostPorts, RefusesAPortAHostProcessListensOn) {
  int loads = 0;
  HostPorts h = Make({{Protocol::kTcp, I("127.0.0.1"), 7777, 7}}, &loads);
  auto st = h.Check(Protocol::kTcp, I("0.0.0.0"), 7777, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kInUse);
  EXPECT_NE(st.error().message().find(
                "port 7777/tcp is in use on the host by process python3 (pid 123)"),
            std::string::npos)
      << st.error().message();
  EXPECT_FALSE(h.Check(Protocol::kTcp, I("127.0.0.1"), 7777, 1).ok());
  EXPECT_FALSE(h.Check(Protocol::kTcp, I("0.0.0.0"), 1, 65535).ok());  // a range holding it
  // Another address, another protocol, another port: free.
  EXPECT_TRUE(h.Check(Protocol::kTcp, I("203.0.113.1"), 7777, 1).ok());
  EXPECT_TRUE(h.Check(Protocol::kUdp, I("0.0.0.0"), 7777, 1).ok());
  EXPECT_TRUE(h.Check(Protocol::kTcp, I("0.0.0.0"), 7778, 10).ok());
  EXPECT_EQ(loads, 1);  // one snapshot for every check
}

TEST(HostPorts, AWildcardListenerTakesEveryAddress) {
  HostPorts h = Make({{Protocol::kUdp, I("0.0.0.0"), 5353, 9}});
  auto st = h.Check(Protocol::kUdp, I("203.0.113.1"), 5353, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("a process berth cannot see"), std::string::npos);
  // IPv6-only listeners are not shadowed by berth's IPv4 DNAT.
  EXPECT_TRUE(Make({{Protocol::kTcp, I("::1"), 80, 1}}).Check(Protocol::kTcp, I("0.0.0.0"), 80, 1).ok());
}

TEST(HostPorts, Port53OnAGatewayIsBerthds) {
  HostPorts h = Make({});
  for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
    auto st = h.Check(p, I("0.0.0.0"), 53, 1);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("taken by berthd"), std::string::npos);
    EXPECT_FALSE(h.Check(p, I("172.18.0.1"), 50, 10).ok());
  }
  EXPECT_TRUE(h.Check(Protocol::kUdp, I("203.0.113.1"), 53, 1).ok());
}

}  // namespace
}  // namespace berth::engine
