// External attachments (see external.h): attach, detach, check, collect and readiness for
// containers whose namespace a runtime owns. Reuses AttachEndpoint/DetachEndpoint, so an
// external endpoint is built, recorded and torn down exactly like one of berth's own.
#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/ids.h"
#include "core/names.h"
#include "core/rollback.h"
#include "engine/dns.h"
#include "engine/endpoints.h"
#include "engine/engine.h"
#include "engine/options.h"
#include "ipam/allocator.h"
#include "ipam/subnets.h"
#include "net/apply.h"
#include "sys/netns.h"

namespace berth::engine {

namespace {

/// "02:42:AC:11:00:02" -> "02:42:ac:11:00:02"; refuses anything but a unicast Ethernet MAC.
Result<std::string> NormalizeMac(const std::string& text) {
  std::string out;
  bool ok = text.size() == 17;
  for (size_t i = 0; ok && i < text.size(); ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    ok = i % 3 == 2 ? c == ':' : std::isxdigit(static_cast<unsigned char>(c)) != 0;
    out += c;
  }
  if (!ok) return Error::Invalid("invalid MAC address \"" + text + "\": expected xx:xx:xx:xx:xx:xx");
  int first = std::stoi(out.substr(0, 2), nullptr, 16);
  if (first & 1) return Error::Invalid("MAC address " + out + " is a multicast address");
  if (out == "00:00:00:00:00:00") return Error::Invalid("MAC address " + out + " is all zeros");
  return out;
}

/// The container record of an external attachment: its name is the runtime's wish when that
/// is a valid, free name, else "cni-" + the start of the runtime's id.
Result<std::string> PickName(store::Store& store, const std::string& wanted,
                             const std::string& id) {
  std::vector<std::string> candidates;
  if (!wanted.empty() && ValidateName("container", wanted).ok()) candidates.push_back(wanted);
  candidates.push_back("cni-" + id.substr(0, 12));
  candidates.push_back(("cni-" + id).substr(0, 63));
  for (const std::string& name : candidates) {
    if (!ValidateName("container", name).ok()) continue;
    BERTH_ASSIGN_OR_RETURN(auto taken, store.GetContainerByName(name));
    if (!taken) return name;
  }
  for (uint64_t salt = Fnv1a(id);; salt = Fnv1a(id, salt)) {
    std::string name = GeneratedName(salt);
    BERTH_ASSIGN_OR_RETURN(auto taken, store.GetContainerByName(name));
    if (!taken) return name;
  }
}

/// The network an attachment names: the existing one (which must match the request), or a new
/// one made from the request. Concurrent first attachments race to create it; the losers use
/// the winner's.
Result<Network> EnsureNetwork(Engine& engine, const NetworkCreateRequest& req, bool* created) {
  *created = false;
  BERTH_ASSIGN_OR_RETURN(auto existing, engine.store().GetNetworkByName(req.name));
  if (!existing) {
    auto made = engine.CreateNetwork(req);
    if (made.ok()) {
      *created = true;
      return made;
    }
    if (made.error().code() != Code::kExists) return std::move(made).error();
    BERTH_ASSIGN_OR_RETURN(existing, engine.store().GetNetworkByName(req.name));
    if (!existing) return std::move(made).error();  // a real conflict (e.g. the bridge name)
  }
  BERTH_TRY(CheckNetworkMatches(*existing, req));
  return std::move(*existing);
}

const Endpoint* FindEndpoint(const std::vector<Endpoint>& eps, const std::string& network) {
  for (const Endpoint& e : eps) {
    if (e.network_name == network) return &e;
  }
  return nullptr;
}

std::string RouteText(const std::optional<Cidr>& dst, const IpAddr& via) {
  return (dst ? dst->ToString() : std::string("default")) + " via " + via.ToString();
}

}  // namespace

Status CheckNetworkMatches(const Network& existing, const NetworkCreateRequest& req) {
  auto differs = [&](const std::string& what, const std::string& have, const std::string& want) {
    return Error::Invalid("network " + existing.name + " exists with " + what + " " + have +
                          ", but the configuration asks for " + want);
  };
  BERTH_ASSIGN_OR_RETURN(auto subnet, ParseOptional<Cidr>(req.subnet, Cidr::ParseNetwork));
  if (subnet && *subnet != existing.subnet) {
    return differs("subnet", existing.subnet.ToString(), subnet->ToString());
  }
  BERTH_ASSIGN_OR_RETURN(auto gateway, ParseOptional<IpAddr>(req.gateway, IpAddr::Parse));
  if (gateway && *gateway != existing.gateway) {
    return differs("gateway", existing.gateway.ToString(), gateway->ToString());
  }
  if (req.mtu && *req.mtu != existing.mtu) {
    return differs("MTU", std::to_string(existing.mtu), std::to_string(*req.mtu));
  }
  if (req.internal && !existing.internal) {
    return Error::Invalid("network " + existing.name +
                          " exists and is not internal, but the configuration asks for an "
                          "internal network");
  }
  BERTH_ASSIGN_OR_RETURN(NetworkOptions opts, ParseNetworkOptions(req.options));
  if (opts.bridge_name && *opts.bridge_name != existing.bridge) {
    return differs("bridge", existing.bridge, *opts.bridge_name);
  }
  return Ok();
}

Result<ExternalAttachment> Engine::AttachExternal(const ExternalAttachRequest& req,
                                                  const NetworkCreateRequest& net_req) {
  // Validate everything that needs no state before changing anything.
  if (req.key.container_id.empty()) return Error::Invalid("empty container id");
  BERTH_TRY(ValidateIfName(req.key.ifname));
  if (req.netns_path.empty()) return Error::Invalid("no network namespace given");
  if (net_req.name != req.network) return Error::Internal("attach request names two networks");
  for (const std::string& alias : req.aliases) BERTH_TRY(ValidateName("alias", alias));
  std::optional<std::string> mac;
  if (req.mac) {
    BERTH_ASSIGN_OR_RETURN(mac, NormalizeMac(*req.mac));
  }
  for (const ExternalRoute& r : req.routes) {
    if (!r.dst) return Error::Internal("a default route belongs in default_route");
  }
  // Fails early for a namespace that is not there; the operation opens its own handle.
  BERTH_TRY(sys::OpenNetns(req.netns_path));

  bool created = false;
  BERTH_ASSIGN_OR_RETURN(Network net, EnsureNetwork(*this, net_req, &created));
  BERTH_TRY(CheckClusterFence(net));

  auto attach = [&]() -> Result<ExternalAttachment> {
    ExternalAttachment out;
    BERTH_ASSIGN_OR_RETURN(sys::Fd netns, sys::OpenNetns(req.netns_path));
    BERTH_ASSIGN_OR_RETURN(auto op, Begin(std::move(netns)));
    net::LinkOps& ops = op->links();
    bool default_route = req.default_route && !net.internal;
    if (default_route) {
      // Another network of this container may have set the default route (CNI spec: skip ours).
      net::NamespaceView view;
      BERTH_ASSIGN_OR_RETURN(view.routes, ops.Routes(net::Where::kContainer));
      if (view.HasDefaultRoute(!net.subnet.is_v4())) default_route = false;
    }
    BERTH_ASSIGN_OR_RETURN(auto fresh, store_->GetNetworkByName(net.name));
    if (!fresh || fresh->id != net.id) {
      return Error::Unavailable("network " + net.name + " was removed meanwhile: try again");
    }

    BERTH_ASSIGN_OR_RETURN(auto existing, store_->GetContainer(req.key.container_id));
    Container c;
    if (existing) {
      c = std::move(*existing);
      if (!c.is_cni()) {
        return Error::Exists("container id " + req.key.container_id +
                             " belongs to a container berth runs itself (" + c.name + ")");
      }
      if (c.netns_path != req.netns_path) {
        return Error::Invalid("container " + req.key.container_id +
                              " is attached in network namespace " + c.netns_path +
                              ", not " + req.netns_path);
      }
      BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(c.id));
      if (const Endpoint* e = FindEndpoint(eps, net.name)) {
        return Error::Exists("container " + req.key.container_id +
                             " is already attached to network " + net.name + " as " + e->ifname);
      }
    } else {
      c.id = req.key.container_id;
      BERTH_ASSIGN_OR_RETURN(c.name, PickName(*store_, req.name, c.id));
      c.hostname = c.name;
      c.mode = kCniMode;
      c.netns_path = req.netns_path;
      c.netns_owner_id = "";  // the runtime's: never created or removed by berth
      c.created = static_cast<int64_t>(std::time(nullptr));
      BERTH_TRY(store_->InsertContainer(c));
    }

    std::optional<IpAddr> ip = req.ip;
    if (!ip && req.range) {
      ipam::InUseFn in_use = [&](const IpAddr& a) { return store_->IpInUse(net.id, a); };
      BERTH_ASSIGN_OR_RETURN(auto cursor, store_->IpCursor(net.id));
      BERTH_ASSIGN_OR_RETURN(IpAddr got, ipam::NextFreeInRange(net, req.range->first,
                                                               req.range->second, cursor, in_use));
      BERTH_TRY(store_->SetIpCursor(net.id, got));
      ip = got;
    }
    AttachSpec spec;
    spec.container = &c;
    spec.network = &net;
    spec.ip = ip;
    spec.aliases = req.aliases;
    for (const PortMapping& p : req.ports) {
      spec.ports.push_back({p.host_ip, p.host_port, p.container_port, p.count, p.protocol});
    }
    spec.ifname = req.key.ifname;
    spec.default_route = default_route;
    spec.mac = mac;
    BERTH_TRY(op->Intend(AttachIntent("attach-external", c.id, net, spec.ifname)));
    EndpointDeps deps = Deps(*op);
    BERTH_ASSIGN_OR_RETURN(out.endpoint, AttachEndpoint(deps, op->rollback(), spec));
    out.default_route = default_route;

    net::Plan routes;
    for (const ExternalRoute& r : req.routes) {
      IpAddr via = r.via.value_or(net.gateway);
      routes.ops.push_back(net::AddRouteOp{net::Where::kContainer, req.key.ifname, r.dst, via});
      out.routes.push_back({r.dst, via});
    }
    BERTH_TRY_CTX(net::Apply(routes, ops, op->rollback()), "attach to network " + net.name);

    BERTH_ASSIGN_OR_RETURN(auto bridge_mac, ops.Mac(net::Where::kHost, net.bridge));
    BERTH_ASSIGN_OR_RETURN(auto veth_mac, ops.Mac(net::Where::kHost, out.endpoint.host_veth));
    if (bridge_mac) out.bridge_mac = *bridge_mac;
    if (veth_mac) out.host_veth_mac = *veth_mac;
    BERTH_TRY(op->Commit());
    out.network = net;
    // The embedded DNS server answers on the gateway of a DNS-enabled network.
    if (DnsEnabled(net)) out.dns_servers = {net.gateway};
    Notify({Change::kEndpointsAdded, DnsEnabled(net)});
    return out;
  };

