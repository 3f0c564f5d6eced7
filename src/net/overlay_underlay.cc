// The underlay as the overlay needs to know it: which device carries this node's IP (the VXLAN
// device's lower device, whose MTU bounds the overlay's), and whether a peer shares an L2
// subnet with it (the auto backend's choice of host-gw over vxlan, as flannel's DirectRouting).
#include "net/links.h"
#include "net/netlink.h"
#include "net/observe.h"
#include "net/overlay.h"

namespace berth::net {

Result<Underlay> FindUnderlay(const IpAddr& node_ip) {
  BERTH_ASSIGN_OR_RETURN(NlSocket sock, OpenRouteSocket());
  BERTH_ASSIGN_OR_RETURN(std::vector<AddrInfo> addrs, AddrsWith(sock.get()));
  for (const AddrInfo& a : addrs) {
    if (a.address.addr() != node_ip) continue;
    rtnl_link* raw = nullptr;
    int err = rtnl_link_get_kernel(sock.get(), a.ifindex, nullptr, &raw);
    if (err < 0) return NlError("look up the device holding " + node_ip.ToString(), err);
    NlLink link(raw);
    LinkInfo info = ReadLink(link.get());
    return Underlay{info.name, info.mtu};
  }
  return Error::NotFound("no local device has address " + node_ip.ToString());
}

Result<std::vector<Cidr>> LinkSubnets(const std::string& dev) {
  BERTH_ASSIGN_OR_RETURN(NlSocket sock, OpenRouteSocket());
  BERTH_ASSIGN_OR_RETURN(NlLink link, GetLink(sock.get(), dev));
  if (!link) return Error::NotFound("no link named " + dev);
  const int ifindex = rtnl_link_get_ifindex(link.get());
  BERTH_ASSIGN_OR_RETURN(std::vector<AddrInfo> addrs, AddrsWith(sock.get()));
  std::vector<Cidr> out;
  for (const AddrInfo& a : addrs) {
    if (a.ifindex == ifindex && a.address.is_v4()) out.push_back(a.address);
  }
  return out;
}

Result<bool> OnLink(const std::string& dev, const IpAddr& peer_ip) {
  BERTH_ASSIGN_OR_RETURN(std::vector<Cidr> subnets, LinkSubnets(dev));
  for (const Cidr& s : subnets) {
    if (s.Contains(peer_ip)) return true;
  }
  return false;
}

}  // namespace berth::net
