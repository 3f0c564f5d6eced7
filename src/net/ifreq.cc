#include "net/ifreq.h"

#include <net/if.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace berth::net {

Result<std::optional<std::string>> IfMac(int sock_fd, const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return std::optional<std::string>();
  ifreq req;
  std::memset(&req, 0, sizeof(req));
  std::memcpy(req.ifr_name, name.data(), name.size());
  if (::ioctl(sock_fd, SIOCGIFHWADDR, &req) != 0) {
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
