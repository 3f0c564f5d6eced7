#include "engine/endpoints.h"

#include "engine/services.h"

#include <algorithm>

#include "core/ids.h"
#include "core/log.h"
#include "ipam/allocator.h"
#include "net/apply.h"
#include "net/plan.h"

namespace berth::engine {

firewall::NetworkRules RulesFor(const Network& net) {
  firewall::NetworkRules r{net.bridge, net.subnet, net.masquerade(), net.icc(), net.internal};
  if (auto it = net.options.find("cluster_cidr"); it != net.options.end()) {
    auto cidr = Cidr::ParseNetwork(it->second);  // validated by ParseNetworkOptions
    if (cidr.ok()) {
      r.cluster_cidr = *cidr;
      r.cluster_gateway = net.gateway;
    }
  }
  return r;
}

firewall::PortRule RuleFor(const PortMapping& p, const IpAddr& container_ip) {
  return {p.host_ip, p.protocol, p.host_port, p.count, container_ip, p.container_port};
}

Status ApplyFirewall(EndpointDeps& deps, Rollback& rollback, const firewall::Delta& delta) {
  if (delta.empty()) return Ok();
  BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, deps.firewall());
  BERTH_TRY(fw->Apply(delta, deps.state));
  rollback.Add("undo firewall changes",
               [fw, inverse = delta.Inverse(), state = deps.state] {
                 return fw->Apply(inverse, state);
               });
  return Ok();
}

Intent AttachIntent(std::string kind, const std::string& container_id, const Network& network,
                    const std::string& ifname) {
  Intent intent{std::move(kind), container_id, network.id, {HostVethName(container_id, ifname)},
                ""};
  if (network.is_default) intent.links.push_back(network.bridge);
  return intent;
}

Result<Endpoint> AttachEndpoint(EndpointDeps& deps, Rollback& rollback, const AttachSpec& spec) {
  const Network& net = *spec.network;
  store::Store& store = deps.store;
  if (deps.op) deps.op->Count(OpKind::kAttach, net.name);
  if (!spec.ports.empty() && net.internal) {
    return Error::Invalid("ports cannot be published on network " + net.name +
                          ": it is --internal");
  }
  // The network's services before this endpoint: their backends may change with it.
  BERTH_ASSIGN_OR_RETURN(auto services_before, ServiceRulesOf(store, net.id));
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
  ep.mac = spec.mac.value_or(MacForIp(ep.ip));
  ep.gateway = net.gateway;
  ep.host_veth = HostVethName(ep.container_id, ep.ifname);
  ep.aliases = spec.aliases;
  BERTH_TRY(store.InsertEndpoint(ep));
  if (spec.ip) BERTH_TRY(store.MarkStaticIp(ep.container_id, net.id));  // kept while stopped
  BERTH_ASSIGN_OR_RETURN(ep.ports, ReservePorts(store, spec.ports));
  for (const PortMapping& p : ep.ports) BERTH_TRY(store.InsertPort(ep.container_id, net.id, p));

  std::vector<std::string> created;
  Status built = net::Apply(net::AttachPlan(net, ep, spec.default_route), deps.links, rollback,
                            &created);
  if (!built.ok()) {
    // The kernel's "bridge full" (EXFULL) reaches us as libnl's "Unspecific failure".
    BERTH_ASSIGN_OR_RETURN(auto peers, store.EndpointsOfNetwork(net.id));
    if (peers.size() > kMaxBridgePorts) {
      return Error::Unavailable("network " + net.name + " is full: a Linux bridge holds at most " +
                                std::to_string(kMaxBridgePorts) + " endpoints");
    }
    return std::move(built).error().Wrap("attach to network " + net.name);
  }
  if (ep.ports.empty()) {
    // A labelled container may be a service backend, and one calling its own service is
    // DNATed back to itself while bridged (br_netfilter): its port needs hairpin mode, as a
    // published port's does (AttachPlan).
    BERTH_ASSIGN_OR_RETURN(auto labels, store.LabelsOf(ep.container_id));
    if (!labels.empty()) {
      BERTH_TRY_CTX(net::Apply(net::Plan{{net::HairpinOp{ep.host_veth}}}, deps.links, rollback),
                    "attach to network " + net.name);
    }
  }
  firewall::Delta delta;
  if (!created.empty()) delta.add_networks.push_back(RulesFor(net));
  for (const PortMapping& p : ep.ports) delta.add_ports.push_back(RuleFor(p, ep.ip));
  if (!services_before.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto services_after, ServiceRulesOf(store, net.id));
    AddServiceChanges(services_before, services_after, delta);
  }
  BERTH_TRY_CTX(ApplyFirewall(deps, rollback, delta), "attach to network " + net.name);
  return ep;
}

