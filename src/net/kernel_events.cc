#include "net/kernel_events.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace berth::net {

Result<KernelEvents> KernelEvents::Open() {
  sys::Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
  if (!fd.valid()) return Error::System("netlink socket", errno);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Error::System("bind netlink groups", errno);
  }
  return KernelEvents(std::move(fd));
}

namespace {

// libnl gives every socket it opens the port id pid + (k << 22): the kernel stamps a change's
// notification with the port of the socket that asked for it.
constexpr uint32_t kPidBits = (1u << 22) - 1;

/// Is this notification a change this process made itself (its own writes: the caller's state
/// already knows them), or a static FDB entry appearing (the kernel stamps those with no port,
/// so berth's own look like anybody's; one of ours put back wrong is the periodic pass's)?
bool Own(const nlmsghdr* h, uint32_t self) {
  if (h->nlmsg_pid != 0) return (h->nlmsg_pid & kPidBits) == self;
  if (h->nlmsg_type != RTM_NEWNEIGH || h->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) return false;
  const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(h));
  return nd->ndm_family == AF_BRIDGE && (nd->ndm_state & NUD_PERMANENT) &&
         (nd->ndm_flags & NTF_SELF);
}

/// Does a datagram of notifications hold a change made by somebody else?
bool Foreign(const char* buf, size_t len, uint32_t self) {
  size_t left = len;
  for (auto* h = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(h, left);
       h = NLMSG_NEXT(h, left)) {
    if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_NOOP) continue;
    if (!Own(h, self)) return true;
  }
  return false;
}

}  // namespace

bool KernelEvents::Drain() {
  bool any = false;
  alignas(nlmsghdr) char buf[16384];
  const uint32_t self = static_cast<uint32_t>(::getpid()) & kPidBits;
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      if (Foreign(buf, static_cast<size_t>(n), self)) any = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {  // notifications were lost: assume a change
      any = true;
      continue;
    }
    return any;
  }
}

bool KernelEvents::Wait(int timeout_ms, int debounce_ms) {
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  bool changed = Drain();
  // Quiet for debounce_ms, or at most kMaxDebounce in all: neighbour churn on a busy host never
  // stops, and the caller must get back to repairing (and to its stop flag).
  constexpr auto kMaxDebounce = std::chrono::milliseconds(500);
  auto until = std::chrono::steady_clock::now() + kMaxDebounce;
  while (changed && std::chrono::steady_clock::now() < until && ::poll(&p, 1, debounce_ms) > 0) {
    Drain();
  }
  return changed;
}

}  // namespace berth::net
