#include "net/overlay_diff.h"

#include <set>
#include <type_traits>

namespace berth::net {

namespace {

std::string Name(const Peer& p) { return p.node.empty() ? p.subnet.ToString() : p.node; }

/// The route that carries traffic to `p`; ifindex 0 for host-gw: whichever device reaches the
/// node IP (the kernel resolves it).
OverlayRoute WantedRoute(const Peer& p, int vxlan_ifindex) {
  Cidr dst(p.subnet.Network(), p.subnet.prefix());
  if (p.path == PeerPath::kHostGw) return {dst, p.node_ip, 0, false};
  return {dst, p.subnet.Network(), vxlan_ifindex, true};
}

bool RouteIsRight(const OverlayRoute& have, const OverlayRoute& want, int vxlan_ifindex) {
  if (have.via != want.via || have.onlink != want.onlink) return false;
  if (want.ifindex) return have.ifindex == want.ifindex;
  // host-gw: any device the kernel chose, but not the VXLAN device.
  return !vxlan_ifindex || have.ifindex != vxlan_ifindex;
}

Status Check(const OverlayEntries& now, const std::vector<Peer>& want) {
  std::set<Cidr> subnets;
  for (const Peer& p : want) {
    if (!p.subnet.is_v4() || !p.node_ip.is_v4()) {
      return Error::Invalid("peer " + Name(p) + ": the overlay is IPv4 only");
    }
    if (!subnets.insert(Cidr(p.subnet.Network(), p.subnet.prefix())).second) {
      return Error::Invalid("two peers with subnet " + p.subnet.ToString());
    }
    if (p.path != PeerPath::kVxlan) continue;
    if (p.vtep_mac.empty()) return Error::Invalid("vxlan peer " + Name(p) + " has no VTEP MAC");
    if (!now.vxlan_ifindex) {
      return Error::Invalid("vxlan peer " + Name(p) + " but no VXLAN device");
    }
  }
  return Ok();
}

}  // namespace

Result<OverlayDiff> DiffOverlay(const OverlayEntries& now, const std::vector<Peer>& want) {
  BERTH_TRY(Check(now, want));
  OverlayDiff diff;
  auto write = [&](auto entry, Write how, const std::string& peer) {
    diff.writes.push_back({std::move(entry), how, peer});
  };
  std::set<Cidr> wanted_subnets;
  std::set<IpAddr> wanted_neighs;
  std::set<std::string> wanted_macs;
  for (const Peer& p : want) {
    const std::string name = Name(p);
    const size_t before = diff.writes.size();
    if (p.path == PeerPath::kVxlan) {
      FdbEntry fdb{NormalMac(p.vtep_mac), p.node_ip};
      auto f = now.fdb.find(fdb.mac);
      if (f == now.fdb.end()) {
        write(fdb, Write::kAdd, name);
      } else if (f->second != fdb.node_ip) {
        write(fdb, Write::kReplace, name);
      }
      // A neighbour is always replaced, never added: only berth's permanent neighbours are
      // read, and the kernel may hold one of its own for the VTEP address (a failed or stale
      // entry from a lookup before berth wrote it), which an exclusive add would never get
      // past (flannel's NeighSet does the same).
      NeighEntry neigh{p.subnet.Network(), fdb.mac};
      auto n = now.neighs.find(neigh.ip);
      if (n == now.neighs.end() || n->second != neigh.mac) write(neigh, Write::kReplace, name);
      wanted_macs.insert(fdb.mac);
      wanted_neighs.insert(neigh.ip);
    }
    OverlayRoute route = WantedRoute(p, now.vxlan_ifindex);
    const OverlayRoute* have = nullptr;
    for (const OverlayRoute& r : now.routes) {
      if (r.dst == route.dst) have = &r;
    }
    if (!have) {
      write(route, Write::kAdd, name);
    } else if (!RouteIsRight(*have, route, now.vxlan_ifindex)) {
      write(route, Write::kReplace, name);
    }
    wanted_subnets.insert(route.dst);
    if (!have) {
      ++diff.stats.added;
    } else if (diff.writes.size() != before) {
      ++diff.stats.replaced;
    } else {
      ++diff.stats.unchanged;
    }
  }
  for (const OverlayRoute& r : now.routes) {
    if (wanted_subnets.count(r.dst)) continue;
    write(r, Write::kDelete, "stale route " + r.dst.ToString());
    ++diff.stats.removed;
  }
  for (const auto& [ip, mac] : now.neighs) {
    if (!wanted_neighs.count(ip)) write(NeighEntry{ip, mac}, Write::kDelete, "stale neighbour");
  }
  for (const auto& [mac, ip] : now.fdb) {
    if (!wanted_macs.count(mac)) write(FdbEntry{mac, ip}, Write::kDelete, "stale FDB entry");
  }
  return diff;
}

OverlayEntries EntriesOf(const std::vector<Peer>& peers, int vxlan_ifindex) {
  OverlayEntries out;
  out.vxlan_ifindex = vxlan_ifindex;
  for (const Peer& p : peers) {
    out.routes.push_back(WantedRoute(p, vxlan_ifindex));
    if (p.path != PeerPath::kVxlan) continue;
    const std::string mac = NormalMac(p.vtep_mac);
    out.fdb[mac] = p.node_ip;
    out.neighs[p.subnet.Network()] = mac;
  }
  return out;
}

Status RunWrites(const std::vector<OverlayWrite>& writes,
                 const std::function<Status(const OverlayWrite&)>& write) {
  ErrorList errors;
  std::set<std::string> broken;  // wanted peers whose FDB entry or neighbour failed
  for (const OverlayWrite& w : writes) {
    const bool route = std::holds_alternative<OverlayRoute>(w.entry);
    if (route && w.how != Write::kDelete && broken.count(w.peer)) {
      errors.Add(Error::Unavailable("route not written: its VXLAN entries failed").Wrap(w.peer));
      continue;
    }
    Status st = write(w);
    if (st.ok()) continue;
    if (!route && w.how != Write::kDelete) broken.insert(w.peer);
    errors.Add(std::move(st).error().Wrap(w.peer));
  }
  return errors.ToStatus("program overlay");
}

}  // namespace berth::net
