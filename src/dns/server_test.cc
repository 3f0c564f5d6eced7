// The DNS server's TCP side against slow and greedy clients, over loopback (127.0.0.0/8: the
// "host" asking a gateway at 127.0.0.1, from any of its addresses).
#include "dns/server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "dns/test_util.h"
#include "sys/sockaddr.h"

namespace berth::dns {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

uint16_t FreePort() {
  sys::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

class DnsServerTcpTest : public ::testing::Test {
 protected:
  void Start(int idle_ms, int per_source) {
    port_ = FreePort();
    ServerOptions opts;
    opts.port = port_;
    opts.workers = 1;
    opts.tcp_idle_ms = idle_ms;
    opts.tcp_per_source = per_source;
    auto s = Server::Start(opts);
    ASSERT_TRUE(s.ok()) << s.error().message();
    server_ = std::move(*s);
    TableSpec spec;
    spec.networks.push_back(
        {"n", {*IpAddr::Parse("127.0.0.1")}, {*Cidr::ParseNetwork("127.0.0.0/8")}, false});
    spec.endpoints.push_back({0, *IpAddr::Parse("127.0.0.2"), {"web"}, "c1"});
    server_->Publish(Table::Build(spec));
    auto failed = server_->SetListeners({*IpAddr::Parse("127.0.0.1")});
    ASSERT_TRUE(failed.empty()) << failed[0].second.message();
  }

  // A TCP connection to the server from `source`.
  sys::Fd Dial(const std::string& source) {
    sys::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_storage ss;
    socklen_t len = sys::ToSockaddr(*IpAddr::Parse(source), 0, &ss);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
    len = sys::ToSockaddr(*IpAddr::Parse("127.0.0.1"), port_, &ss);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
    timeval tv{3, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }

  // Sends a query for `name`; returns the answer's rcode, or -1 when the connection closed.
  int Ask(int fd, const std::string& name) {
    std::string q = testing_util::MakeQuery(7, name, 1);
    std::string msg;
    testing_util::Put16(msg, static_cast<uint16_t>(q.size()));
    msg += q;
    if (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
      return -1;
    }
    uint8_t hdr[2];
    if (::recv(fd, hdr, 2, MSG_WAITALL) != 2) return -1;
    std::string reply((hdr[0] << 8) | hdr[1], '\0');
    if (::recv(fd, reply.data(), reply.size(), MSG_WAITALL) != static_cast<ssize_t>(reply.size())) {
      return -1;
    }
    return reply[3] & 0xf;
  }

  // Milliseconds until the server closes `fd` (reads return 0), or -1 after `limit_ms`.
  double MsUntilClosed(int fd, int limit_ms) {
    auto start = Clock::now();
    char c;
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      int left =
          limit_ms -
          static_cast<int>(
              std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
      if (left <= 0 || ::poll(&p, 1, left) <= 0) return -1;
      ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
      if (n <= 0) {
        return MsSince(start);
      }
    }
  }

  uint16_t port_ = 0;
  std::unique_ptr<Server> server_;
};

TEST_F(DnsServerTcpTest, AnswersSeveralQueriesOnOneConnection) {
  Start(2000, 8);
  sys::Fd c = Dial("127.0.0.2");
  EXPECT_EQ(Ask(c.get(), "web"), 0);
  EXPECT_EQ(Ask(c.get(), "web"), 0);
  EXPECT_EQ(server_->Stats().tcp_queries, 2u);
}

TEST_F(DnsServerTcpTest, SlowSenderIsClosedWithinTheIdleTimeout) {
  Start(300, 8);
  sys::Fd slow = Dial("127.0.0.2");
  auto start = Clock::now();
  // One byte every 100 ms: each arrives well within any per-read timeout, but the query never
  // completes in time.
  std::thread trickle([fd = slow.get()] {
    for (int i = 0; i < 10; ++i) {
      if (::send(fd, "\1", 1, MSG_NOSIGNAL) != 1) return;  // a 257-byte query, never finished
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  double ms = MsUntilClosed(slow.get(), 2000);
  trickle.join();
  EXPECT_GE(ms, 0) << "never closed";
  EXPECT_LT(MsSince(start), 1500);
  EXPECT_EQ(server_->Stats().tcp_timeouts, 1u);
  // Empty messages (a zero length prefix, two bytes at a time) are no queries: they do not buy
  // time either.
  sys::Fd empties = Dial("127.0.0.2");
  EXPECT_EQ(::send(empties.get(), "\0\0", 2, MSG_NOSIGNAL), 2);
  EXPECT_GE(MsUntilClosed(empties.get(), 1000), 0);
  // The idle time between queries counts too.
  sys::Fd kept = Dial("127.0.0.2");
  EXPECT_EQ(Ask(kept.get(), "web"), 0);
  EXPECT_GE(MsUntilClosed(kept.get(), 2000), 200);
}

TEST_F(DnsServerTcpTest, OneSourceHoldsAtMostItsShareOfConnections) {
  Start(5000, 3);
  std::vector<sys::Fd> held;
  for (int i = 0; i < 3; ++i) held.push_back(Dial("127.0.0.2"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // all accepted
  sys::Fd extra = Dial("127.0.0.2");
  double ms = MsUntilClosed(extra.get(), 1000);
  EXPECT_GE(ms, 0) << "a 4th connection from the same source was kept";
  EXPECT_GE(server_->Stats().tcp_rejected, 1u);
  // Another source is served meanwhile, at once.
  sys::Fd other = Dial("127.0.0.3");
  auto start = Clock::now();
  EXPECT_EQ(Ask(other.get(), "web"), 0);
  EXPECT_LT(MsSince(start), 500);
  // A slot freed is a slot again.
  held.pop_back();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  sys::Fd again = Dial("127.0.0.2");
  EXPECT_EQ(Ask(again.get(), "web"), 0);
}

TEST_F(DnsServerTcpTest, StopIsPromptWithIdleConnections) {
  Start(10000, 8);
  sys::Fd a = Dial("127.0.0.2"), b = Dial("127.0.0.3");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto start = Clock::now();
  server_->Stop();
  EXPECT_LT(MsSince(start), 1000);
}

}  // namespace
}  // namespace berth::dns
