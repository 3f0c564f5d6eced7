// The VXLAN device (EnsureVxlan, DeleteVxlan in overlay.h), made as flannel makes it: learning
// off (every peer is a static FDB entry, nothing is learnt from traffic), no remote or group
// (nothing is flooded), this node's IP as the source of the outer packets.
//
// An existing device is kept whenever it can be: recreating it drops its FDB, neighbours and
// routes, a blip in traffic to every peer. It is replaced only when what identifies the
// tunnel differs (VNI, port, local address, lower device, learning), as flannel does.
#include <linux/if.h>
#include <linux/if_link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/vxlan.h>

#include "core/ids.h"
#include "net/links.h"
#include "net/netlink.h"
#include "net/observe.h"
#include "net/overlay.h"

namespace berth::net {

namespace {

/// Does the existing device `link` carry the tunnel `spec` describes?
bool SameTunnel(rtnl_link* link, const VxlanSpec& spec, int underlay_ifindex) {
  if (!rtnl_link_is_vxlan(link)) return false;
  uint32_t vni = 0, port = 0, lower = 0;
  nl_addr* local = nullptr;
  if (rtnl_link_vxlan_get_id(link, &vni) < 0 || vni != spec.vni) return false;
  if (rtnl_link_vxlan_get_port(link, &port) < 0 || port != spec.port) return false;
  if (rtnl_link_vxlan_get_link(link, &lower) < 0 ||
      static_cast<int>(lower) != underlay_ifindex) {
    return false;
  }
  if (rtnl_link_vxlan_get_local(link, &local) < 0) return false;
  NlAddr owned(local);  // the getter hands out a clone
  if (FromNlAddr(local) != spec.local) return false;
  return rtnl_link_vxlan_get_learning(link) == 0;
}

Status CreateVxlan(nl_sock* sock, const VxlanSpec& spec, int underlay_ifindex, int mtu) {
  NlLink vx(rtnl_link_vxlan_alloc());
  if (!vx) return Error::System("allocate vxlan link", ENOMEM);
  rtnl_link_set_name(vx.get(), spec.name.c_str());
  rtnl_link_vxlan_set_id(vx.get(), spec.vni);
  rtnl_link_vxlan_set_port(vx.get(), spec.port);
  NlAddr local = ToNlAddr(spec.local, 32);
  rtnl_link_vxlan_set_local(vx.get(), local.get());
  rtnl_link_vxlan_set_link(vx.get(), static_cast<uint32_t>(underlay_ifindex));
  rtnl_link_vxlan_disable_learning(vx.get());
  rtnl_link_set_mtu(vx.get(), static_cast<unsigned>(mtu));
  // A MAC derived from the VTEP address instead of a random one: a device recreated (after a
  // VNI change, a reboot) keeps it, so the FDB entries and neighbours peers hold for this node
  // stay right.
  nl_addr* mac = nullptr;
  if (nl_addr_parse(MacForIp(spec.vtep_address.addr()).c_str(), AF_LLC, &mac) == 0) {
    NlAddr owned(mac);
    rtnl_link_set_addr(vx.get(), mac);
  }
  // Made down: it is set up once it has no IPv6 link-local address (NoLinkLocal).
  int err = rtnl_link_add(sock, vx.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0) return NlError("create vxlan device " + spec.name, err);
  return Ok();
}

/// No IPv6 link-local address: the overlay is IPv4 only, and with one the device would send
/// router solicitations and MLD reports that no FDB entry can deliver. Settable only once the
/// device exists, and before it goes up (going up is when the address is made).
Status NoLinkLocal(nl_sock* sock, rtnl_link* link) {
  NlLink change(rtnl_link_alloc());
  rtnl_link_inet6_set_addr_gen_mode(change.get(), IN6_ADDR_GEN_MODE_NONE);
  int err = rtnl_link_change(sock, link, change.get(), 0);
  if (err < 0) return NlError("disable IPv6 link-local address", err);
  return Ok();
}

/// MTU and up, on a device that is already the right tunnel.
Status BringInLine(nl_sock* sock, rtnl_link* link, int mtu) {
  const bool mtu_right = static_cast<int>(rtnl_link_get_mtu(link)) == mtu;
  const bool up = rtnl_link_get_flags(link) & IFF_UP;
  if (mtu_right && up) return Ok();
  NlLink change(rtnl_link_alloc());
  if (!mtu_right) rtnl_link_set_mtu(change.get(), static_cast<unsigned>(mtu));
  if (!up) rtnl_link_set_flags(change.get(), IFF_UP);
  int err = rtnl_link_change(sock, link, change.get(), 0);
  if (err < 0) return NlError("set MTU and up on " + std::string(rtnl_link_get_name(link)), err);
  return Ok();
}

/// The VTEP address is the device's only IPv4 address (a former one would be answered for).
Status EnsureOnlyAddress(nl_sock* sock, int ifindex, const Cidr& vtep) {
  BERTH_ASSIGN_OR_RETURN(std::vector<AddrInfo> addrs, AddrsWith(sock));
  bool have = false;
  for (const AddrInfo& a : addrs) {
    if (a.ifindex != ifindex || !a.address.is_v4()) continue;
    if (a.address == vtep) {
      have = true;
      continue;
    }
    NlRtAddr old(rtnl_addr_alloc());
    rtnl_addr_set_ifindex(old.get(), ifindex);
    NlAddr local = ToNlAddr(a.address.addr(), a.address.prefix());
    rtnl_addr_set_local(old.get(), local.get());
    int err = rtnl_addr_delete(sock, old.get(), 0);
    if (err < 0 && !IsNlNotFound(err)) {
      return NlError("delete address " + a.address.ToString(), err);
    }
  }
  if (have) return Ok();
  return AddAddressWith(sock, ifindex, vtep);
}

}  // namespace

Result<std::string> EnsureVxlan(const VxlanSpec& spec) {
  if (spec.name.empty()) return Error::Invalid("vxlan device needs a name");
  if (!spec.local.is_v4() || spec.local.IsUnspecified()) {
    return Error::Invalid("vxlan device needs this node's IPv4 underlay address");
  }
  if (!spec.vtep_address.is_v4() || spec.vtep_address.prefix() != 32) {
    return Error::Invalid("VTEP address must be an IPv4 /32, not " +
                          spec.vtep_address.ToString());
  }
  BERTH_ASSIGN_OR_RETURN(NlSocket sock, OpenRouteSocket());
  BERTH_ASSIGN_OR_RETURN(NlLink underlay, GetLink(sock.get(), spec.underlay_dev));
  if (!underlay) return Error::NotFound("no underlay device named " + spec.underlay_dev);
  const int underlay_ifindex = rtnl_link_get_ifindex(underlay.get());
  const int mtu = spec.mtu > 0 ? spec.mtu
                               : static_cast<int>(rtnl_link_get_mtu(underlay.get())) -
                                     kVxlanOverhead;

  BERTH_ASSIGN_OR_RETURN(NlLink link, GetLink(sock.get(), spec.name));
  if (link && !rtnl_link_is_vxlan(link.get())) {
    const char* kind = rtnl_link_get_type(link.get());
    return Error::Exists(spec.name + " exists and is a " + (kind ? kind : "plain") +
                         " device, not vxlan");
  }
  if (link && !SameTunnel(link.get(), spec, underlay_ifindex)) {
    BERTH_TRY_CTX(DeleteLinkWith(sock.get(), spec.name), "replace " + spec.name);
    link.reset();
  }
  const bool create = !link;
  Result<std::string> made = [&]() -> Result<std::string> {
    if (create) {
      BERTH_TRY(CreateVxlan(sock.get(), spec, underlay_ifindex, mtu));
      BERTH_ASSIGN_OR_RETURN(link, GetLink(sock.get(), spec.name));
      if (!link) return Error::Internal(spec.name + " vanished right after it was made");
      BERTH_TRY(NoLinkLocal(sock.get(), link.get()));
    }
    BERTH_TRY(BringInLine(sock.get(), link.get(), mtu));
    LinkInfo info = ReadLink(link.get());
    BERTH_TRY_CTX(EnsureOnlyAddress(sock.get(), info.ifindex, spec.vtep_address),
                  "address of " + spec.name);
    return info.mac;
  }();
  // All or nothing: a device made here and not finished goes again.
  if (!made.ok() && create) (void)DeleteLinkWith(sock.get(), spec.name);
  return made;
}

Status DeleteVxlan(const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(NlSocket sock, OpenRouteSocket());
  return DeleteLinkWith(sock.get(), name);
}

}  // namespace berth::net
