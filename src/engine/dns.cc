#include "engine/dns.h"

#include <map>

namespace berth::engine {

bool DnsEnabled(const Network& n) { return !n.is_default && n.OptionBool("dns", true); }

Result<bool> OnDnsNetwork(store::Store& store, const std::vector<Endpoint>& endpoints) {
  for (const Endpoint& e : endpoints) {
    BERTH_ASSIGN_OR_RETURN(auto n, store.FindNetwork(e.network_id));
    if (n && DnsEnabled(*n)) return true;
  }
  return false;
}

Result<dns::TableSpec> DnsRecords(store::Store& store) {
  dns::TableSpec spec;
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> networks, store.ListNetworks());
  BERTH_ASSIGN_OR_RETURN(std::vector<Container> containers, store.ListContainers());
  std::map<std::string, const Container*> by_id;
  for (const Container& c : containers) by_id[c.id] = &c;
  for (const Network& n : networks) {
    if (!DnsEnabled(n)) continue;
    uint32_t index = static_cast<uint32_t>(spec.networks.size());
    spec.networks.push_back({n.name, {n.gateway}, {n.subnet}, n.internal});
    BERTH_ASSIGN_OR_RETURN(std::vector<Endpoint> eps, store.EndpointsOfNetwork(n.id));
    for (const Endpoint& e : eps) {
      auto it = by_id.find(e.container_id);
      if (it == by_id.end()) continue;
      const Container& c = *it->second;
      dns::TableSpec::Endpoint rec;
      rec.network = index;
      rec.ip = e.ip;
      rec.owner = c.id;
      rec.names.push_back(c.name);
      rec.names.insert(rec.names.end(), e.aliases.begin(), e.aliases.end());
      if (!c.hostname.empty()) rec.names.push_back(c.hostname);
      spec.endpoints.push_back(std::move(rec));
    }
    // A service: its name is its VIP on its network (A, PTR back to the name) and its ports
    // answer SRV (dns/table.h).
    BERTH_ASSIGN_OR_RETURN(std::vector<Service> services, store.ServicesOfNetwork(n.id));
    for (const Service& s : services) {
      dns::TableSpec::Service rec;
      rec.network = index;
      rec.name = s.name;
      rec.vip = s.vip;
      for (const ServicePort& p : s.ports) {
        rec.ports.push_back({p.port, p.protocol == Protocol::kUdp});
      }
      spec.services.push_back(std::move(rec));
    }
  }
  return spec;
}

}  // namespace berth::engine
