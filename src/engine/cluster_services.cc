// Services across the cluster: every node keeps a local copy of the cluster's services (etcd
// holds them) and of the other nodes' containers on the cluster network, so its firewall
// dispatches a VIP to backends on any node (reached over the node routes, without SNAT) and
// its DNS answers the service's name. berthd calls SyncClusterServices whenever its cluster
// agent sees either change.
#include <map>

#include "core/log.h"
#include "engine/endpoints.h"
#include "engine/engine.h"
#include "engine/services.h"

namespace berth::engine {

namespace {

// The same service as far as this node programs it (ids and created time aside).
bool SameSpec(const Service& a, const Service& b) {
  return a.name == b.name && a.vip == b.vip && a.selector == b.selector && a.ports == b.ports &&
         a.round_robin == b.round_robin && a.affinity == b.affinity && a.publish == b.publish;
}

bool SameRules(const firewall::ServiceRules& a, const firewall::ServiceRules& b) {
  return a.vip == b.vip && a.ports == b.ports && a.backends == b.backends &&
         a.round_robin == b.round_robin && a.affinity == b.affinity && a.publish == b.publish;
}

// The firewall change from `before` to `after` (services by id): gone, new, changed.
firewall::Delta ServicesDelta(const std::vector<firewall::ServiceRules>& before,
                              const std::vector<firewall::ServiceRules>& after) {
  std::map<std::string, const firewall::ServiceRules*> now;
  for (const auto& a : after) now[a.id] = &a;
  firewall::Delta delta;
  for (const auto& b : before) {
    auto it = now.find(b.id);
    if (it != now.end() && SameRules(b, *it->second)) {
      now.erase(it);
      continue;
    }
    delta.remove_services.push_back(b);
  }
  for (const auto& a : after) {
    if (now.count(a.id)) delta.add_services.push_back(a);
  }
  return delta;
}

}  // namespace

Status Engine::SyncClusterServices(const ClusterServiceState& state) {
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
  BERTH_ASSIGN_OR_RETURN(auto net, store_->GetNetworkByName(state.network));
  if (!net) return Ok();  // not joined yet, or left
  bool changed = false;
  BERTH_ASSIGN_OR_RETURN(auto node, store_->GetMeta(kClusterNodeMeta));
  if (node != state.node) {
    BERTH_TRY(store_->SetMeta(kClusterNodeMeta, state.node));
    changed = true;
  }
  BERTH_ASSIGN_OR_RETURN(auto before, ServiceRulesOf(*store_, net->id));
  BERTH_ASSIGN_OR_RETURN(bool remote_changed,
                         store_->ReplaceRemoteEndpoints(net->id, state.remote));
  bool services_changed = false;
  if (state.services) {
    std::map<std::string, const Service*> wanted;
    for (const Service& s : *state.services) wanted[s.id] = &s;
    BERTH_ASSIGN_OR_RETURN(auto local, store_->ServicesOfNetwork(net->id));
    for (const Service& l : local) {
      auto it = wanted.find(l.id);
      if (it != wanted.end() && SameSpec(l, *it->second)) continue;
      BERTH_TRY(store_->DeleteService(l.id));
      services_changed = true;
    }
    BERTH_ASSIGN_OR_RETURN(auto present, store_->ListServices());
    for (const Service& w : *state.services) {
      bool have = false;
      const Service* clash = nullptr;
      for (const Service& p : present) {
        if (p.id == w.id) have = true;
        if (p.id != w.id && (p.name == w.name || p.vip == w.vip)) clash = &p;
      }
      if (have) continue;
      // A host port this node's containers or services publish: the copy would make the
      // whole transaction fail, and with it every later sync of this node.
      std::optional<Error> port_clash;
      for (const ServicePublish& p : w.publish) {
        if (Status free = CheckHostPortFree(*store_, present, p); !free.ok()) {
          port_clash = free.error();
          break;
        }
      }
      if (port_clash) {
        log::Error("cluster service " + w.name + " not programmed on this node: " +
                   port_clash->message());
        continue;
      }
      if (clash) {
        // A service of another network made on this node alone before it joined: the
        // cluster's cannot share its name or VIP here.
        log::Error("cluster service " + w.name + " (" + w.vip.ToString() +
                   ") not programmed on this node: local service " + clash->name + " (" +
                   clash->vip.ToString() + ") holds its name or VIP");
        continue;
      }
      Service copy = w;
      copy.network_id = net->id;
      copy.network_name = net->name;
      BERTH_TRY(store_->InsertService(copy));
      present.push_back(copy);
      services_changed = true;
    }
  }
  if (!changed && !remote_changed && !services_changed) return Ok();  // nothing written
  BERTH_ASSIGN_OR_RETURN(auto after, ServiceRulesOf(*store_, net->id));
  firewall::Delta delta = ServicesDelta(before, after);
  EndpointDeps deps = Deps(op->links());
  BERTH_TRY_CTX(ApplyFirewall(deps, op->rollback(), delta), "program cluster services");
  BERTH_TRY(op->Commit());
  if (!delta.empty()) {
    // UDP flows pinned to a backend that left would keep reaching it until they time out.
    BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, Firewall());
    if (Status forgot = fw->ForgetFlows(StaleUdpFlows(delta)); !forgot.ok()) {
      log::Warn("cluster service backends changed: " + forgot.error().message());
    }
  }
  if (services_changed) Notify({Change::kEndpointsAdded, DnsEnabled(*net)});
  return Ok();
}

}  // namespace berth::engine
