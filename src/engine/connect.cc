// network connect / disconnect (attach and detach on the fly, seed 003), and the engine's
// plumbing for endpoint operations: their dependencies, the lazily created firewall and the
// firewall state derived from the store.
#include <algorithm>
#include <charconv>

#include "core/names.h"
#include "engine/container_files.h"
#include "engine/endpoints.h"
#include "engine/engine.h"
#include "net/apply.h"
#include "net/plan.h"
#include "sys/netns.h"

namespace berth::engine {

namespace {

// The endpoint that gives the default route: the first (by ethN) on a non-internal network.
std::optional<Endpoint> DefaultRouteHolder(store::Store& store, const std::vector<Endpoint>& eps) {
  std::optional<Endpoint> best;
  for (const Endpoint& e : eps) {
    auto n = store.FindNetwork(e.network_id);
    if (!n.ok() || !*n || (*n)->internal) continue;
    if (!best || IfIndexOf(e.ifname) < IfIndexOf(best->ifname)) best = e;
  }
  return best;
}

Result<Container> RequireAttachable(store::Store& store, const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto c, store.FindContainer(key));
  if (!c) return Error::NotFound("no such container: " + key);
  if (c->netns_path.empty() || c->netns_owner_id != c->id) {
    return Error::Invalid("container " + c->name + " uses the network namespace of " +
                          (c->netns_path.empty() ? std::string("the host") : "another container") +
                          ": connect that one instead");
  }
  return std::move(*c);
}

}  // namespace

int IfIndexOf(const std::string& ifname) {
  int n = -1;
  if (ifname.rfind("eth", 0) == 0) std::from_chars(ifname.data() + 3, ifname.data() + ifname.size(), n);
  return n;
}

EndpointDeps Engine::Deps(net::LinkOps& links) {
  return EndpointDeps{*store_, links, [this] { return Firewall(); },
                      [this] { return FirewallState(); }};
}

EndpointDeps Engine::Deps(Operation& op) {
  EndpointDeps deps = Deps(op.links());
  deps.op = &op;
  return deps;
}

Result<firewall::Firewall*> Engine::Firewall() {
  if (!firewall_) {
    BERTH_ASSIGN_OR_RETURN(firewall_, firewall_factory_());
  }
  return firewall_.get();
}

Result<firewall::State> Engine::FirewallState() {
  firewall::State state;
  BERTH_ASSIGN_OR_RETURN(auto nets, store_->ListNetworks());
  for (const Network& n : nets) {
    // The default network's bridge (and so its elements) exists only while it has endpoints.
    if (n.is_default) {
      BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfNetwork(n.id));
      if (eps.empty()) continue;
    }
    state.networks.push_back(RulesFor(n));
  }
  BERTH_ASSIGN_OR_RETURN(auto ports, store_->AllPorts());
  for (const auto& [p, ip] : ports) state.ports.push_back(RuleFor(p, ip));
  BERTH_ASSIGN_OR_RETURN(state.services, ServiceRulesOf(*store_));
  return state;
}

Status Engine::RefreshHosts(const Container& c) {
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(c.id));
  std::vector<IpAddr> ips;
  for (const Endpoint& e : eps) ips.push_back(e.ip);
  return WriteHostsFile(paths_.container_dir(c.id), c.hostname, c.name, ips);
}

