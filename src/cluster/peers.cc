#include "cluster/peers.h"

#include <algorithm>

namespace berth::cluster {

const char* PathName(net::PeerPath path) {
  return path == net::PeerPath::kHostGw ? "host-gw" : "vxlan";
}

Result<net::PeerPath> PathTo(Backend backend, const NodeInfo& peer, const OnLinkFn& on_link) {
  switch (backend) {
    case Backend::kHostGw: return net::PeerPath::kHostGw;
    case Backend::kVxlan: return net::PeerPath::kVxlan;
    case Backend::kAuto: {
      BERTH_ASSIGN_OR_RETURN(bool direct, on_link(peer.node_ip));
      return direct ? net::PeerPath::kHostGw : net::PeerPath::kVxlan;
    }
  }
  return Error::Internal("unknown backend");
}

Result<std::vector<net::Peer>> PeersOf(const std::string& self, const std::vector<NodeInfo>& nodes,
                                       Backend backend, const OnLinkFn& on_link,
                                       std::vector<std::string>* skipped) {
  std::vector<net::Peer> out;
  for (const NodeInfo& n : nodes) {
    if (n.name == self) continue;
    BERTH_ASSIGN_OR_RETURN(net::PeerPath path, PathTo(backend, n, on_link));
    if (path == net::PeerPath::kVxlan && n.vtep_mac.empty()) {
      if (skipped) skipped->push_back(n.name + ": its VTEP MAC is not known yet");
      continue;
    }
    net::Peer p;
    p.node = n.name;
    p.subnet = n.subnet;
    p.node_ip = n.node_ip;
    p.path = path;
    if (path == net::PeerPath::kVxlan) p.vtep_mac = n.vtep_mac;
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(),
            [](const net::Peer& a, const net::Peer& b) { return a.subnet < b.subnet; });
  return out;
}

}  // namespace berth::cluster
