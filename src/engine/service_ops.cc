// service create / rm / ls / inspect: the records and their firewall rules, one operation each.
#include <ctime>
#include <set>

#include "core/ids.h"
#include "core/log.h"
#include "core/names.h"
#include "engine/endpoints.h"
#include "engine/engine.h"
#include "engine/services.h"

namespace berth::engine {

namespace {

// Keeps the newest revision of this node's etcd writes (see ServiceHook).
Status RecordClusterWrite(store::Store& store, Result<int64_t> revision) {
  if (!revision.ok()) return std::move(revision).error();
  if (*revision == 0) return Ok();
  BERTH_ASSIGN_OR_RETURN(int64_t before, ClusterServicesRevision(store));
  if (*revision <= before) return Ok();
  return store.SetMeta(kClusterServicesRevisionMeta, std::to_string(*revision));
}

}  // namespace

Result<int64_t> ClusterServicesRevision(store::Store& store) {
  BERTH_ASSIGN_OR_RETURN(auto text, store.GetMeta(kClusterServicesRevisionMeta));
  if (!text) return int64_t{0};
  try {
    return static_cast<int64_t>(std::stoll(*text));
  } catch (const std::exception&) {
    return int64_t{0};
  }
}


namespace {

Result<Service> RequireService(store::Store& store, const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto s, store.FindService(key));
  if (!s) return Error::NotFound("no such service: " + key);
  return std::move(*s);
}

// The range must not capture traffic meant for a network or a route of the host.
Status CheckServiceRange(const Cidr& range, const std::vector<Network>& networks,
                         const std::vector<Cidr>& routes) {
  for (const Network& n : networks) {
    if (n.subnet.Overlaps(range)) {
      return Error::Invalid("the service range " + range.ToString() + " overlaps network " +
                            n.name + " (" + n.subnet.ToString() +
                            "): change service-cidr in config.json");
    }
  }
  for (const Cidr& r : routes) {
    if (r.prefix() == 0 || !r.Overlaps(range)) continue;
    return Error::Invalid("the service range " + range.ToString() + " overlaps the host route " +
                          r.ToString() + ": change service-cidr in config.json");
  }
  return Ok();
}

}  // namespace

// A host port is one container's (-p) or one service's (--publish), never both.
Status CheckHostPortFree(store::Store& store, const std::vector<Service>& services,
                         const ServicePublish& p) {
  std::string what = std::to_string(p.host_port) + (p.protocol == Protocol::kUdp ? "/udp" : "");
  BERTH_ASSIGN_OR_RETURN(auto ips, store.PortHostIps(p.protocol));
  ips.push_back(IpAddr::V4(0));
  for (const IpAddr& ip : ips) {
    BERTH_ASSIGN_OR_RETURN(auto held, store.PortOverlap(p.protocol, ip, p.host_port, p.host_port));
    if (held) {
      BERTH_ASSIGN_OR_RETURN(auto c, store.GetContainer(held->second));
      return Error::InUse("--publish: host port " + what + " is published by container " +
                          (c ? c->name : held->second.substr(0, 12)));
    }
  }
  for (const Service& s : services) {
    for (const ServicePublish& q : s.publish) {
      if (q.host_port == p.host_port && q.protocol == p.protocol) {
        return Error::InUse("--publish: host port " + what + " is published by service " +
                            s.name);
      }
    }
  }
  return Ok();
}

