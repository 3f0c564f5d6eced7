// Reading the links of a namespace the way `ip -d link` shows them: for a veth, the peer's
// ifindex (the N of "vethX@ifN"); for a bridge port, its master. This is how berth answers
// "which host veth is which container's eth0".
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

struct nl_sock;
struct rtnl_link;

namespace berth::net {

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  std::string kind;         // "veth", "bridge", "" for plain devices
  int master_ifindex = 0;   // 0: no master
  std::string master;       // its name, when in the same namespace
  int peer_ifindex = 0;     // IFLA_LINK: the other end of a veth (in its own namespace)
  bool up = false;
  int mtu = 0;
  std::string mac;
};

/// All links of the namespace at `netns_path`, or of the caller's when empty.
Result<std::vector<LinkInfo>> ListLinks(const std::string& netns_path = "");

/// All links of the namespace `sock` (a NETLINK_ROUTE socket) lives in.
Result<std::vector<LinkInfo>> ListLinks(nl_sock* sock);
/// One link as LinkInfo (master left empty: that needs the other links).
LinkInfo ReadLink(rtnl_link* link);

}  // namespace berth::net
