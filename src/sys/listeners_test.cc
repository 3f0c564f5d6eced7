#include "sys/listeners.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "sys/fd.h"

namespace berth::sys {
namespace {

// A socket bound to `ip`:0 (the kernel picks the port); listening when TCP, connected to
// `peer_port` on the same address when given (UDP).
struct Bound {
  Fd fd;
  uint16_t port = 0;
  uint64_t inode = 0;
};

Bound Bind(int family, int type, const char* ip, bool listen, uint16_t peer_port = 0) {
  Bound b;
  b.fd = Fd(::socket(family, type | SOCK_CLOEXEC, 0));
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    ::inet_pton(AF_INET, ip, &a->sin_addr);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, ip, &a->sin6_addr);
    len = sizeof(*a);
  }
  if (::bind(b.fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return b;
  if (listen) ::listen(b.fd.get(), 1);
  if (peer_port) {
    reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(peer_port);
    ::connect(b.fd.get(), reinterpret_cast<sockaddr*>(&ss), len);
  }
  sockaddr_storage got{};
  socklen_t got_len = sizeof(got);
  ::getsockname(b.fd.get(), reinterpret_cast<sockaddr*>(&got), &got_len);
  b.port = ntohs(reinterpret_cast<sockaddr_in*>(&got)->sin_port);
  struct stat st{};
  ::fstat(b.fd.get(), &st);
  b.inode = st.st_ino;
  return b;
}

const Listener* Find(const std::vector<Listener>& all, uint64_t inode) {
  for (const Listener& l : all) {
    if (l.inode == inode) return &l;
  }
  return nullptr;
}

TEST(Listeners, FindsListeningAndBoundSocketsWithTheirOwner) {
  Bound tcp = Bind(AF_INET, SOCK_STREAM, "127.0.0.1", true);
  Bound idle = Bind(AF_INET, SOCK_STREAM, "127.0.0.1", false);  // bound, not listening
  Bound udp = Bind(AF_INET, SOCK_DGRAM, "0.0.0.0", false);
  Bound connected = Bind(AF_INET, SOCK_DGRAM, "127.0.0.1", false, udp.port);
  Bound dual = Bind(AF_INET6, SOCK_STREAM, "::", true);
  ASSERT_NE(tcp.port, 0);
  auto all = ReadListeners();
  ASSERT_TRUE(all.ok()) << all.error().message();
  const Listener* l = Find(*all, tcp.inode);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->protocol, Protocol::kTcp);
  EXPECT_EQ(l->ip.ToString(), "127.0.0.1");
  EXPECT_EQ(l->port, tcp.port);
  EXPECT_EQ(Find(*all, idle.inode), nullptr);
  l = Find(*all, udp.inode);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->protocol, Protocol::kUdp);
  EXPECT_TRUE(l->ip.IsUnspecified());
  EXPECT_EQ(Find(*all, connected.inode), nullptr);
  if (dual.port) {  // when the host has IPv6
    l = Find(*all, dual.inode);
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->ip.ToString(), "0.0.0.0");  // a dual-stack :: takes IPv4 too
  }
  auto owner = FindSocketOwner(tcp.inode);
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->pid, ::getpid());
  EXPECT_FALSE(owner->name.empty());
  EXPECT_FALSE(FindSocketOwner(0).has_value());
}

TEST(Listeners, AreCheapToRead) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(ReadListeners().ok());
  auto each = (std::chrono::steady_clock::now() - start) / 10;
  std::printf("ReadListeners: %lld us\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(each).count()));
  EXPECT_LT(each, std::chrono::milliseconds(50));
}

}  // namespace
}  // namespace berth::sys