  auto attached = attach();
  if (!attached.ok()) {
    if (created) {
      // All or nothing: the network was made for this attachment. If a concurrent attachment
      // uses it already, it stays (RemoveNetwork refuses), and that is no longer our change.
      (void)RemoveNetwork(net.id);
    }
    return std::move(attached).error().Wrap("attach container " + req.key.container_id);
  }
  attached->network_created = created;
  return attached;
}

Status Engine::DetachExternal(const std::string& network, const ExternalKey& key) {
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));  // detaching only deletes the host veth
  BERTH_ASSIGN_OR_RETURN(auto c, store_->GetContainer(key.container_id));
  if (!c) return Ok();  // never attached, or detached already
  if (!c->is_cni()) {
    return Error::Invalid("container " + c->name +
                          " is one berth runs itself, not a CNI attachment: use berth rm");
  }
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(c->id));
  {
    Intent intent{"detach-external", c->id, "", {}, ""};
    for (const Endpoint& ep : eps) {
      if (ep.network_name == network && ep.ifname == key.ifname) {
        intent.network_id = ep.network_id;
        intent.links.push_back(ep.host_veth);
      }
    }
    BERTH_TRY(op->Intend(std::move(intent)));
  }
  EndpointDeps deps = Deps(*op);
  std::vector<Endpoint> gone;
  ErrorList errors;  // best effort: every endpoint is tried, every failure reported
  for (const Endpoint& ep : eps) {
    if (ep.network_name != network || ep.ifname != key.ifname) continue;
    Status st = DetachEndpoint(deps, ep);
    if (st.ok()) gone.push_back(ep);
    errors.Add(std::move(st));
  }
  BERTH_TRY(errors.ToStatus("detach container " + key.container_id));
  if (gone.size() == eps.size()) BERTH_TRY(store_->DeleteContainer(c->id));
  BERTH_ASSIGN_OR_RETURN(bool dns, OnDnsNetwork(*store_, gone));
  BERTH_TRY(op->Commit());
  if (!gone.empty()) Notify({Change::kEndpointsRemoved, dns});
  return Ok();
}

