#include "net/kernel_events.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>

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

bool KernelEvents::Drain() {
  bool any = false;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      any = true;
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
