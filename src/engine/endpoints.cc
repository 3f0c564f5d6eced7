#include "engine/endpoints.h"

#include "core/ids.h"
#include "ipam/allocator.h"
#include "net/apply.h"
#include "net/plan.h"

namespace berth::engine {

Result<Endpoint> AttachEndpoint(store::Store& store, net::LinkOps& ops, Rollback& rollback,
                                const AttachSpec& spec) {
  const Network& net = *spec.network;
  ipam::InUseFn in_use = [&](const IpAddr& ip) { return store.IpInUse(net.id, ip); };
  Endpoint ep;
  if (spec.ip) {
    BERTH_TRY(ipam::CheckStatic(net, *spec.ip, in_use));
    ep.ip = *spec.ip;
  } else {
    BERTH_ASSIGN_OR_RETURN(auto cursor, store.IpCursor(net.id));
    BERTH_ASSIGN_OR_RETURN(ep.ip, ipam::NextFree(net, cursor, in_use));
    BERTH_TRY(store.SetIpCursor(net.id, ep.ip));
  }
  ep.container_id = spec.container->id;
  ep.network_id = net.id;
  ep.network_name = net.name;
  ep.ifname = spec.ifname;
  ep.prefix_len = net.subnet.prefix();
  ep.mac = MacForIp(ep.ip);
  ep.gateway = net.gateway;
  ep.host_veth = HostVethName(ep.container_id, ep.ifname);
  ep.aliases = spec.aliases;
  BERTH_TRY(store.InsertEndpoint(ep));
  BERTH_TRY_CTX(net::Apply(net::AttachPlan(net, ep, spec.default_route), ops, rollback),
                "attach to network " + net.name);
  return ep;
}

Status DetachEndpoint(store::Store& store, net::LinkOps& ops, const Endpoint& ep) {
  Rollback none;
  BERTH_TRY_CTX(net::Apply(net::DetachPlan(ep), ops, none),
                "detach from network " + ep.network_name);
  return store.DeleteEndpoint(ep.container_id, ep.network_id);
}

}  // namespace berth::engine
