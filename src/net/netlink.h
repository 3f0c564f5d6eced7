// RAII owners for libnl objects and the one place libnl error codes become berth Errors.
// A NlSocket is bound to the network namespace it was opened in for its whole life, so a
// container-side socket is opened once inside a ScopedNetns and then used from anywhere.
#pragma once

#include <netlink/addr.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/ip.h"

namespace berth::net {

struct NlSockFree {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct NlLinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct NlAddrPut {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct NlRtAddrPut {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct NlRoutePut {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct NlCacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};

using NlSocket = std::unique_ptr<nl_sock, NlSockFree>;
using NlLink = std::unique_ptr<rtnl_link, NlLinkPut>;
using NlAddr = std::unique_ptr<nl_addr, NlAddrPut>;
using NlRtAddr = std::unique_ptr<rtnl_addr, NlRtAddrPut>;
using NlRoute = std::unique_ptr<rtnl_route, NlRoutePut>;
using NlCache = std::unique_ptr<nl_cache, NlCacheFree>;

/// A libnl error (a negative NLE_* code) as an Error: NLE_EXIST -> kExists, a missing object ->
/// kNotFound, everything else kSystem, with libnl's text.
Error NlError(std::string_view what, int nl_err);
bool IsNlNotFound(int nl_err);

/// A connected NETLINK_ROUTE socket in the calling thread's current namespace.
Result<NlSocket> OpenRouteSocket();
/// The same, opened inside the namespace `netns_fd` (the thread returns to its own at once).
Result<NlSocket> OpenRouteSocketIn(int netns_fd);

/// `ip` with `prefix` as a libnl address.
NlAddr ToNlAddr(const IpAddr& ip, int prefix);
IpAddr FromNlAddr(const nl_addr* a);

/// The link called `name`, or nullptr when there is none.
Result<NlLink> GetLink(nl_sock* sock, const std::string& name);

}  // namespace berth::net