Status DetachEndpoint(EndpointDeps& deps, const Endpoint& ep) {
  std::string what = "detach from network " + ep.network_name;
  if (deps.op) deps.op->Count(OpKind::kDetach, ep.network_name);
  BERTH_ASSIGN_OR_RETURN(auto services_before, ServiceRulesOf(deps.store, ep.network_id));
  BERTH_ASSIGN_OR_RETURN(auto ports, deps.store.PortsOf(ep.container_id, ep.network_id));
  // Rows first: if the firewall has to be rebuilt, it is rebuilt without these ports.
  BERTH_TRY(deps.store.DeletePortsOf(ep.container_id, ep.network_id));
  firewall::Delta delta;
  for (const PortMapping& p : ports) delta.remove_ports.push_back(RuleFor(p, ep.ip));
  if (!delta.empty()) {
    auto fw = deps.firewall();
    Status removed = fw.ok() ? (*fw)->Apply(delta, deps.state) : Status(fw.error());
    if (!removed.ok()) {
      // The elements are still in the kernel: keep their rows, for a caller that commits the
      // rest anyway (CNI GC is best effort) must not forget ports the firewall still forwards.
      for (const PortMapping& p : ports) {
        (void)deps.store.InsertPort(ep.container_id, ep.network_id, p);
      }
      return std::move(removed).error().Wrap(what);
    }
  }
  Rollback none;  // deletions have nothing to undo
  BERTH_TRY_CTX(net::Apply(net::DetachPlan(ep), deps.links, none), what);
  BERTH_TRY(deps.store.DeleteEndpoint(ep.container_id, ep.network_id));
  if (!services_before.empty()) {
    // The endpoint leaves the backends of the services it was in, in this same operation.
    BERTH_ASSIGN_OR_RETURN(auto services_after, ServiceRulesOf(deps.store, ep.network_id));
    firewall::Delta services;
    AddServiceChanges(services_before, services_after, services);
    if (!services.empty()) {
      BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, deps.firewall());
      BERTH_TRY_CTX(fw->Apply(services, deps.state), what);
      // No new flow reaches the endpoint now; UDP flows already pinned to it are forgotten
      // so their clients move on (TCP ones end with the endpoint's connections).
      if (Status forgot = fw->ForgetFlows(StaleUdpFlows(services)); !forgot.ok()) {
        log::Warn("service backend left: " + forgot.error().message());
      }
    }
  }
  // The default network's bridge exists while it is used: created by the first attach,
  // removed with the last endpoint, so removing every container leaves nothing behind.
  BERTH_ASSIGN_OR_RETURN(auto net, deps.store.FindNetwork(ep.network_id));
  if (!net || !net->is_default) return Ok();
  BERTH_ASSIGN_OR_RETURN(auto rest, deps.store.EndpointsOfNetwork(net->id));
  if (!rest.empty()) return Ok();
  firewall::Delta bridge;
  bridge.remove_networks.push_back(RulesFor(*net));
  BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, deps.firewall());
  BERTH_TRY_CTX(fw->Apply(bridge, deps.state), what);
  return net::Apply(net::Plan{{net::DeleteLinkOp{net::Where::kHost, net->bridge}}}, deps.links,
                    none);
}

}  // namespace berth::engine
