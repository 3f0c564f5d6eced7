// Network operations: create, remove, prune, list, inspect.
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "core/log.h"
#include "core/names.h"
#include "core/rollback.h"
#include "engine/engine.h"
#include "engine/options.h"
#include "engine/services.h"
#include "ipam/subnets.h"
#include "net/apply.h"
#include "net/plan.h"
#include "sys/proc.h"

namespace berth::engine {

namespace {

Result<Network> RequireNetwork(store::Store& store, const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto n, store.FindNetwork(key));
  if (!n) return Error::NotFound("network " + key + " not found");
  return std::move(*n);
}

}  // namespace

Result<Network> Engine::CreateNetwork(const NetworkCreateRequest& req) {
  // Validate everything before touching state or the kernel.
  BERTH_TRY(ValidateName("network", req.name));
  if (IsReservedNetworkName(req.name)) {
    return Error::Invalid("network name " + req.name +
                          " is reserved: it is a predefined network mode");
  }
  if (req.driver != "bridge") {
    return Error::Invalid("unsupported network driver \"" + req.driver + "\" (supported: bridge)");
  }
  BERTH_ASSIGN_OR_RETURN(NetworkOptions opts, ParseNetworkOptions(req.options));
  if (req.mtu) BERTH_TRY(ValidateMtu(*req.mtu));
  if (req.mtu && opts.mtu && *req.mtu != *opts.mtu) {
    return Error::Invalid("--mtu " + std::to_string(*req.mtu) + " conflicts with option mtu=" +
                          std::to_string(*opts.mtu));
  }
  ipam::AddressRequest addr_req;
  BERTH_ASSIGN_OR_RETURN(addr_req.subnet, ParseOptional<Cidr>(req.subnet, Cidr::ParseNetwork));
  BERTH_ASSIGN_OR_RETURN(addr_req.gateway, ParseOptional<IpAddr>(req.gateway, IpAddr::Parse));
  BERTH_ASSIGN_OR_RETURN(addr_req.ip_range,
                         ParseOptional<Cidr>(req.ip_range, Cidr::ParseNetwork));
  addr_req.force = req.force;
  if (addr_req.subnet && !addr_req.subnet->is_v4()) {
    return Error::Invalid("IPv6 subnets are not supported yet: give an IPv4 --subnet");
  }

  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
  net::LinkOps& ops = op->links();
  // A picked subnet must avoid the host's routes.
  BERTH_ASSIGN_OR_RETURN(std::vector<Cidr> routes, ops.HostRoutes());
  BERTH_ASSIGN_OR_RETURN(auto existing, store_->GetNetworkByName(req.name));
  if (existing) {
    return Error::Exists("network with name " + req.name + " already exists");
  }
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> all, store_->ListNetworks());
  std::vector<Cidr> taken;
  for (const Network& n : all) taken.push_back(n.subnet);
  taken.push_back(bridge_config_.service_cidr);  // VIPs are translated, never routed
  BERTH_ASSIGN_OR_RETURN(ipam::AddressPlan plan, ipam::PlanAddresses(addr_req, taken, routes, bridge_config_.pools));

  Network net;
  net.id = NewId();
  net.name = req.name;
  net.driver = req.driver;
  net.bridge = opts.bridge_name.value_or(BridgeName(net.id));
  net.subnet = plan.subnet;
  net.gateway = plan.gateway;
  net.ip_range = plan.ip_range;
  net.mtu = req.mtu.value_or(opts.mtu.value_or(1500));
  net.internal = req.internal;
  net.options = opts.values;
  net.created = static_cast<int64_t>(std::time(nullptr));
  if (opts.bridge_name) {
    for (const Network& n : all) {
      if (n.bridge == net.bridge) {
        return Error::Exists("bridge " + net.bridge + " is already used by network " + n.name);
      }
    }
    BERTH_ASSIGN_OR_RETURN(auto idx, ops.Ifindex(net::Where::kHost, net.bridge));
    if (idx) return Error::Exists("an interface named " + net.bridge + " already exists on the host");
  }
  BERTH_TRY(store_->InsertNetwork(net));
  BERTH_TRY(op->Intend({"create-network", "", net.id, {net.bridge}, ""}));
  BERTH_TRY_CTX(net::Apply(net::BridgePlan(net), ops, op->rollback()),
                "create network " + net.name);
  EndpointDeps deps = Deps(ops);
  firewall::Delta delta;
  delta.add_networks.push_back(RulesFor(net));
  BERTH_TRY_CTX(ApplyFirewall(deps, op->rollback(), delta), "create network " + net.name);
  all.push_back(net);  // under the store's lock, so concurrent creates agree on the set
  SyncOtherFirewalls(all);  // let Docker's/firewalld's chains pass it
  BERTH_TRY(op->Commit());
  Notify({Change::kNetworkCreated, DnsEnabled(net)});
  return net;
}

void Engine::SyncOtherFirewalls(const std::vector<Network>& networks,
                                const std::vector<std::string>& gone) {
  if (!other_firewalls_) return;
  std::vector<std::string> bridges;
  for (const Network& n : networks) bridges.push_back(n.bridge);
  for (const std::string& e : other_firewalls_(bridges, gone)) {
    log::Warn("firewall coexistence: " + e);
  }
}

