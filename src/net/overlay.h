// The multi-host data plane of one node, flannel's model: per peer node either a direct route
// to its subnet via its node IP (host-gw, same L2 only) or, through one VXLAN device, a static
// FDB entry (peer VTEP MAC -> peer node IP), a permanent neighbour (peer VTEP address -> MAC)
// and an onlink route to the peer subnet via the peer's VTEP address. The VTEP address of a
// node is the network address of its subnet (10.244.3.0 for 10.244.3.0/24), as flannel does.
//
// Everything is programmed through rtnetlink (libnl / libmnl), in the calling thread's
// network namespace, never by running `ip`. Routes berth owns carry their own routing
// protocol number (kRouteProtocol), so Apply finds and removes stale ones after a crash
// without touching anybody else's routes.
//
// Apply is a reconcile: it reads what the kernel holds, adds what is missing, replaces what is
// wrong and deletes berth-owned entries for peers no longer wanted; what is already right is
// not touched (an agent restart causes no blip in traffic). ApplyChanges is its incremental
// form for one node event: it trusts what the last Apply programmed instead of reading the
// kernel, so it writes only the changed peers' entries and costs the same with 5 or 500 peers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ip.h"

namespace berth::net {

/// rtm_protocol of every route berth's overlay installs (unused by iproute2's rt_protos).
inline constexpr int kRouteProtocol = 0xbe;
inline constexpr int kVxlanOverhead = 50;  // outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8

struct VxlanSpec {
  std::string name = "berth.vxlan";
  uint32_t vni = 1;
  uint16_t port = 8472;
  IpAddr local;                // this node's IP on the underlay (source of the outer packets)
  std::string underlay_dev;  // the device that has `local`
  int mtu = 0;               // underlay MTU - kVxlanOverhead unless overridden
  Cidr vtep_address;         // this node's subnet network address as /32 (10.244.1.0/32)
};

struct Underlay {
  std::string dev;
  int mtu = 0;
};
/// The device holding node_ip and its MTU (refuses an address no local device has).
Result<Underlay> FindUnderlay(const IpAddr& node_ip);

enum class PeerPath { kHostGw, kVxlan };

struct Peer {
  std::string node;       // for messages only
  Cidr subnet;            // 10.244.3.0/24
  IpAddr node_ip;           // underlay address
  PeerPath path = PeerPath::kVxlan;
  std::string vtep_mac;   // "aa:bb:..", kVxlan only
};

/// Is `peer_ip` on the same L2 subnet as one of this node's addresses on `dev` (auto backend)?
Result<bool> OnLink(const std::string& dev, const IpAddr& peer_ip);
/// The IPv4 subnets of this node's addresses on `dev`: OnLink for many peers is one read and
/// a Contains per peer.
Result<std::vector<Cidr>> LinkSubnets(const std::string& dev);

/// Creates the VXLAN device (learning off, the given VNI/port/local/dev/MTU, up, with its
/// VTEP address) or brings an existing one in line; returns its MAC. A device of that name
/// with a different VNI or port is replaced.
Result<std::string> EnsureVxlan(const VxlanSpec& spec);
/// Deletes the device (and with it its FDB and neighbours); absent counts as deleted.
Status DeleteVxlan(const std::string& name);

/// What the kernel holds now for berth's overlay: berth-owned routes plus, for vxlan peers,
/// their FDB entry and neighbour on `vxlan_dev`.
Result<std::vector<Peer>> Programmed(const std::string& vxlan_dev);

struct ApplyStats {
  int added = 0, replaced = 0, removed = 0, unchanged = 0;
};
/// Makes the kernel hold exactly `peers` (see the file comment). `vxlan_dev` may be absent when
/// no peer uses vxlan.
Result<ApplyStats> Apply(const std::string& vxlan_dev, const std::vector<Peer>& peers);
/// Takes the kernel from `last` (what the previous Apply or ApplyChanges programmed, taken on
/// trust: nothing is read back) to `peers`, writing only the entries that differ. A new peer's
/// route is added exclusively, as Apply does, so a route to its subnet that is there already
/// (somebody else's, or ours put back by hand) fails it: on any error the caller runs Apply.
Result<ApplyStats> ApplyChanges(const std::string& vxlan_dev, const std::vector<Peer>& last,
                                const std::vector<Peer>& peers);

}  // namespace berth::net
