#include "net/netlink.h"

#include <netlink/errno.h>
#include <sys/socket.h>

#include "sys/netns.h"

namespace berth::net {

bool IsNlNotFound(int nl_err) {
  int e = nl_err < 0 ? -nl_err : nl_err;
  return e == NLE_OBJ_NOTFOUND || e == NLE_NODEV;
}

Error NlError(std::string_view what, int nl_err) {
  int e = nl_err < 0 ? -nl_err : nl_err;
  std::string msg = std::string(what) + ": " + nl_geterror(e);
  if (e == NLE_EXIST) return Error(Code::kExists, msg, EEXIST);
  if (IsNlNotFound(e)) return Error(Code::kNotFound, msg, ENODEV);
  if (e == NLE_PERM || e == NLE_NOACCESS) return Error(Code::kSystem, msg, EPERM);
  return Error(Code::kSystem, msg);
}

Result<NlSocket> OpenRouteSocket() {
  NlSocket sock(nl_socket_alloc());
  if (!sock) return Error::System("allocate netlink socket", ENOMEM);
  int err = nl_connect(sock.get(), NETLINK_ROUTE);
  if (err < 0) return NlError("connect netlink socket", err);
  // Kernel error strings (extack) make "Invalid argument" say what was invalid.
  int one = 1;
  setsockopt(nl_socket_get_fd(sock.get()), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  return sock;
}

Result<NlSocket> OpenRouteSocketIn(int netns_fd) {
  BERTH_ASSIGN_OR_RETURN(auto guard, sys::ScopedNetns::Enter(netns_fd));
  return OpenRouteSocket();
}

NlAddr ToNlAddr(const IpAddr& ip, int prefix) {
  NlAddr a(nl_addr_build(ip.is_v4() ? AF_INET : AF_INET6, ip.data(), ip.size()));
  nl_addr_set_prefixlen(a.get(), prefix);
  return a;
}

IpAddr FromNlAddr(const nl_addr* a) {
  auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(a));
  return IpAddr::FromBytes(nl_addr_get_family(a) == AF_INET6, bytes);
}

Result<NlLink> GetLink(nl_sock* sock, const std::string& name) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock, 0, name.c_str(), &raw);
  if (err < 0) {
    if (IsNlNotFound(err)) return NlLink();
    return NlError("look up link " + name, err);
  }
  return NlLink(raw);
}

}  // namespace berth::net
