#include "net/nl_link_ops.h"

#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>

#include "core/ids.h"
#include "net/ifreq.h"
#include "net/reaper.h"
#include "sys/netns.h"
#include "sys/proc.h"

namespace berth::net {

bool NlLinkOps::DeleteIfReleased(const std::string& name) {
  auto link = GetLink(host_.get(), name);
  if (!link.ok() || !*link || (rtnl_link_get_flags(link->get()) & IFF_UP)) return false;
  const char* kind = rtnl_link_get_type(link->get());
  if (!kind || std::string(kind) != "veth") return false;
  return rtnl_link_delete(host_.get(), link->get()) == 0;
}

Result<std::unique_ptr<NlLinkOps>> NlLinkOps::Open(int container_netns_fd) {
  BERTH_ASSIGN_OR_RETURN(NlSocket host, OpenRouteSocket());
  NlSocket container;
  if (container_netns_fd >= 0) {
    BERTH_ASSIGN_OR_RETURN(container, OpenRouteSocketIn(container_netns_fd));
  }
  return std::unique_ptr<NlLinkOps>(
      new NlLinkOps(std::move(host), std::move(container), container_netns_fd));
}

Result<nl_sock*> NlLinkOps::Sock(Where where) {
  if (where == Where::kHost) return host_.get();
  if (!container_) return Error::Internal("no container namespace for this operation");
  return container_.get();
}

Result<NlLinkOps::Facts*> NlLinkOps::Known(Where where, const std::string& name) {
  if (auto it = known_.find({where, name}); it != known_.end()) return &it->second;
  BERTH_ASSIGN_OR_RETURN(nl_sock * sock, Sock(where));
  // RTM_GETLINK, not an ioctl: a name the kernel does not know would make it run modprobe.
  BERTH_ASSIGN_OR_RETURN(NlLink link, GetLink(sock, name));
  if (!link) return static_cast<Facts*>(nullptr);  // not remembered: it may be created
  return &(known_[{where, name}] =
               Facts{rtnl_link_get_ifindex(link.get()), rtnl_link_get_flags(link.get())});
}

Result<int> NlLinkOps::RequireIfindex(Where where, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(Facts * link, Known(where, name));
  if (!link) return Error::NotFound("no link named " + name);
  return link->ifindex;
}

namespace {

// What rtnl_link_change needs of the link it changes: its index.
NlLink ByIndex(int ifindex) {
  NlLink link(rtnl_link_alloc());
  rtnl_link_set_ifindex(link.get(), ifindex);
  return link;
}

}  // namespace

Status NlLinkOps::SetSysctl(Where where, const std::string& key, const std::string& value) {
  std::optional<sys::ScopedNetns> guard;
  if (where == Where::kContainer) {
    BERTH_ASSIGN_OR_RETURN(auto g, sys::ScopedNetns::Enter(container_netns_fd_));
    guard.emplace(std::move(g));
  }
  // Reading first keeps the common case (already set) free of a write and its side effects.
  auto cur = sys::ReadSysctl(key);
  if (cur.ok() && *cur == value) return Ok();
  return sys::WriteSysctl(key, value);
}

Result<bool> NlLinkOps::EnsureBridge(const EnsureBridgeOp& op) {
  BERTH_ASSIGN_OR_RETURN(Facts * existing, Known(Where::kHost, op.name));
  bool created = false;
  if (!existing) {
    NlLink br(rtnl_link_bridge_alloc());
    rtnl_link_set_name(br.get(), op.name.c_str());
    rtnl_link_set_mtu(br.get(), static_cast<unsigned>(op.mtu));
    rtnl_link_set_flags(br.get(), IFF_UP);
    // A fixed MAC: otherwise the bridge takes the lowest MAC of its ports and changes it as
    // ports come and go, and every container's ARP entry for the gateway goes stale (traffic to
    // the gateway, e.g. DNS, is dropped until it is re-learnt). Derived from the gateway
    // address, which no container ever has, like Docker's 02:42 container MACs.
    nl_addr* mac = nullptr;
    if (nl_addr_parse(MacForIp(op.address.addr()).c_str(), AF_LLC, &mac) == 0) {
      NlAddr owned(mac);
      rtnl_link_set_addr(br.get(), mac);
    }
    int err = rtnl_link_add(host_.get(), br.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0 && -err != NLE_EXIST) return NlError("create bridge", err);
    created = err == 0;
    // No IPv6 link-local address: berth networks are IPv4 only so far. (Before the fixed MAC
    // the kernel dropped it whenever the last port left and the MAC changed; now it would
    // stay, a leftover of the first container.) Settable only once the device exists; it has
    // no carrier yet, so it has no link-local address yet either.
    if (created && !op.address.addr().is_v6()) {
      BERTH_ASSIGN_OR_RETURN(Facts * made, Known(Where::kHost, op.name));
      NlLink change(rtnl_link_alloc());
      rtnl_link_inet6_set_addr_gen_mode(change.get(), IN6_ADDR_GEN_MODE_NONE);
      if (made) {
        int e = rtnl_link_change(host_.get(), ByIndex(made->ifindex).get(), change.get(), 0);
        if (e < 0) {
          (void)DeleteLink({Where::kHost, op.name});
          return NlError("disable IPv6 link-local address on bridge", e);
        }
      }
    }
  } else {
    if (!(existing->flags & IFF_UP)) {
      NlLink change(rtnl_link_alloc());
      rtnl_link_set_flags(change.get(), IFF_UP);
      int err = rtnl_link_change(host_.get(), ByIndex(existing->ifindex).get(), change.get(), 0);
      if (err < 0) return NlError("set bridge up", err);
      existing->flags |= IFF_UP;
    }
  }
  Status st = AddAddress({Where::kHost, op.name, op.address});
  if (!st.ok() && st.error().code() != Code::kExists) {
    if (created) (void)DeleteLink({Where::kHost, op.name});
    return std::move(st).error();
  }
  return created;
}

Status NlLinkOps::CreateVeth(const CreateVethOp& op) {
  if (!container_) return Error::Internal("veth needs a container namespace");
  BERTH_ASSIGN_OR_RETURN(int master, RequireIfindex(Where::kHost, op.master));
  NlLink veth(rtnl_link_veth_alloc());
  if (!veth) return Error::System("allocate veth", ENOMEM);
  rtnl_link_set_name(veth.get(), op.host_name.c_str());
  rtnl_link_set_mtu(veth.get(), static_cast<unsigned>(op.mtu));
  rtnl_link_set_master(veth.get(), master);
  rtnl_link_set_flags(veth.get(), IFF_UP);
  NlLink peer(rtnl_link_veth_get_peer(veth.get()));
  rtnl_link_set_name(peer.get(), op.peer_name.c_str());
  rtnl_link_set_mtu(peer.get(), static_cast<unsigned>(op.mtu));
  rtnl_link_set_ns_fd(peer.get(), container_netns_fd_);
  if (!op.peer_mac.empty()) {
    nl_addr* mac = nullptr;
    if (nl_addr_parse(op.peer_mac.c_str(), AF_LLC, &mac) < 0) {
      return Error::Invalid("bad MAC address " + op.peer_mac);
    }
    NlAddr owned(mac);
    rtnl_link_set_addr(peer.get(), mac);
  }
  known_.erase({Where::kHost, op.host_name});
  known_.erase({Where::kContainer, op.peer_name});
  int err = rtnl_link_add(host_.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0 && -err == NLE_EXIST && DeleteIfReleased(op.host_name)) {
    // An earlier detach of this very endpoint (a runtime re-adding a container) released the
    // link and its background deletion has not run yet: delete it now and try again.
    err = rtnl_link_add(host_.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL);
  }
  if (err < 0) {
    if (-err == NLE_EXIST) {
      return Error(Code::kExists,
                   "interface " + op.peer_name + " already exists in the container namespace or " +
                       op.host_name + " exists on the host",
                   EEXIST);
    }
    return NlError("create veth", err);
  }
  return Ok();
}

Status NlLinkOps::AddAddress(const AddAddressOp& op) {
  BERTH_ASSIGN_OR_RETURN(nl_sock * sock, Sock(op.where));
  BERTH_ASSIGN_OR_RETURN(int ifindex, RequireIfindex(op.where, op.dev));
  return AddAddressWith(sock, ifindex, op.address);
}

Status NlLinkOps::AddRoute(const AddRouteOp& op) {
  BERTH_ASSIGN_OR_RETURN(nl_sock * sock, Sock(op.where));
  BERTH_ASSIGN_OR_RETURN(int ifindex, RequireIfindex(op.where, op.dev));
  bool v4 = op.via.is_v4();
  NlRoute route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), v4 ? AF_INET : AF_INET6);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_BOOT);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  Cidr dst = op.dst.value_or(Cidr(v4 ? IpAddr::V4(0) : IpAddr::FromU128(true, 0), 0));
  NlAddr d = ToNlAddr(dst.addr(), dst.prefix());
  rtnl_route_set_dst(route.get(), d.get());
  rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added
  rtnl_route_nh_set_ifindex(nh, ifindex);
  NlAddr gw = ToNlAddr(op.via, v4 ? 32 : 128);
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_add_nexthop(route.get(), nh);
  int err = rtnl_route_add(sock, route.get(), op.replace ? NLM_F_REPLACE : NLM_F_EXCL);
  if (err < 0) return NlError("add route", err);
  return Ok();
}

