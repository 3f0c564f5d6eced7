// Observing what the kernel holds in one network namespace: links, addresses and main-table
// routes, read through rtnetlink. Read-only; used to verify an attachment (CNI CHECK), to
// report MACs the kernel chose, and to decide whether a default route is already there.
//
// LinkOps::Observe/GetLinkInfo are the way in (so fakes can answer in unit tests); the functions
// here do the reading on a socket already bound to the namespace.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "net/links.h"

namespace berth::net {

struct AddrInfo {
  int ifindex = 0;
  Cidr address;  // interface form: 10.1.0.5/24
};

struct RouteInfo {
  std::optional<Cidr> dst;  // nullopt: a default route
  std::optional<IpAddr> gateway;
  int ifindex = 0;          // of the first next hop
  int protocol = 0;         // rtm_protocol: who installed it (RTPROT_*, berth's overlay 0xbe)
  bool onlink = false;      // RTNH_F_ONLINK: the gateway is taken as reachable on ifindex
};

struct NamespaceView {
  std::vector<LinkInfo> links;
  std::vector<AddrInfo> addrs;
  std::vector<RouteInfo> routes;  // main table only

  const LinkInfo* Link(const std::string& name) const;
  bool HasAddress(int ifindex, const Cidr& address) const;
  /// A route to `dst` (nullopt: default) via `gateway` out of `ifindex`.
  bool HasRoute(const std::optional<Cidr>& dst, const IpAddr& gateway, int ifindex) const;
  bool HasDefaultRoute(bool v6) const;
};

}  // namespace berth::net

struct nl_sock;  // libnl's socket (netlink.h); observe.cc is the only user of its insides

namespace berth::net {

/// Links, addresses and main-table routes of the namespace the socket was opened in.
Result<NamespaceView> ObserveWith(nl_sock* sock);

/// IPv4 and IPv6 addresses of the namespace the socket was opened in.
Result<std::vector<AddrInfo>> AddrsWith(nl_sock* sock);

/// Main-table routes of the namespace the socket was opened in.
Result<std::vector<RouteInfo>> RoutesWith(nl_sock* sock);

/// One link by name (with its master's name), or nullopt when there is none.
Result<std::optional<LinkInfo>> ObserveLinkWith(nl_sock* sock, const std::string& name);

/// The name of link `ifindex`, or "" when there is none (or it cannot be read).
std::string LinkNameWith(nl_sock* sock, int ifindex);

}  // namespace berth::net