Status Engine::CheckExternal(const ExternalCheckRequest& req) {
  const std::string what = "container " + req.key.container_id + " on network " + req.network;
  BERTH_ASSIGN_OR_RETURN(auto c, store_->GetContainer(req.key.container_id));
  if (!c || !c->is_cni()) return Error::NotFound(what + ": berth has no such attachment");
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(c->id));
  const Endpoint* found = FindEndpoint(eps, req.network);
  if (!found || found->ifname != req.key.ifname) {
    return Error::NotFound(what + ": berth has no attachment as " + req.key.ifname);
  }
  const Endpoint& ep = *found;
  BERTH_ASSIGN_OR_RETURN(auto net, store_->GetNetworkByName(req.network));
  if (!net) return Error::Internal(what + ": the network record is missing");
  const Cidr address(ep.ip, ep.prefix_len);
  if (req.address && *req.address != address) {
    return Error::Invalid(what + ": the runtime was told address " + req.address->ToString() +
                          ", berth holds " + address.ToString());
  }
  if (!req.netns_path.empty() && req.netns_path != c->netns_path) {
    return Error::Invalid(what + ": attached in network namespace " + c->netns_path + ", not " +
                          req.netns_path);
  }
  auto fd = sys::OpenNetns(c->netns_path);
  if (!fd.ok()) return std::move(fd).error().Wrap(what);
  // Read-only: no Operation (no lock, nothing to undo); the fd outlives the LinkOps bound to it.
  BERTH_ASSIGN_OR_RETURN(auto ops, links_(fd->get()));

  BERTH_ASSIGN_OR_RETURN(net::NamespaceView inside, ops->Observe(net::Where::kContainer));
  const net::LinkInfo* link = inside.Link(ep.ifname);
  if (!link) return Error::NotFound(what + ": interface " + ep.ifname + " is missing");
  std::string mac = ep.mac;
  if (req.mac) {
    BERTH_ASSIGN_OR_RETURN(mac, NormalizeMac(*req.mac));
  }
  if (link->mac != mac) {
    return Error::Invalid(what + ": interface " + ep.ifname + " has MAC " + link->mac +
                          ", expected " + mac);
  }
  if (!link->up) return Error::Invalid(what + ": interface " + ep.ifname + " is down");
  if (!inside.HasAddress(link->ifindex, address)) {
    return Error::NotFound(what + ": address " + address.ToString() + " is missing from " +
                           ep.ifname);
  }
  for (const ExternalRoute& r : req.routes) {
    IpAddr via = r.via.value_or(ep.gateway);
    if (via != ep.gateway) continue;  // not through this network: another plugin's business
    if (!inside.HasRoute(r.dst, via, link->ifindex)) {
      return Error::NotFound(what + ": route " + RouteText(r.dst, via) + " is missing");
    }
  }

  BERTH_ASSIGN_OR_RETURN(net::NamespaceView host, ops->Observe(net::Where::kHost));
  const net::LinkInfo* veth = host.Link(ep.host_veth);
  if (!veth) return Error::NotFound(what + ": host interface " + ep.host_veth + " is missing");
  if (veth->master != net->bridge) {
    return Error::Invalid(what + ": host interface " + ep.host_veth + " is not a port of bridge " +
                          net->bridge);
  }
  if (veth->peer_ifindex != link->ifindex) {
    return Error::Invalid(what + ": host interface " + ep.host_veth + " is not the peer of " +
                          ep.ifname);
  }
  if (!veth->up) return Error::Invalid(what + ": host interface " + ep.host_veth + " is down");
  const net::LinkInfo* bridge = host.Link(net->bridge);
  if (!bridge) return Error::NotFound(what + ": bridge " + net->bridge + " is missing");
  if (!bridge->up) return Error::Invalid(what + ": bridge " + net->bridge + " is down");
  const Cidr gateway(net->gateway, net->subnet.prefix());
  if (!host.HasAddress(bridge->ifindex, gateway)) {
    return Error::NotFound(what + ": gateway address " + gateway.ToString() +
                           " is missing from bridge " + net->bridge);
  }

  // The network's and the endpoint's firewall elements (isolation, masquerade, ports).
  firewall::Delta expected;
  expected.add_networks.push_back(RulesFor(*net));
  BERTH_ASSIGN_OR_RETURN(auto ports, store_->PortsOf(c->id, net->id));
  for (const PortMapping& p : ports) expected.add_ports.push_back(RuleFor(p, ep.ip));
  BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, Firewall());
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> missing, fw->Missing(expected));
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Error::NotFound(what + ": firewall rules are missing (" + list + ")");
  }
  return Ok();
}