Status NlLinkOps::LinkUp(const LinkUpOp& op) {
  BERTH_ASSIGN_OR_RETURN(nl_sock * sock, Sock(op.where));
  BERTH_ASSIGN_OR_RETURN(Facts * link, Known(op.where, op.dev));
  if (!link) return Error::NotFound("no link named " + op.dev);
  if (link->flags & IFF_UP) return Ok();
  NlLink change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  int err = rtnl_link_change(sock, ByIndex(link->ifindex).get(), change.get(), 0);
  if (err < 0) return NlError("set link up", err);
  link->flags |= IFF_UP;
  return Ok();
}

Status NlLinkOps::SetHairpin(const HairpinOp& op) {
  BERTH_ASSIGN_OR_RETURN(int ifindex, RequireIfindex(Where::kHost, op.port));
  // A bridge port's flags travel as IFLA_PROTINFO of an AF_BRIDGE link message.
  NlLink link(rtnl_link_alloc());
  rtnl_link_set_ifindex(link.get(), ifindex);
  rtnl_link_set_family(link.get(), AF_BRIDGE);
  int err = rtnl_link_bridge_set_flags(link.get(), RTNL_BRIDGE_HAIRPIN_MODE);
  if (err < 0) return NlError("prepare hairpin flag", err);
  err = rtnl_link_change(host_.get(), link.get(), link.get(), 0);
  if (err < 0) return NlError("set hairpin mode", err);
  return Ok();
}