Result<Endpoint> Engine::Connect(const std::string& container, const std::string& network,
                                 std::optional<std::string> ip, std::vector<std::string> aliases) {
  AttachSpec spec;
  if (ip) {
    BERTH_ASSIGN_OR_RETURN(IpAddr addr, IpAddr::Parse(*ip));
    spec.ip = addr;
  }
  for (const std::string& a : aliases) BERTH_TRY(ValidateName("alias", a));
  BERTH_ASSIGN_OR_RETURN(Container c, RequireAttachable(*store_, container));
  // Docker's: a stopped container gets the network when it starts; nothing is attached now.
  const bool stopped = c.state == ContainerState::kExited;
  sys::Fd netns;
  if (!stopped) {
    BERTH_ASSIGN_OR_RETURN(netns, sys::OpenNetns(c.netns_path));
  }
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(std::move(netns)));
  BERTH_ASSIGN_OR_RETURN(auto n, store_->FindNetwork(network));
  if (!n) return Error::NotFound("network " + network + " not found");
  BERTH_TRY(CheckBridgeConfig(*n));
  if (n->is_default && (ip || !aliases.empty())) {
    return Error::Invalid("--ip and --alias are supported on user-defined networks only");
  }
  if (stopped) return RecordConnect(*op, c, *n, spec.ip, std::move(aliases));
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(c.id));
  int next = 0;
  for (const Endpoint& e : eps) {
    if (e.network_id == n->id) {
      return Error::Exists("container " + c.name + " is already connected to network " + n->name);
    }
    next = std::max(next, IfIndexOf(e.ifname) + 1);
  }
  spec.container = &c;
  spec.network = &*n;
  spec.aliases = std::move(aliases);
  spec.ifname = "eth" + std::to_string(next);
  spec.default_route = !DefaultRouteHolder(*store_, eps).has_value();
  BERTH_TRY(op->Intend(AttachIntent("connect", c.id, *n, spec.ifname)));
  EndpointDeps deps = Deps(*op);
  BERTH_ASSIGN_OR_RETURN(Endpoint ep, AttachEndpoint(deps, op->rollback(), spec));
  BERTH_TRY(RefreshHosts(c));
  BERTH_TRY(op->Commit());
  Notify({Change::kEndpointsAdded, DnsEnabled(*n)});
  return ep;
}

Status Engine::Disconnect(const std::string& container, const std::string& network) {
  BERTH_ASSIGN_OR_RETURN(Container c, RequireAttachable(*store_, container));
  auto netns = sys::OpenNetns(c.netns_path);  // gone already: the detach is host side only
  const bool inside = netns.ok();
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(inside ? std::move(*netns) : sys::Fd()));
  BERTH_ASSIGN_OR_RETURN(auto n, store_->FindNetwork(network));
  if (!n) return Error::NotFound("network " + network + " not found");
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(c.id));
  auto it = std::find_if(eps.begin(), eps.end(),
                         [&](const Endpoint& e) { return e.network_id == n->id; });
  if (it == eps.end()) {
    // A stopped container let go of its endpoints (release.cc): forget the one it would get
    // back on start, as Docker disconnects a stopped container.
    BERTH_ASSIGN_OR_RETURN(auto released, store_->ReleasedOf(c.id));
    for (const auto& [network_id, spec] : released) {
      if (network_id != n->id) continue;
      BERTH_TRY(store_->DeleteReleased(c.id, n->id));
      return op->Commit();
    }
    return Error::NotFound("container " + c.name + " is not connected to network " + n->name);
  }
  Endpoint gone = *it;
  BERTH_TRY(op->Intend({"disconnect", c.id, n->id, {gone.host_veth}, ""}));
  auto holder = DefaultRouteHolder(*store_, eps);
  EndpointDeps deps = Deps(*op);
  BERTH_TRY(DetachEndpoint(deps, gone));
  // The default route left with that interface: move it to the next network, as Docker does.
  eps.erase(it);
  if (holder && holder->network_id == gone.network_id && inside) {
    if (auto next = DefaultRouteHolder(*store_, eps)) {
      Rollback none;
      // Replace: the released interface keeps its route until its deletion runs.
      net::Plan plan{{net::AddRouteOp{net::Where::kContainer, next->ifname, std::nullopt,
                                      next->gateway, /*replace=*/true}}};
      BERTH_TRY_CTX(net::Apply(plan, op->links(), none),
                    "move the default route to " + next->ifname);
    }
  }
  BERTH_TRY(RefreshHosts(c));
  BERTH_TRY(op->Commit());
  Notify({Change::kEndpointsRemoved, DnsEnabled(*n)});
  return Ok();
}

}  // namespace berth::engine
