#include "diagnose/route_lookup.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/msg.h>
#include <netlink/route/route.h>

#include "diagnose/probe.h"
#include "net/netlink.h"

namespace berth::diagnose {

namespace {

struct NlMsgFree {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};

std::string TypeName(uint8_t type) {
  switch (type) {
    case RTN_UNICAST: return "unicast";
    case RTN_LOCAL: return "local";
    case RTN_BROADCAST: return "broadcast";
    case RTN_MULTICAST: return "multicast";
    case RTN_BLACKHOLE: return "blackhole";
    case RTN_UNREACHABLE: return "unreachable";
    case RTN_PROHIBIT: return "prohibit";
    case RTN_THROW: return "throw";
    default: return "type " + std::to_string(type);
  }
}

int OnRoute(nl_msg* msg, void* arg) {
  auto* out = static_cast<std::optional<RouteLookup>*>(arg);
  rtnl_route* raw = nullptr;
  if (rtnl_route_parse(nlmsg_hdr(msg), &raw) < 0 || !raw) return NL_SKIP;
  net::NlRoute route(raw);
  RouteLookup r;
  if (nl_addr* dst = rtnl_route_get_dst(route.get())) r.dst = net::FromNlAddr(dst);
  if (nl_addr* src = rtnl_route_get_pref_src(route.get())) r.prefsrc = net::FromNlAddr(src);
  r.type = TypeName(rtnl_route_get_type(route.get()));
  if (rtnl_route_get_nnexthops(route.get()) > 0) {
    rtnl_nexthop* nh = rtnl_route_nexthop_n(route.get(), 0);
    if (nl_addr* gw = rtnl_route_nh_get_gateway(nh)) r.gateway = net::FromNlAddr(gw);
    char name[IF_NAMESIZE] = {};
    int index = rtnl_route_nh_get_ifindex(nh);
    // This runs on the thread inside the namespace: the index is resolved there.
    if (index > 0) {
      r.dev = if_indextoname(static_cast<unsigned>(index), name) ? std::string(name)
                                                                  : "if" + std::to_string(index);
    }
  }
  *out = std::move(r);
  return NL_OK;
}

Result<RouteLookup> Ask(const IpAddr& dst) {
  BERTH_ASSIGN_OR_RETURN(net::NlSocket sock, net::OpenRouteSocket());
  std::unique_ptr<nl_msg, NlMsgFree> msg(nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST));
  if (!msg) return Error::System("allocate a netlink message", ENOMEM);
  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(dst.is_v4() ? AF_INET : AF_INET6);
  rtm.rtm_dst_len = static_cast<uint8_t>(dst.size() * 8);
  if (nlmsg_append(msg.get(), &rtm, sizeof rtm, NLMSG_ALIGNTO) < 0 ||
      nla_put(msg.get(), RTA_DST, static_cast<int>(dst.size()), dst.data()) < 0) {
    return Error::Internal("build RTM_GETROUTE");
  }
  std::optional<RouteLookup> out;
  // One answer, the route (or an error): no ACK to wait for after it.
  nl_socket_disable_auto_ack(sock.get());
  nl_socket_modify_cb(sock.get(), NL_CB_VALID, NL_CB_CUSTOM, OnRoute, &out);
  int err = nl_send_auto(sock.get(), msg.get());
  if (err < 0) return net::NlError("ask for the route to " + dst.ToString(), err);
  // The kernel answers a destination it has no route for with an error (ENETUNREACH).
  err = nl_recvmsgs_default(sock.get());
  if (err < 0) {
    return Error::NotFound("no route to " + dst.ToString() + " (" +
                           net::NlError("RTM_GETROUTE", err).message() + ")");
  }
  if (!out) return Error::NotFound("no route to " + dst.ToString());
  out->dst = dst;
  return *std::move(out);
}

}  // namespace

std::string RouteLookup::Text() const {
  std::string out = (type == "unicast" || type.empty() ? "" : type + " ") + dst.ToString();
  if (gateway) out += " via " + gateway->ToString();
  if (!dev.empty()) out += " dev " + dev;
  if (prefsrc) out += " src " + prefsrc->ToString();
  return out;
}

Result<RouteLookup> LookupRoute(const std::string& netns_path, const IpAddr& dst) {
  Result<RouteLookup> out = Error::Internal("not run");
  BERTH_TRY(RunInNetns(netns_path, [&] { out = Ask(dst); }));
  return out;
}

}  // namespace berth::diagnose