Status NlLinkOps::ReleaseLink(const ReleaseLinkOp& op) {
  BERTH_ASSIGN_OR_RETURN(Facts * link, Known(Where::kHost, op.name));
  if (!link) return Ok();
  if (link->flags & IFF_UP) {
    NlLink change(rtnl_link_alloc());
    rtnl_link_unset_flags(change.get(), IFF_UP);
    int err = rtnl_link_change(host_.get(), ByIndex(link->ifindex).get(), change.get(), 0);
    if (err < 0 && !IsNlNotFound(err)) return NlError("set link down", err);
  }
  // By index, not name: a new endpoint may take this name before the deletion runs.
  released_.push_back(link->ifindex);
  known_.clear();  // its peer goes with it, under a name this memory may hold
  return Ok();
}

NlLinkOps::~NlLinkOps() {
  if (!released_.empty()) DeleteLinksInBackground(released_);
}

Status NlLinkOps::DeleteLink(const DeleteLinkOp& op) {
  BERTH_ASSIGN_OR_RETURN(nl_sock * sock, Sock(op.where));
  known_.clear();  // a veth's peer goes with it, under a name this memory may hold
  return DeleteLinkWith(sock, op.name);
}

Result<std::optional<int>> NlLinkOps::Ifindex(Where where, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(Facts * link, Known(where, name));
  if (!link) return std::optional<int>();
  return std::optional<int>(link->ifindex);
}

Result<std::vector<Cidr>> NlLinkOps::HostRoutes() {
  nl_cache* raw = nullptr;
  int err = rtnl_route_alloc_cache(host_.get(), AF_UNSPEC, 0, &raw);
  if (err < 0) return NlError("list routes", err);
  NlCache cache(raw);
  std::vector<Cidr> out;
  for (nl_object* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN) continue;
    nl_addr* dst = rtnl_route_get_dst(r);
    if (!dst || nl_addr_get_prefixlen(dst) == 0) continue;
    int fam = nl_addr_get_family(dst);
    if (fam != AF_INET && fam != AF_INET6) continue;
    IpAddr ip = FromNlAddr(dst);
    out.emplace_back(Cidr(ip, static_cast<int>(nl_addr_get_prefixlen(dst))).Network(),
                     static_cast<int>(nl_addr_get_prefixlen(dst)));
  }
  return out;
}

Result<NamespaceView> NlLinkOps::Observe(Where where) {
  BERTH_ASSIGN_OR_RETURN(nl_sock * sock, Sock(where));
  return ObserveWith(sock);
}

Result<std::vector<RouteInfo>> NlLinkOps::Routes(Where where) {
  BERTH_ASSIGN_OR_RETURN(nl_sock * sock, Sock(where));
  return RoutesWith(sock);
}

Result<std::optional<LinkInfo>> NlLinkOps::GetLinkInfo(Where where, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(nl_sock * sock, Sock(where));
  BERTH_ASSIGN_OR_RETURN(NlLink fresh, GetLink(sock, name));
  if (!fresh) {
    known_.erase({where, name});
    return std::optional<LinkInfo>();
  }
  LinkInfo info = ReadLink(fresh.get());
  known_[{where, name}] = Facts{info.ifindex, rtnl_link_get_flags(fresh.get())};
  if (info.master_ifindex) {
    // Names do not change within an operation: a master looked up before needs no round trip.
    for (const auto& [key, facts] : known_) {
      if (key.first == where && facts.ifindex == info.master_ifindex) info.master = key.second;
    }
    if (info.master.empty()) info.master = LinkNameWith(sock, info.master_ifindex);
  }
  return std::optional<LinkInfo>(std::move(info));
}

Result<std::optional<std::string>> NlLinkOps::Mac(Where where, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(nl_sock * sock, Sock(where));
  if (known_.count({where, name})) return IfMac(nl_socket_get_fd(sock), name);
  BERTH_ASSIGN_OR_RETURN(auto info, GetLinkInfo(where, name));
  if (!info) return std::optional<std::string>();
  return std::optional<std::string>(info->mac);
}

}  // namespace berth::net
