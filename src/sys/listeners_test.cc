#include "sys/listeners.h"

#include <gtest/gtest.h>

namespace berth::sys {
namespace {

TEST(Listeners, ParsesTcpListenersOnly) {
  const char* tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n"
      "   0: 0100007F:1E61 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "1584 1 0000000000000000 100 0 0 10 0\n"
      "   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "1585 1 0000000000000000 100 0 0 10 0\n"
      "   2: 0100007F:8F2A 0100007F:1E61 01 00000000:00000000 00:00000000 00000000     0        0 "
      "1586 1 0000000000000000 100 0 0 10 0\n";
  auto l = ParseSocketTable(tcp, Protocol::kTcp);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].ip.ToString(), "127.0.0.1");
  EXPECT_EQ(l[0].port, 7777);
  EXPECT_EQ(l[0].inode, 1584u);
  EXPECT_TRUE(l[1].ip.IsUnspecified());
  EXPECT_EQ(l[1].port, 80);
}

TEST(Listeners, ParsesUdp6AndSkipsConnectedSockets) {
  const char* udp6 =
      "  sl  local_address                         remote_address                        st "
      "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "  1: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 07 "
      "00000000:00000000 00:00000000 00000000     0        0 2001 2 0000000000000000 0\n"
      "  2: 0000000000000000FFFF00000100007F:0036 00000000000000000000000000000000:0000 07 "
      "00000000:00000000 00:00000000 00000000     0        0 2002 2 0000000000000000 0\n"
      "  3: 00000000000000000000000001000000:0037 00000000000000000000000000000000:0000 07 "
      "00000000:00000000 00:00000000 00000000     0        0 2003 2 0000000000000000 0\n"
      "  4: 00000000000000000000000000000000:A000 0000000000000000FFFF00000100007F:0035 01 "
      "00000000:00000000 00:00000000 00000000     0        0 2004 2 0000000000000000 0\n";
  auto l = ParseSocketTable(udp6, Protocol::kUdp);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].ip.ToString(), "0.0.0.0");  // dual-stack :: takes IPv4 too
  EXPECT_EQ(l[0].port, 53);
  EXPECT_EQ(l[1].ip.ToString(), "127.0.0.1");  // IPv4-mapped
  EXPECT_EQ(l[2].ip.ToString(), "::1");
  EXPECT_EQ(l[2].protocol, Protocol::kUdp);
}

TEST(Listeners, ReadsThisNamespaceAndFindsTheOwner) {
  auto l = ReadListeners();
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_FALSE(FindSocketOwner(0).has_value());
}

}  // namespace
}  // namespace berth::sys