Result<ServiceStatus> Engine::CreateService(const ServiceCreateRequest& req,
                                            const ServiceHook& before_commit) {
  // Everything that needs no state is checked before the lock: bad input changes nothing.
  BERTH_TRY(ValidateName("service", req.name));
  BERTH_ASSIGN_OR_RETURN(auto selector, ParseSelector(req.selector));
  if (selector.empty()) return Error::Invalid("a service needs a --selector KEY=VALUE");
  if (req.ports.empty()) return Error::Invalid("a service needs a --port PORT[:TARGETPORT]");
  std::vector<ServicePort> ports;
  for (const std::string& spec : req.ports) {
    BERTH_ASSIGN_OR_RETURN(ServicePort p, ParseServicePort(spec));
    for (const ServicePort& q : ports) {
      if (q.port == p.port && q.protocol == p.protocol) {
        return Error::Invalid("invalid --port " + spec + ": port " + std::to_string(p.port) +
                              "/" + (p.protocol == Protocol::kUdp ? "udp" : "tcp") +
                              " given twice");
      }
    }
    ports.push_back(p);
  }
  BERTH_ASSIGN_OR_RETURN(bool round_robin, ParseBalance(req.balance));
  BERTH_ASSIGN_OR_RETURN(uint32_t affinity, ParseAffinity(req.affinity));
  std::vector<ServicePublish> publish;
  for (const std::string& spec : req.publish) {
    BERTH_ASSIGN_OR_RETURN(ServicePublish p, ParseServicePublish(spec));
    bool known = false;
    for (const ServicePort& q : ports) known |= q.port == p.port && q.protocol == p.protocol;
    if (!known) {
      return Error::Invalid("invalid --publish " + spec + ": the service has no --port " +
                            std::to_string(p.port) + (p.protocol == Protocol::kUdp ? "/udp" : ""));
    }
    for (const ServicePublish& q : publish) {
      if (q.host_port == p.host_port && q.protocol == p.protocol) {
        return Error::Invalid("invalid --publish " + spec + ": host port given twice");
      }
    }
    publish.push_back(p);
  }
  std::optional<IpAddr> vip;
  if (req.vip) {
    BERTH_ASSIGN_OR_RETURN(IpAddr ip, IpAddr::Parse(*req.vip));
    if (!ip.is_v4()) return Error::Invalid("--vip " + *req.vip + ": an IPv4 address");
    vip = ip;
  }
  const Cidr& range = bridge_config_.service_cidr;
  if (vip && (!range.Contains(*vip) || *vip == range.Network() || *vip == range.Last())) {
    return Error::Invalid("--vip " + vip->ToString() + " is outside the service range " +
                          range.ToString());
  }

  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
  BERTH_ASSIGN_OR_RETURN(auto existing, store_->FindService(req.name));
  if (existing && existing->name == req.name) {
    return Error::Exists("service " + req.name + " already exists");
  }
  // One DNS name space: the name would answer with both the container and the VIP.
  BERTH_ASSIGN_OR_RETURN(auto namesake, store_->GetContainerByName(req.name));
  if (namesake) {
    return Error::Exists("service " + req.name + ": a container has that name (DNS would answer "
                         "with both)");
  }
  BERTH_ASSIGN_OR_RETURN(auto net, store_->FindNetwork(req.network));
  if (!net) return Error::NotFound("network " + req.network + " not found");
  // As `run -p` on such a network: nothing outside may reach an --internal network.
  if (net->internal && !publish.empty()) {
    return Error::Invalid("--publish: network " + net->name +
                          " is --internal: nothing outside may reach it");
  }
  BERTH_ASSIGN_OR_RETURN(auto networks, store_->ListNetworks());
  BERTH_ASSIGN_OR_RETURN(auto routes, op->links().HostRoutes());
  BERTH_TRY(CheckServiceRange(range, networks, routes));
  // Targeted queries, not every service: a create costs the same with 10 or 10,000 present.
  if (!publish.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto publishing, store_->PublishingServices());
    for (const ServicePublish& p : publish) BERTH_TRY(CheckHostPortFree(*store_, publishing, p));
  }
  if (vip) {
    BERTH_ASSIGN_OR_RETURN(auto holder, store_->ServiceWithVip(*vip));
    if (holder) {
      return Error::InUse("--vip " + vip->ToString() + " is used by service " + holder->name);
    }
  } else {
    BERTH_ASSIGN_OR_RETURN(auto vips, store_->ServiceVips());
    std::set<IpAddr> used(vips.begin(), vips.end());
    // The first free address of the range (as Kubernetes hands out ClusterIPs).
    for (IpAddr a = range.Network().Plus(1); a < range.Last(); a = a.Plus(1)) {
      if (!used.count(a)) {
        vip = a;
        break;
      }
    }
    if (!vip) return Error::Unavailable("the service range " + range.ToString() + " is full");
  }
  Service s;
  s.id = NewId();
  s.name = req.name;
  s.network_id = net->id;
  s.network_name = net->name;
  s.vip = *vip;
  s.selector = std::move(selector);
  s.ports = std::move(ports);
  s.round_robin = round_robin;
  s.affinity = affinity;
  s.publish = std::move(publish);
  s.created = static_cast<int64_t>(std::time(nullptr));
  BERTH_TRY(store_->InsertService(s));
  BERTH_ASSIGN_OR_RETURN(auto backends, BackendsOf(*store_, s));
  firewall::Delta delta;
  delta.add_services.push_back(ServiceRulesFor(s, std::move(backends)));
  EndpointDeps deps = Deps(op->links());
  BERTH_TRY_CTX(ApplyFirewall(deps, op->rollback(), delta), "create service " + s.name);
  if (before_commit) BERTH_TRY(RecordClusterWrite(*store_, before_commit(s)));
  BERTH_TRY(op->Commit());
  Notify({Change::kEndpointsAdded, DnsEnabled(*net)});
  return InspectService(s.name);  // by name: an indexed lookup, an id prefix is a scan
}

