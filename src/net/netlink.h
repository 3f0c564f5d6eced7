// RAII owners for libnl objects and the one place libnl error codes become berth Errors.
// A NlSocket is bound to the network namespace it was opened in for its whole life, so a
// container-side socket is opened once inside a ScopedNetns and then used from anywhere.
//
// The kernel explains many refusals in its extended ack ("mtu less than device minimum"),
// which libnl drops: its errors are bare errno codes ("Invalid input data or parameter").
// Sockets from OpenRouteSocket ask for extended acks and install an error callback that keeps
// the explanation of the last error ack received on the calling thread; NlError appends it to
// the error it makes, "create bridge: Invalid input data or parameter (kernel: mtu less than
// device minimum)". Per thread, not per socket: libnl offers no way back from a socket to its
// callback's argument, and NlError is called on the thread that made the failing call, right
// after it (a socket is never shared between threads while in use).
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
/// kNotFound, everything else kSystem (with the kernel's errno when it sent one). The message
/// is libnl's text plus, when the kernel explained this error, its reason: "what: libnl text
/// (kernel: reason)".
Error NlError(std::string_view what, int nl_err);

/// NLMSGERR_ATTR_MSG of an NLMSG_ERROR message, or "" (exposed for tests).
std::string ExtackMessage(const nlmsghdr* error_msg);
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

/// Adds `address` (interface form, 10.1.0.1/24; IPv4 gets its broadcast) to link `ifindex`.
/// An address the link already has is kExists.
Status AddAddressWith(nl_sock* sock, int ifindex, const Cidr& address);

/// Deletes the link called `name`; a missing link counts as deleted.
Status DeleteLinkWith(nl_sock* sock, const std::string& name);

}  // namespace berth::net
