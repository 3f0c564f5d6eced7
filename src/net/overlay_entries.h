// The kernel entries berth's overlay is made of, read and written through rtnetlink (internal
// to overlay_*.cc): berth's routes (protocol kRouteProtocol, main table) and, on the VXLAN
// device, static FDB entries (peer VTEP MAC -> peer node IP, `bridge fdb ... self permanent`)
// and permanent neighbours (peer VTEP address -> MAC). Only these are ever deleted: everything
// else in the tables belongs to somebody else.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ip.h"

struct nl_sock;

namespace berth::net {

struct OverlayRoute {
  Cidr dst;
  IpAddr via;
  int ifindex = 0;      // 0 when written: the kernel picks the device that reaches `via`
  bool onlink = false;  // vxlan routes: the VTEP address is on no subnet of the device

  bool operator==(const OverlayRoute&) const = default;
};

struct FdbEntry {
  std::string mac;  // lowercase "aa:bb:cc:dd:ee:ff"
  IpAddr node_ip;
};

struct NeighEntry {
  IpAddr ip;
  std::string mac;
};

/// What the kernel holds now.
struct OverlayEntries {
  int vxlan_ifindex = 0;  // 0: there is no VXLAN device of that name
  std::vector<OverlayRoute> routes;
  std::map<std::string, IpAddr> fdb;      // on the VXLAN device: MAC -> node IP
  std::map<IpAddr, std::string> neighs;   // on the VXLAN device: VTEP address -> MAC
};

/// Reads berth's IPv4 routes and the VXLAN device's entries (an absent device has none).
Result<OverlayEntries> ReadOverlayEntries(nl_sock* sock, const std::string& vxlan_dev);

enum class Write { kAdd, kReplace, kDelete };

Status WriteRoute(nl_sock* sock, const OverlayRoute& route, Write how);
Status WriteFdb(nl_sock* sock, int vxlan_ifindex, const FdbEntry& entry, Write how);
Status WriteNeigh(nl_sock* sock, int vxlan_ifindex, const NeighEntry& entry, Write how);

/// "AA:BB:.." -> "aa:bb:..": MACs compare as text.
std::string NormalMac(std::string mac);

}  // namespace berth::net
