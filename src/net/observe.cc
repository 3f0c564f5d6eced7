#include "net/observe.h"

#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/route/nexthop.h>

#include <map>

#include "net/netlink.h"

namespace berth::net {

Result<std::vector<AddrInfo>> AddrsWith(nl_sock* sock) {
  nl_cache* raw = nullptr;
  int err = rtnl_addr_alloc_cache(sock, &raw);
  if (err < 0) return NlError("list addresses", err);
  NlCache cache(raw);
  std::vector<AddrInfo> out;
  for (nl_object* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    nl_addr* local = rtnl_addr_get_local(a);
    int fam = local ? nl_addr_get_family(local) : AF_UNSPEC;
    if (fam != AF_INET && fam != AF_INET6) continue;
    out.push_back({rtnl_addr_get_ifindex(a),
                   Cidr(FromNlAddr(local), static_cast<int>(rtnl_addr_get_prefixlen(a)))});
  }
  return out;
}

Result<std::vector<RouteInfo>> RoutesWith(nl_sock* sock) {
  nl_cache* raw = nullptr;
  int err = rtnl_route_alloc_cache(sock, AF_UNSPEC, 0, &raw);
  if (err < 0) return NlError("list routes", err);
  NlCache cache(raw);
  std::vector<RouteInfo> out;
  for (nl_object* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN) continue;
    int fam = rtnl_route_get_family(r);
    if (fam != AF_INET && fam != AF_INET6) continue;
    RouteInfo info;
    info.protocol = rtnl_route_get_protocol(r);
    nl_addr* dst = rtnl_route_get_dst(r);
    if (dst && nl_addr_get_prefixlen(dst) > 0) {
      int prefix = static_cast<int>(nl_addr_get_prefixlen(dst));
      info.dst = Cidr(Cidr(FromNlAddr(dst), prefix).Network(), prefix);
    }
    if (rtnl_route_get_nnexthops(r) > 0) {
      rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
      info.ifindex = rtnl_route_nh_get_ifindex(nh);
      info.onlink = (rtnl_route_nh_get_flags(nh) | rtnl_route_get_flags(r)) & RTNH_F_ONLINK;
      if (nl_addr* gw = rtnl_route_nh_get_gateway(nh)) info.gateway = FromNlAddr(gw);
    }
    out.push_back(std::move(info));
  }
  return out;
}

const LinkInfo* NamespaceView::Link(const std::string& name) const {
  for (const LinkInfo& l : links) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

bool NamespaceView::HasAddress(int ifindex, const Cidr& address) const {
  for (const AddrInfo& a : addrs) {
    if (a.ifindex == ifindex && a.address == address) return true;
  }
  return false;
}

bool NamespaceView::HasRoute(const std::optional<Cidr>& dst, const IpAddr& gateway,
                             int ifindex) const {
  for (const RouteInfo& r : routes) {
    if (r.dst == dst && r.gateway == gateway && r.ifindex == ifindex) return true;
  }
  return false;
}

bool NamespaceView::HasDefaultRoute(bool v6) const {
  for (const RouteInfo& r : routes) {
    if (!r.dst && r.gateway && r.gateway->is_v6() == v6) return true;
  }
  return false;
}

Result<NamespaceView> ObserveWith(nl_sock* sock) {
  NamespaceView view;
  BERTH_ASSIGN_OR_RETURN(view.links, ListLinks(sock));
  BERTH_ASSIGN_OR_RETURN(view.addrs, AddrsWith(sock));
  BERTH_ASSIGN_OR_RETURN(view.routes, RoutesWith(sock));
  return view;
}

Result<std::optional<LinkInfo>> ObserveLinkWith(nl_sock* sock, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(NlLink link, GetLink(sock, name));
  if (!link) return std::optional<LinkInfo>();
  LinkInfo info = ReadLink(link.get());
  if (info.master_ifindex) info.master = LinkNameWith(sock, info.master_ifindex);
  return std::optional<LinkInfo>(std::move(info));
}

std::string LinkNameWith(nl_sock* sock, int ifindex) {
  rtnl_link* raw = nullptr;
  if (rtnl_link_get_kernel(sock, ifindex, nullptr, &raw) < 0) return "";
  NlLink owned(raw);
  return rtnl_link_get_name(raw) ? rtnl_link_get_name(raw) : "";
}

}  // namespace berth::net
