// Reading berth's overlay back from the kernel: ReadOverlayEntries (overlay_entries.h) and
// Programmed (overlay.h), which turns those entries back into peers.
#include <linux/neighbour.h>
#include <netlink/cache.h>
#include <netlink/route/neighbour.h>

#include <cctype>

#include "net/netlink.h"
#include "net/observe.h"
#include "net/overlay.h"
#include "net/overlay_entries.h"

namespace berth::net {

namespace {

/// One RTM_GETNEIGH dump of `family`: AF_UNSPEC for neighbours (libnl asks for no single IP
/// family), AF_BRIDGE for FDB entries.
Result<NlCache> DumpNeighbours(nl_sock* sock, int family) {
  nl_cache* raw = nullptr;
  int err = nl_cache_alloc_name("route/neigh", &raw);
  if (err < 0) return NlError("allocate neighbour cache", err);
  NlCache cache(raw);
  nl_cache_set_arg1(raw, family);
  err = nl_cache_refill(sock, raw);
  if (err < 0) return NlError(family == AF_BRIDGE ? "list FDB entries" : "list neighbours", err);
  return cache;
}

std::string MacText(nl_addr* lladdr) {
  char buf[64];
  return NormalMac(nl_addr2str(lladdr, buf, sizeof(buf)));
}

}  // namespace

std::string NormalMac(std::string mac) {
  for (char& c : mac) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return mac;
}

Result<OverlayEntries> ReadOverlayEntries(nl_sock* sock, const std::string& vxlan_dev) {
  OverlayEntries out;
  BERTH_ASSIGN_OR_RETURN(std::vector<RouteInfo> routes, RoutesWith(sock));
  for (const RouteInfo& r : routes) {
    if (r.protocol != kRouteProtocol || !r.dst || !r.dst->is_v4() || !r.gateway) continue;
    out.routes.push_back({*r.dst, *r.gateway, r.ifindex, r.onlink});
  }
  if (vxlan_dev.empty()) return out;  // host-gw only
  BERTH_ASSIGN_OR_RETURN(NlLink vxlan, GetLink(sock, vxlan_dev));
  if (!vxlan) return out;
  out.vxlan_ifindex = rtnl_link_get_ifindex(vxlan.get());

  BERTH_ASSIGN_OR_RETURN(NlCache fdb, DumpNeighbours(sock, AF_BRIDGE));
  for (nl_object* o = nl_cache_get_first(fdb.get()); o; o = nl_cache_get_next(o)) {
    auto* n = reinterpret_cast<rtnl_neigh*>(o);
    nl_addr* dst = rtnl_neigh_get_dst(n);
    nl_addr* mac = rtnl_neigh_get_lladdr(n);
    if (rtnl_neigh_get_ifindex(n) != out.vxlan_ifindex || !dst || !mac ||
        nl_addr_get_family(dst) != AF_INET) {
      continue;
    }
    out.fdb[MacText(mac)] = FromNlAddr(dst);
  }
  BERTH_ASSIGN_OR_RETURN(NlCache neighs, DumpNeighbours(sock, AF_UNSPEC));
  for (nl_object* o = nl_cache_get_first(neighs.get()); o; o = nl_cache_get_next(o)) {
    auto* n = reinterpret_cast<rtnl_neigh*>(o);
    nl_addr* dst = rtnl_neigh_get_dst(n);
    nl_addr* mac = rtnl_neigh_get_lladdr(n);
    // Entries the kernel resolved by itself are not berth's: only permanent ones are.
    if (rtnl_neigh_get_ifindex(n) != out.vxlan_ifindex || !dst || !mac ||
        nl_addr_get_family(dst) != AF_INET || !(rtnl_neigh_get_state(n) & NUD_PERMANENT)) {
      continue;
    }
    out.neighs[FromNlAddr(dst)] = MacText(mac);
  }
  return out;
}

Result<std::vector<Peer>> Programmed(const std::string& vxlan_dev) {
  BERTH_ASSIGN_OR_RETURN(NlSocket sock, OpenRouteSocket());
  BERTH_ASSIGN_OR_RETURN(OverlayEntries now, ReadOverlayEntries(sock.get(), vxlan_dev));
  std::vector<Peer> out;
  for (const OverlayRoute& r : now.routes) {
    Peer p;
    p.subnet = r.dst;
    if (now.vxlan_ifindex && r.ifindex == now.vxlan_ifindex) {
      p.path = PeerPath::kVxlan;
      if (auto n = now.neighs.find(r.via); n != now.neighs.end()) {
        p.vtep_mac = n->second;
        if (auto f = now.fdb.find(p.vtep_mac); f != now.fdb.end()) p.node_ip = f->second;
      }
    } else {
      p.path = PeerPath::kHostGw;
      p.node_ip = r.via;
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace berth::net
