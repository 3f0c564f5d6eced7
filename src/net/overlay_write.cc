// Writing the entries of overlay_entries.h: each write is one rtnetlink request. kAdd refuses
// to take over an entry that is there already (a route to the same subnet that is not
// berth's fails with "exists" rather than being overwritten); kReplace is NLM_F_REPLACE, one
// atomic change with no moment without the entry.
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>

#include <memory>

#include "net/netlink.h"
#include "net/overlay.h"
#include "net/overlay_entries.h"

namespace berth::net {

namespace {

struct NlNeighPut {
  void operator()(rtnl_neigh* n) const { rtnl_neigh_put(n); }
};
using NlNeigh = std::unique_ptr<rtnl_neigh, NlNeighPut>;

int CreateFlags(Write how) {
  return NLM_F_CREATE | (how == Write::kReplace ? NLM_F_REPLACE : NLM_F_EXCL);
}

const char* Verb(Write how) {
  switch (how) {
    case Write::kAdd: return "add ";
    case Write::kReplace: return "replace ";
    case Write::kDelete: return "delete ";
  }
  return "";
}

Result<NlAddr> ParseMac(const std::string& mac) {
  nl_addr* raw = nullptr;
  if (nl_addr_parse(mac.c_str(), AF_LLC, &raw) < 0) {
    return Error::Invalid("bad MAC address \"" + mac + "\"");
  }
  return NlAddr(raw);
}

Status WriteNeighbour(nl_sock* sock, rtnl_neigh* n, Write how, const std::string& what) {
  int err = how == Write::kDelete ? rtnl_neigh_delete(sock, n, 0)
                                  : rtnl_neigh_add(sock, n, CreateFlags(how));
  if (err < 0 && !(how == Write::kDelete && IsNlNotFound(err))) {
    return NlError(Verb(how) + what, err);
  }
  return Ok();
}

}  // namespace

Status WriteRoute(nl_sock* sock, const OverlayRoute& r, Write how) {
  NlRoute route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  // The protocol is how berth recognises its own routes, and on delete the kernel matches it:
  // a route to the same subnet that somebody else installed is never removed.
  rtnl_route_set_protocol(route.get(), kRouteProtocol);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  NlAddr dst = ToNlAddr(r.dst.addr(), r.dst.prefix());
  rtnl_route_set_dst(route.get(), dst.get());
  rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added
  if (r.ifindex) rtnl_route_nh_set_ifindex(nh, r.ifindex);
  NlAddr gw = ToNlAddr(r.via, 32);
  rtnl_route_nh_set_gateway(nh, gw.get());
  if (r.onlink) {
    rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
    rtnl_route_set_flags(route.get(), RTNH_F_ONLINK);
  }
  rtnl_route_add_nexthop(route.get(), nh);
  int err = how == Write::kDelete ? rtnl_route_delete(sock, route.get(), 0)
                                  : rtnl_route_add(sock, route.get(), CreateFlags(how));
  if (err < 0 && !(how == Write::kDelete && IsNlNotFound(err))) {
    return NlError(Verb(how) + ("route " + r.dst.ToString() + " via " + r.via.ToString()), err);
  }
  return Ok();
}

Status WriteFdb(nl_sock* sock, int vxlan_ifindex, const FdbEntry& e, Write how) {
  BERTH_ASSIGN_OR_RETURN(NlAddr mac, ParseMac(e.mac));
  NlNeigh n(rtnl_neigh_alloc());
  rtnl_neigh_set_ifindex(n.get(), vxlan_ifindex);
  rtnl_neigh_set_lladdr(n.get(), mac.get());
  // The destination before the family: libnl refuses an address whose family is not the
  // entry's (and says so only in a return value), and an FDB entry's family is AF_BRIDGE.
  NlAddr dst = ToNlAddr(e.node_ip, 32);
  int err = rtnl_neigh_set_dst(n.get(), dst.get());
  if (err < 0) return NlError("FDB entry destination " + e.node_ip.ToString(), err);
  rtnl_neigh_set_family(n.get(), AF_BRIDGE);
  rtnl_neigh_set_flags(n.get(), NTF_SELF);  // the VXLAN device's own table, not a bridge's
  rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
  return WriteNeighbour(sock, n.get(), how, "FDB entry " + e.mac + " dst " + e.node_ip.ToString());
}

Status WriteNeigh(nl_sock* sock, int vxlan_ifindex, const NeighEntry& e, Write how) {
  BERTH_ASSIGN_OR_RETURN(NlAddr mac, ParseMac(e.mac));
  NlNeigh n(rtnl_neigh_alloc());
  rtnl_neigh_set_ifindex(n.get(), vxlan_ifindex);
  NlAddr dst = ToNlAddr(e.ip, 32);
  int err = rtnl_neigh_set_dst(n.get(), dst.get());
  if (err < 0) return NlError("neighbour address " + e.ip.ToString(), err);
  rtnl_neigh_set_lladdr(n.get(), mac.get());
  rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
  return WriteNeighbour(sock, n.get(), how, "neighbour " + e.ip.ToString() + " lladdr " + e.mac);
}

}  // namespace berth::net
