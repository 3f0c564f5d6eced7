#include "net/ifreq.h"

#include <net/if.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace berth::net {

namespace {

// false with errno ENODEV: no such link.
bool Ask(int sock_fd, const std::string& name, unsigned long request, ifreq* req) {
  std::memset(req, 0, sizeof(*req));
  if (name.empty() || name.size() >= IFNAMSIZ) {
    errno = ENODEV;  // a name the kernel cannot hold names no link
    return false;
  }
  std::memcpy(req->ifr_name, name.data(), name.size());
  return ::ioctl(sock_fd, request, req) == 0;
}

}  // namespace

Result<std::optional<IfFacts>> IfLookup(int sock_fd, const std::string& name) {
  ifreq req;
  if (!Ask(sock_fd, name, SIOCGIFINDEX, &req)) {
    if (errno == ENODEV) return std::optional<IfFacts>();
    return Error::System("look up link " + name, errno);
  }
  IfFacts facts;
  facts.ifindex = req.ifr_ifindex;
  if (!Ask(sock_fd, name, SIOCGIFFLAGS, &req)) {
    if (errno == ENODEV) return std::optional<IfFacts>();  // gone in between
    return Error::System("read flags of link " + name, errno);
  }
  facts.flags = static_cast<unsigned short>(req.ifr_flags);
  return std::optional<IfFacts>(facts);
}

Result<std::optional<std::string>> IfMac(int sock_fd, const std::string& name) {
  ifreq req;
  if (!Ask(sock_fd, name, SIOCGIFHWADDR, &req)) {
    if (errno == ENODEV) return std::optional<std::string>();
    return Error::System("read MAC of link " + name, errno);
  }
  const auto* b = reinterpret_cast<const unsigned char*>(req.ifr_hwaddr.sa_data);
  char mac[18];
  std::snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return std::optional<std::string>(mac);
}

}  // namespace berth::net
