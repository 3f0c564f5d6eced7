#include "diagnose/probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

#include "sys/fd.h"
#include "sys/netns.h"
#include "sys/sockaddr.h"

namespace berth::diagnose {

namespace {

ProbeOutcome FromErrno(int err) {
  switch (err) {
    case 0: return ProbeOutcome::kConnected;
    case ECONNREFUSED: return ProbeOutcome::kRefused;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EACCES:
    case EPERM: return ProbeOutcome::kUnreachable;
    case ETIMEDOUT: return ProbeOutcome::kTimeout;
    default: return ProbeOutcome::kError;
  }
}

// Waits for `events` on fd; false on timeout.
bool Wait(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

ProbeResult Failed(const char* what, int err) {
  return {FromErrno(err), std::string(what) + ": " + std::strerror(err)};
}

ProbeResult Stream(const IpAddr& ip, uint16_t port, std::chrono::milliseconds timeout) {
  sockaddr_storage ss;
  socklen_t len = sys::ToSockaddr(ip, port, &ss);
  sys::Fd s(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Failed("socket", errno);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0) return {};
  if (errno != EINPROGRESS) return Failed("connect", errno);
  if (!Wait(s.get(), POLLOUT, timeout)) return {ProbeOutcome::kTimeout, "no answer to SYN"};
  int err = 0;
  socklen_t elen = sizeof err;
  ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err) return Failed("connect", err);
  return {ProbeOutcome::kConnected, "connected"};
}

ProbeResult Datagram(const IpAddr& ip, uint16_t port, std::chrono::milliseconds timeout) {
  sockaddr_storage ss;
  socklen_t len = sys::ToSockaddr(ip, port, &ss);
  sys::Fd s(::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Failed("socket", errno);
  // Connected: an ICMP port unreachable comes back as ECONNREFUSED on the next call.
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return Failed("connect", errno);
  if (::send(s.get(), "\n", 1, 0) < 0) return Failed("send", errno);
  if (!Wait(s.get(), POLLIN | POLLERR, timeout)) return {ProbeOutcome::kTimeout, "no answer"};
  char buf[512];
  if (::recv(s.get(), buf, sizeof buf, 0) < 0) return Failed("recv", errno);
  return {ProbeOutcome::kConnected, "answered"};
}

uint16_t Checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

ProbeResult Echo(const IpAddr& ip, std::chrono::milliseconds timeout) {
  if (!ip.is_v4()) return {ProbeOutcome::kError, "ICMP probes are IPv4 only; give a port"};
  sys::Fd s(::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (!s.valid()) return Failed("raw socket", errno);
  sockaddr_storage ss;
  socklen_t len = sys::ToSockaddr(ip, 0, &ss);
  uint8_t req[16] = {ICMP_ECHO, 0, 0, 0, 0xbe, 0x27, 0, 1, 'b', 'e', 'r', 't', 'h', 'w', 'h', 'y'};
  uint16_t sum = Checksum(req, sizeof req);
  req[2] = static_cast<uint8_t>(sum >> 8);
  req[3] = static_cast<uint8_t>(sum);
  if (::sendto(s.get(), req, sizeof req, 0, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    return Failed("sendto", errno);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !Wait(s.get(), POLLIN, left)) {
      return {ProbeOutcome::kTimeout, "no echo reply"};
    }
    uint8_t buf[1500];
    sockaddr_in from{};
    socklen_t flen = sizeof from;
    ssize_t n = ::recvfrom(s.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) continue;
    size_t hl = static_cast<size_t>(buf[0] & 0x0f) * 4;  // raw IPv4 sockets see the IP header
    if (static_cast<size_t>(n) < hl + 8) continue;
    const uint8_t* icmp = buf + hl;
    if (icmp[0] == ICMP_ECHOREPLY && icmp[4] == 0xbe && icmp[5] == 0x27 &&
        ntohl(from.sin_addr.s_addr) == ip.v4()) {
      return {ProbeOutcome::kConnected, "echo reply"};
    }
    if (icmp[0] == ICMP_DEST_UNREACH && static_cast<size_t>(n) >= hl + 8 + 20 + 8) {
      const uint8_t* inner = icmp + 8;  // the IP header of our request, then its ICMP header
      size_t ihl = static_cast<size_t>(inner[0] & 0x0f) * 4;
      if (static_cast<size_t>(n) >= hl + 8 + ihl + 8 && inner[ihl + 4] == 0xbe &&
          inner[ihl + 5] == 0x27) {
        return {ProbeOutcome::kUnreachable, "ICMP destination unreachable"};
      }
    }
  }
}

}  // namespace

const char* ToString(ProbeOutcome o) {
  switch (o) {
    case ProbeOutcome::kConnected: return "connected";
    case ProbeOutcome::kRefused: return "refused";
    case ProbeOutcome::kUnreachable: return "unreachable";
    case ProbeOutcome::kTimeout: return "timeout";
    case ProbeOutcome::kError: return "error";
  }
  return "error";
}

Status RunInNetns(const std::string& netns_path, const std::function<void()>& fn) {
  if (netns_path.empty()) {
    fn();
    return Ok();
  }
  BERTH_ASSIGN_OR_RETURN(sys::Fd ns, sys::OpenNetns(netns_path));
  Status status = Ok();
  std::thread t([&] {
    auto entered = sys::ScopedNetns::Enter(ns.get());
    if (!entered.ok()) {
      status = entered.error();
      return;
    }
    fn();
  });
  t.join();
  return status;
}

ProbeResult Probe(const std::string& netns_path, const IpAddr& ip, std::optional<uint16_t> port,
                  Protocol protocol, std::chrono::milliseconds timeout) {
  ProbeResult r;
  Status s = RunInNetns(netns_path, [&] {
    if (!port) {
      r = Echo(ip, timeout);
    } else if (protocol == Protocol::kUdp) {
      r = Datagram(ip, *port, timeout);
    } else {
      r = Stream(ip, *port, timeout);
    }
  });
  if (!s.ok()) return {ProbeOutcome::kError, s.error().message()};
  return r;
}

Result<std::vector<sys::Listener>> ListenersIn(const std::string& netns_path) {
  Result<std::vector<sys::Listener>> out = Error::Internal("not run");
  BERTH_TRY(RunInNetns(netns_path, [&] { out = sys::ReadListeners(); }));
  return out;
}

namespace {

std::string EncodeQuery(const std::string& name, uint16_t id) {
  std::string q;
  q += static_cast<char>(id >> 8);
  q += static_cast<char>(id & 0xff);
  q += std::string("\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);  // RD, one question
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    if (dot > start) {
      q += static_cast<char>(dot - start);
      q += name.substr(start, dot - start);
    }
    start = dot + 1;
  }
  q += std::string("\x00\x00\x01\x00\x01", 5);  // root, type A, class IN
  return q;
}

// Skips a (possibly compressed) name; false when it runs past the end.
bool SkipName(const uint8_t* p, size_t n, size_t* pos) {
  while (*pos < n) {
    uint8_t len = p[*pos];
    if ((len & 0xc0) == 0xc0) {
      *pos += 2;
      return *pos <= n;
    }
    *pos += 1 + len;
    if (len == 0) return *pos <= n;
  }
  return false;
}

std::vector<IpAddr> ParseAnswers(const uint8_t* p, size_t n) {
  std::vector<IpAddr> out;
  if (n < 12 || (p[3] & 0x0f) != 0) return out;  // an error rcode: no addresses
  size_t qd = static_cast<size_t>(p[4] << 8 | p[5]), an = static_cast<size_t>(p[6] << 8 | p[7]);
  size_t pos = 12;
  for (size_t i = 0; i < qd; ++i) {
    if (!SkipName(p, n, &pos)) return out;
    pos += 4;
  }
  for (size_t i = 0; i < an && pos < n; ++i) {
    if (!SkipName(p, n, &pos) || pos + 10 > n) return out;
    uint16_t type = static_cast<uint16_t>(p[pos] << 8 | p[pos + 1]);
    size_t rdlen = static_cast<size_t>(p[pos + 8] << 8 | p[pos + 9]);
    pos += 10;
    if (pos + rdlen > n) return out;
    if (type == 1 && rdlen == 4) out.push_back(IpAddr::FromBytes(false, p + pos));
    pos += rdlen;
  }
  return out;
}

}  // namespace

Result<std::vector<IpAddr>> QueryA(const std::string& netns_path, const IpAddr& server,
                                   const std::string& name, std::chrono::milliseconds timeout) {
  Result<std::vector<IpAddr>> out = Error::Internal("not run");
  BERTH_TRY(RunInNetns(netns_path, [&] {
    sockaddr_storage ss;
    socklen_t len = sys::ToSockaddr(server, 53, &ss);
    sys::Fd s(::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.valid() || ::connect(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      out = Error::System("DNS socket", errno);
      return;
    }
    uint16_t id = static_cast<uint16_t>(::getpid() ^ 0x5a5a);
    std::string q = EncodeQuery(name, id);
    if (::send(s.get(), q.data(), q.size(), 0) < 0) {
      out = Error::System("send a DNS query to " + server.ToString(), errno);
      return;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !Wait(s.get(), POLLIN, left)) {
        out = Error::Unavailable("the DNS server " + server.ToString() + " did not answer");
        return;
      }
      uint8_t buf[1500];
      ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
      if (n < 0) {
        out = Error::System("DNS server " + server.ToString(), errno);
        return;
      }
      if (n < 12 || buf[0] != (id >> 8) || buf[1] != (id & 0xff)) continue;
      out = ParseAnswers(buf, static_cast<size_t>(n));
      return;
    }
  }));
  return out;
}

}  // namespace berth::diagnose
