// From the cluster's node records to the data plane's peers (net/overlay.h): which path this
// node uses to reach each other node. host-gw: a route via the peer's node IP (same L2 only);
// vxlan: through the overlay device; auto: host-gw to peers on this node's own L2 subnet,
// vxlan to the others (flannel's DirectRouting).
//
// Pure apart from the on-link test it is given. Thread-compatible.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cluster/config.h"
#include "cluster/subnets.h"
#include "core/error.h"
#include "net/overlay.h"

namespace berth::cluster {

/// Is `peer_ip` on this node's L2 segment (net::OnLink on the underlay device)?
using OnLinkFn = std::function<Result<bool>(const IpAddr& peer_ip)>;

/// The path from here to `peer` under `backend`.
Result<net::PeerPath> PathTo(Backend backend, const NodeInfo& peer, const OnLinkFn& on_link);

/// Every node but `self` as a peer, sorted by subnet. A vxlan peer whose VTEP MAC is not known
/// yet (its agent has not created its device) is left out until it is. `skipped` (optional)
/// receives why a node was left out.
Result<std::vector<net::Peer>> PeersOf(const std::string& self, const std::vector<NodeInfo>& nodes,
                                       Backend backend, const OnLinkFn& on_link,
                                       std::vector<std::string>* skipped = nullptr);

const char* PathName(net::PeerPath path);

}  // namespace berth::cluster