Status Engine::RemoveNetwork(const std::string& key, bool with_services) {
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
  BERTH_ASSIGN_OR_RETURN(Network net, RequireNetwork(*store_, key));
  if (net.is_default) {
    return Error::Invalid(net.name + " is the default network and cannot be removed");
  }
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfNetwork(net.id));
  if (!eps.empty()) {
    std::string names;
    for (const Endpoint& e : eps) {
      BERTH_ASSIGN_OR_RETURN(auto c, store_->FindContainer(e.container_id));
      names += (names.empty() ? "" : ", ") + (c ? c->name : e.container_id.substr(0, 12));
    }
    return Error::InUse("network " + net.name + " has active endpoints (containers: " + names +
                        "): remove or disconnect them first");
  }
  BERTH_ASSIGN_OR_RETURN(auto services, store_->ServicesOfNetwork(net.id));
  firewall::Delta delta;
  if (with_services) {
    BERTH_ASSIGN_OR_RETURN(delta.remove_services, ServiceRulesOf(*store_, net.id));
    for (const Service& s : services) BERTH_TRY(store_->DeleteService(s.id));
  } else if (!services.empty()) {
    return Error::InUse("network " + net.name + " has services (" + services.front().name +
                        (services.size() > 1 ? ", ..." : "") + "): remove them first");
  }
  BERTH_TRY(op->Intend({"remove-network", "", net.id, {net.bridge}, ""}));
  BERTH_TRY(store_->DeleteNetwork(net.id));
  // Firewall elements first (the store no longer has the network, so a rebuild agrees), then
  // the bridge. The firewall elements come back if the bridge or the commit fails (the
  // rollback), so a failed `rm` leaves the network whole and can be retried.
  EndpointDeps deps = Deps(op->links());
  delta.remove_networks.push_back(RulesFor(net));
  BERTH_TRY_CTX(ApplyFirewall(deps, op->rollback(), delta), "remove network " + net.name);
  BERTH_TRY_CTX(net::Apply(net::Plan{{net::DeleteLinkOp{net::Where::kHost, net.bridge}}},
                           op->links(), op->rollback()),
                "remove network " + net.name);
  if (auto rest = store_->ListNetworks(); rest.ok()) {  // none left: berth's rules go
    SyncOtherFirewalls(*rest, {net.bridge});
  }
  BERTH_TRY(op->Commit());
  Notify({Change::kNetworkRemoved, DnsEnabled(net)});
  return Ok();
}

Result<std::vector<std::string>> Engine::PruneNetworks() {
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> all, store_->ListNetworks());
  std::vector<std::string> removed;
  for (const Network& n : all) {
    if (n.is_default) continue;
    Status st = RemoveNetwork(n.id);
    if (st.ok()) {
      removed.push_back(n.name);
    } else if (st.error().code() != Code::kInUse && st.error().code() != Code::kNotFound) {
      return std::move(st).error();
    }
  }
  return removed;
}

Result<std::vector<Network>> Engine::ListNetworks() { return store_->ListNetworks(); }

Result<NetworkStatus> Engine::InspectNetwork(const std::string& key) {
  NetworkStatus out;
  BERTH_ASSIGN_OR_RETURN(out.network, RequireNetwork(*store_, key));
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfNetwork(out.network.id));
  for (Endpoint& e : eps) {
    BERTH_ASSIGN_OR_RETURN(auto c, store_->FindContainer(e.container_id));
    out.endpoints.emplace_back(std::move(e), c ? c->name : std::string());
  }
  return out;
}

Result<std::string> Engine::ExplainAttach(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(Network net, RequireNetwork(*store_, key));
  Endpoint ep;
  ep.container_id = "<container-id>";
  ep.ifname = "eth0";
  ep.ip = (net.ip_range ? net.ip_range->Network() : net.subnet.Network()).Plus(2);
  ep.prefix_len = net.subnet.prefix();
  ep.mac = MacForIp(ep.ip);
  ep.gateway = net.gateway;
  ep.host_veth = HostVethName(ep.container_id, ep.ifname);
  std::string ns = paths_.netns("<container-id>");
  return "ip netns add <container-id>    # berth: a bind mount at " + ns + "\n" +
         net::Explain(net::NewNamespacePlan(), ns) +
         net::Explain(net::AttachPlan(net, ep, true), ns);
}

}  // namespace berth::engine

namespace berth::engine {

Status Engine::CheckClusterFence(const Network& n) const {
  // The network `berth cluster join` makes; the agent writes the file while fenced.
  if (n.name != "cluster") return Ok();
  auto text = sys::ReadFile(paths_.cluster_fenced());
  if (!text.ok()) return Ok();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  std::string reason = j.is_object() ? j.value("reason", std::string()) : std::string();
  return Error::Unavailable("network cluster is not served on this node: " +
                            (reason.empty() ? std::string("the cluster agent fenced it") : reason))
      .WithDetails("see `berth cluster status`; a node removed with `berth node rm` must "
                   "`berth cluster leave` and join again");
}

}  // namespace berth::engine
