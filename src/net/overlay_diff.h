// The reconcile of Apply (overlay.h) as data: from what the kernel holds and the peers wanted,
// the writes that make the first into the second, and what they amount to per peer. Pure, so
// its decisions are unit-tested without a kernel.
#pragma once

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "core/error.h"
#include "net/overlay.h"
#include "net/overlay_entries.h"

namespace berth::net {

struct OverlayWrite {
  std::variant<OverlayRoute, FdbEntry, NeighEntry> entry;
  Write how;
  std::string peer;  // for messages: the node it is for, or the stale entry's description
};

struct OverlayDiff {
  /// In order: per wanted peer its FDB entry, neighbour and route (the route last, so traffic
  /// is sent only once the rest is there), then the deletion of stale routes, neighbours and
  /// FDB entries (routes first, for the same reason).
  std::vector<OverlayWrite> writes;
  /// Per wanted peer: added (berth had no route to its subnet), replaced (something of it was
  /// missing or wrong) or unchanged; removed counts the berth routes to subnets not wanted.
  ApplyStats stats;
};

/// Refuses (kInvalid) vxlan peers without a MAC, or without a VXLAN device to program, and two
/// peers with the same subnet.
Result<OverlayDiff> DiffOverlay(const OverlayEntries& now, const std::vector<Peer>& want);

/// What the kernel holds once Apply(peers) succeeded on a VXLAN device `vxlan_ifindex` (0:
/// none): the `now` of ApplyChanges, whose diff against the peers wanted is then only the
/// changed peers' writes. Host-gw routes carry ifindex 0 (the kernel's choice of device).
OverlayEntries EntriesOf(const std::vector<Peer>& peers, int vxlan_ifindex);

/// Performs `writes` in order through `write`. A failure does not stop the others (one peer
/// the kernel refuses must not leave every later peer unreachable), except that a peer whose
/// FDB entry or neighbour failed gets no route: traffic would go to a VTEP the device cannot
/// reach. Every failure comes back, together.
Status RunWrites(const std::vector<OverlayWrite>& writes,
                 const std::function<Status(const OverlayWrite&)>& write);

}  // namespace berth::net
