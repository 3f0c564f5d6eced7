#include "net/links.h"

#include <linux/if.h>

#include <map>

#include "net/netlink.h"
#include "sys/netns.h"

namespace berth::net {

LinkInfo ReadLink(rtnl_link* l) {
  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(l);
  info.name = rtnl_link_get_name(l) ? rtnl_link_get_name(l) : "";
  info.kind = rtnl_link_get_type(l) ? rtnl_link_get_type(l) : "";
  info.master_ifindex = rtnl_link_get_master(l);
  info.peer_ifindex = rtnl_link_get_link(l);
  info.up = rtnl_link_get_flags(l) & IFF_UP;
  info.mtu = static_cast<int>(rtnl_link_get_mtu(l));
  if (nl_addr* a = rtnl_link_get_addr(l)) {
    char buf[64];
    info.mac = nl_addr2str(a, buf, sizeof(buf));
  }
  return info;
}

Result<std::vector<LinkInfo>> ListLinks(nl_sock* sock) {
  nl_cache* raw = nullptr;
  int err = rtnl_link_alloc_cache(sock, AF_UNSPEC, &raw);
  if (err < 0) return NlError("list links", err);
  NlCache cache(raw);
  std::vector<LinkInfo> out;
  std::map<int, std::string> names;
  for (nl_object* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
    out.push_back(ReadLink(reinterpret_cast<rtnl_link*>(o)));
    names[out.back().ifindex] = out.back().name;
  }
  for (LinkInfo& l : out) {
    if (l.master_ifindex) l.master = names[l.master_ifindex];
  }
  return out;
}

Result<std::vector<LinkInfo>> ListLinks(const std::string& netns_path) {
  NlSocket sock;
  if (netns_path.empty()) {
    BERTH_ASSIGN_OR_RETURN(sock, OpenRouteSocket());
  } else {
    BERTH_ASSIGN_OR_RETURN(sys::Fd fd, sys::OpenNetns(netns_path));
    BERTH_ASSIGN_OR_RETURN(sock, OpenRouteSocketIn(fd.get()));
  }
  return ListLinks(sock.get());
}

}  // namespace berth::net