Status Engine::RemoveService(const std::string& key, const ServiceHook& before_commit) {
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
  BERTH_ASSIGN_OR_RETURN(Service s, RequireService(*store_, key));
  BERTH_ASSIGN_OR_RETURN(auto backends, BackendsOf(*store_, s));
  BERTH_TRY(store_->DeleteService(s.id));
  firewall::Delta delta;
  delta.remove_services.push_back(ServiceRulesFor(s, std::move(backends)));
  EndpointDeps deps = Deps(op->links());
  BERTH_TRY_CTX(ApplyFirewall(deps, op->rollback(), delta), "remove service " + s.name);
  if (before_commit) BERTH_TRY(RecordClusterWrite(*store_, before_commit(s)));
  BERTH_TRY(op->Commit());
  // Its UDP flows would keep reaching the backends through conntrack until they time out.
  BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, Firewall());
  if (Status forgot = fw->ForgetFlows(StaleUdpFlows(delta)); !forgot.ok()) {
    log::Warn("service " + s.name + " removed: " + forgot.error().message());
  }
  BERTH_ASSIGN_OR_RETURN(auto net, store_->FindNetwork(s.network_id));
  Notify({Change::kEndpointsRemoved, net && DnsEnabled(*net)});
  return Ok();
}

Result<std::vector<ServiceStatus>> Engine::ListServices() {
  BERTH_ASSIGN_OR_RETURN(auto services, store_->ListServices());
  std::vector<ServiceStatus> out;
  for (const Service& s : services) {
    BERTH_ASSIGN_OR_RETURN(ServiceStatus st, InspectService(s.id));
    out.push_back(std::move(st));
  }
  return out;
}

Result<ServiceStatus> Engine::InspectService(const std::string& key) {
  ServiceStatus out;
  BERTH_ASSIGN_OR_RETURN(out.service, RequireService(*store_, key));
  // Clustered: every backend says which node it runs on (this one's name for ours).
  BERTH_ASSIGN_OR_RETURN(auto net, store_->FindNetwork(out.service.network_id));
  std::string here;
  if (net && net->options.count("cluster_cidr")) {
    BERTH_ASSIGN_OR_RETURN(auto node, store_->GetMeta(kClusterNodeMeta));
    here = node.value_or("");
  }
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfNetwork(out.service.network_id));
  for (const Endpoint& e : eps) {
    BERTH_ASSIGN_OR_RETURN(auto labels, store_->LabelsOf(e.container_id));
    if (!SelectorMatches(out.service.selector, labels)) continue;
    BERTH_ASSIGN_OR_RETURN(auto c, store_->GetContainer(e.container_id));
    for (const ServicePort& p : out.service.ports) {
      out.backends.push_back({c ? c->name : e.container_id.substr(0, 12), e.ip, p.target_port,
                              p.protocol, here});
    }
  }
  BERTH_ASSIGN_OR_RETURN(auto remote, store_->RemoteEndpointsOfNetwork(out.service.network_id));
  for (const RemoteEndpoint& e : remote) {
    if (!SelectorMatches(out.service.selector, e.labels)) continue;
    for (const ServicePort& p : out.service.ports) {
      out.backends.push_back({e.name, e.ip, p.target_port, p.protocol, e.node});
    }
  }
  return out;
}

Result<std::string> Engine::ExplainService(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(Service s, RequireService(*store_, key));
  BERTH_ASSIGN_OR_RETURN(auto backends, BackendsOf(*store_, s));
  return firewall::ExplainServices({ServiceRulesFor(s, std::move(backends))});
}

}  // namespace berth::engine
