#include "sys/listeners.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <charconv>
#include <cstring>

#include "sys/fd.h"
#include "sys/proc.h"

namespace berth::sys {

namespace {

// One sock_diag dump: every socket of `family`/`protocol` in one of `states`.
Status DumpSockets(int family, Protocol protocol, uint32_t states, std::vector<Listener>& out) {
  Fd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!sock.valid()) return Error::System("sock_diag socket", errno);
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.req.sdiag_family = static_cast<uint8_t>(family);
  msg.req.sdiag_protocol = protocol == Protocol::kTcp ? IPPROTO_TCP : IPPROTO_UDP;
  msg.req.idiag_states = states;
  if (::send(sock.get(), &msg, sizeof(msg), 0) < 0) return Error::System("sock_diag send", errno);
  alignas(nlmsghdr) char buf[32768];
  for (;;) {
    ssize_t n = ::recv(sock.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::System("sock_diag recv", errno);
    int left = static_cast<int>(n);
    // NLMSG_OK spelled out: the macro compares the u32 length with an int (clang's
    // -Wsign-compare).
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf);
         left >= static_cast<int>(sizeof(nlmsghdr)) && h->nlmsg_len >= sizeof(nlmsghdr) &&
         h->nlmsg_len <= static_cast<unsigned>(left);
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return Ok();
      if (h->nlmsg_type == NLMSG_ERROR) {
        int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
        // No IPv6 (or no UDP diag module): nothing of that kind listens.
        if (err == ENOENT || err == EAFNOSUPPORT || err == EINVAL) return Ok();
        return Error::System("sock_diag dump", err);
      }
      auto* d = reinterpret_cast<inet_diag_msg*>(NLMSG_DATA(h));
      if (d->id.idiag_dport != 0) continue;  // a connected UDP socket hears only its peer
      Listener l;
      l.protocol = protocol;
      l.port = ntohs(d->id.idiag_sport);
      l.inode = d->idiag_inode;
      const auto* bytes = reinterpret_cast<const uint8_t*>(d->id.idiag_src);
      static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      if (d->idiag_family == AF_INET) {
        l.ip = IpAddr::FromBytes(false, bytes);
      } else if (std::memcmp(bytes, kMapped, 12) == 0) {
        l.ip = IpAddr::FromBytes(false, bytes + 12);
      } else {
        l.ip = IpAddr::FromBytes(true, bytes);
        if (l.ip.IsUnspecified()) l.ip = IpAddr::V4(0);  // dual-stack: IPv4 too
      }
      if (l.port != 0) out.push_back(l);
    }
  }
}

}  // namespace

Result<std::vector<Listener>> ReadListeners() {
  // sock_diag, not /proc/net/tcp: the kernel then walks only the listening hash for TCP, not
  // every connection of every namespace (reading /proc/net/tcp took 5 ms on a quiet host).
  std::vector<Listener> out;
  for (int family : {AF_INET, AF_INET6}) {
    BERTH_TRY(DumpSockets(family, Protocol::kTcp, 1u << TCP_LISTEN, out));
    BERTH_TRY(DumpSockets(family, Protocol::kUdp, 1u << TCP_CLOSE, out));
  }
  return out;
}

std::optional<SocketOwner> FindSocketOwner(uint64_t inode) {
  const std::string want = "socket:[" + std::to_string(inode) + "]";
  DIR* proc = ::opendir("/proc");
  if (!proc) return std::nullopt;
  std::optional<SocketOwner> found;
  while (dirent* p = ::readdir(proc)) {
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(p->d_name, p->d_name + std::strlen(p->d_name), pid);
    if (ec != std::errc() || *end != '\0') continue;
    std::string fd_dir = "/proc/" + std::string(p->d_name) + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());
    if (!fds) continue;
    while (dirent* f = ::readdir(fds)) {
      char target[64];
      std::string link = fd_dir + "/" + f->d_name;
      ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
      if (n <= 0 || want.compare(0, want.size(), target, static_cast<size_t>(n)) != 0) continue;
      auto comm = ReadFile("/proc/" + std::string(p->d_name) + "/comm");
      std::string name = comm.ok() ? *comm : "?";
      while (!name.empty() && name.back() == '\n') name.pop_back();
      found = SocketOwner{pid, name};
      break;
    }
    ::closedir(fds);
    if (found) break;
  }
  ::closedir(proc);
  return found;
}

}  // namespace berth::sys