Result<std::vector<ExternalKey>> Engine::CollectExternal(const std::string& network,
                                                         const std::vector<ExternalKey>& keep) {
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
  BERTH_ASSIGN_OR_RETURN(auto net, store_->GetNetworkByName(network));
  std::vector<ExternalKey> removed;
  if (!net) return removed;
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfNetwork(net->id));
  EndpointDeps deps = Deps(*op);
  // Best effort: remove everything that can be removed, then report what could not.
  ErrorList errors;
  for (const Endpoint& ep : eps) {
    BERTH_ASSIGN_OR_RETURN(auto c, store_->GetContainer(ep.container_id));
    if (!c || !c->is_cni()) continue;  // berth's own containers are never collected
    ExternalKey key{c->id, ep.ifname};
    if (std::find(keep.begin(), keep.end(), key) != keep.end()) continue;
    BERTH_TRY(op->Intend({"detach-external", c->id, net->id, {ep.host_veth}, ""}));
    Status st = DetachEndpoint(deps, ep);
    if (st.ok()) {
      BERTH_ASSIGN_OR_RETURN(auto left, store_->EndpointsOfContainer(c->id));
      if (left.empty()) st = store_->DeleteContainer(c->id);
    }
    if (!st.ok()) {
      errors.Add(std::move(st).error().Wrap(c->id));
      continue;
    }
    removed.push_back(std::move(key));
  }
  BERTH_TRY(op->Commit());
  if (!removed.empty()) Notify({Change::kEndpointsRemoved, DnsEnabled(*net)});
  BERTH_TRY(errors.ToStatus("collect stale attachments of network " + network));
  return removed;
}

Status Engine::ExternalReady(const NetworkCreateRequest& req,
                             const std::optional<std::pair<IpAddr, IpAddr>>& range) {
  BERTH_TRY(ValidateName("network", req.name));
  BERTH_ASSIGN_OR_RETURN(auto existing, store_->GetNetworkByName(req.name));
  if (existing) {
    BERTH_TRY(CheckNetworkMatches(*existing, req));
    ipam::InUseFn in_use = [&](const IpAddr& a) { return store_->IpInUse(existing->id, a); };
    BERTH_ASSIGN_OR_RETURN(auto cursor, store_->IpCursor(existing->id));
    auto ip = range ? ipam::NextFreeInRange(*existing, range->first, range->second, cursor, in_use)
                    : ipam::NextFree(*existing, cursor, in_use);
    if (!ip.ok()) return std::move(ip).error();
    return Ok();
  }
  // Not there yet: the first attachment creates it. Could it?
  ipam::AddressRequest addr;
  BERTH_ASSIGN_OR_RETURN(addr.subnet, ParseOptional<Cidr>(req.subnet, Cidr::ParseNetwork));
  BERTH_ASSIGN_OR_RETURN(addr.gateway, ParseOptional<IpAddr>(req.gateway, IpAddr::Parse));
  BERTH_ASSIGN_OR_RETURN(auto ops, links_(-1));
  BERTH_ASSIGN_OR_RETURN(std::vector<Cidr> routes, ops->HostRoutes());
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> all, store_->ListNetworks());
  std::vector<Cidr> taken;
  for (const Network& n : all) taken.push_back(n.subnet);
  auto plan = ipam::PlanAddresses(addr, taken, routes);
  if (!plan.ok()) {
    Error e = std::move(plan).error();
    return Error(Code::kUnavailable, "network " + req.name + " cannot be created: " + e.message());
  }
  if (range && (!plan->subnet.Contains(range->first) || !plan->subnet.Contains(range->second))) {
    return Error::Invalid("address range " + range->first.ToString() + "-" +
                          range->second.ToString() + " is outside subnet " +
                          plan->subnet.ToString());
  }
  return Ok();
}

}  // namespace berth::engine
