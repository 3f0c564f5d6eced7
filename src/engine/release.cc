// Stopped containers let go of the network and take it back on start (Docker semantics):
// Engine::ReleaseEndpoints and Engine::RestoreEndpoints.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/dns.h"
#include "engine/endpoints.h"
#include "engine/engine.h"
#include "engine/operation.h"
#include "net/apply.h"
#include "sys/netns.h"

namespace berth::engine {

namespace {

using nlohmann::json;

// What to attach again: the endpoint as it was, its ports as requests for the same host ports.
json SpecJson(const Endpoint& ep, bool static_ip) {
  json ports = json::array();
  for (const PortMapping& p : ep.ports) {
    ports.push_back({{"host_ip", p.host_ip.ToString()},
                     {"host_port", p.host_port},
                     {"container_port", p.container_port},
                     {"count", p.count},
                     {"protocol", p.protocol == Protocol::kTcp ? "tcp" : "udp"}});
  }
  return {{"ifname", ep.ifname}, {"ip", ep.ip.ToString()}, {"static_ip", static_ip},
          {"mac", ep.mac},       {"aliases", ep.aliases},  {"ports", ports}};
}

struct Released {
  std::string network_id;
  std::string ifname, mac;
  std::optional<IpAddr> ip;  // static only
  std::vector<std::string> aliases;
  std::vector<PortRequest> ports;
};

Result<Released> ParseSpec(const std::string& network_id, const std::string& text) {
  Released r;
  r.network_id = network_id;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::Internal("released endpoint: bad JSON");
  try {
    r.ifname = j.at("ifname").get<std::string>();
    r.mac = j.at("mac").get<std::string>();
    if (j.at("static_ip").get<bool>()) {
      BERTH_ASSIGN_OR_RETURN(IpAddr ip, IpAddr::Parse(j.at("ip").get<std::string>()));
      r.ip = ip;
    }
    r.aliases = j.at("aliases").get<std::vector<std::string>>();
    for (const json& p : j.at("ports")) {
      PortRequest req;
      BERTH_ASSIGN_OR_RETURN(req.host_ip, IpAddr::Parse(p.at("host_ip").get<std::string>()));
      req.host_port = p.at("host_port").get<uint16_t>();
      req.container_port = p.at("container_port").get<uint16_t>();
      req.count = p.at("count").get<uint16_t>();
      req.protocol = p.at("protocol").get<std::string>() == "udp" ? Protocol::kUdp : Protocol::kTcp;
      r.ports.push_back(req);
    }
  } catch (const json::exception& e) {
    return Error::Internal(std::string("released endpoint: ") + e.what());
  }
  return r;
}

bool OwnsNetns(const Container& c) { return !c.netns_path.empty() && c.netns_owner_id == c.id; }

}  // namespace

Status Engine::ReleaseEndpoints(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto found, store_->FindContainer(key));
  if (!found) return Error::NotFound("no such container: " + key);
  const Container c = *found;
  if (!OwnsNetns(c) || c.is_cni()) return Ok();
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));  // host side: the peer goes with the veth
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(c.id));
  if (eps.empty()) return Ok();
  {
    Intent intent{"release-endpoints", c.id, "", {}, ""};
    for (const Endpoint& ep : eps) intent.links.push_back(ep.host_veth);
    BERTH_TRY(op->Intend(std::move(intent)));
  }
  for (Endpoint& ep : eps) {
    BERTH_ASSIGN_OR_RETURN(ep.ports, store_->PortsOf(c.id, ep.network_id));
    BERTH_ASSIGN_OR_RETURN(bool static_ip, store_->HasStaticIp(c.id, ep.network_id));
    BERTH_TRY(store_->InsertReleased(c.id, ep.network_id, SpecJson(ep, static_ip).dump()));
  }
  EndpointDeps deps = Deps(*op);
  ErrorList errors;
  for (const Endpoint& ep : eps) errors.Add(DetachEndpoint(deps, ep));
  BERTH_TRY(errors.ToStatus("release the network of container " + c.name));
  BERTH_TRY(RefreshHosts(c));
  BERTH_ASSIGN_OR_RETURN(bool dns, OnDnsNetwork(*store_, eps));
  BERTH_TRY(op->Commit());
  Notify({Change::kEndpointsRemoved, dns});
  return Ok();
}

Status Engine::RestoreEndpoints(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto found, store_->FindContainer(key));
  if (!found) return Error::NotFound("no such container: " + key);
  const Container c = *found;
  if (!OwnsNetns(c) || c.is_cni()) return Ok();
  BERTH_ASSIGN_OR_RETURN(auto rows, store_->ReleasedOf(c.id));
  if (rows.empty()) return Ok();
  BERTH_ASSIGN_OR_RETURN(sys::Fd netns, sys::OpenNetns(c.netns_path));
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(std::move(netns)));
  BERTH_ASSIGN_OR_RETURN(rows, store_->ReleasedOf(c.id));  // again, under the lock
  std::vector<Released> specs;
  for (const auto& [network_id, text] : rows) {
    BERTH_ASSIGN_OR_RETURN(Released r, ParseSpec(network_id, text));
    specs.push_back(std::move(r));
  }
  std::sort(specs.begin(), specs.end(),
            [](const Released& a, const Released& b) { return a.ifname < b.ifname; });
  EndpointDeps deps = Deps(*op);
  bool default_route = true, dns = false;
  std::vector<Network> nets;
  for (const Released& r : specs) {
    BERTH_ASSIGN_OR_RETURN(auto n, store_->FindNetwork(r.network_id));
    if (!n) {
      return Error::NotFound("cannot start container " + c.name + ": its network " +
                             r.network_id.substr(0, 12) + " was removed (network disconnect " +
                             "is not possible for a stopped container: remove it and run again)");
    }
    BERTH_TRY(CheckBridgeConfig(*n));
    nets.push_back(*n);
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    const Released& r = specs[i];
    const Network& n = nets[i];
    AttachSpec spec{&c,        &n,       r.ip,
                    r.aliases, r.ports,  r.ifname,
                    default_route && !n.internal,
                    r.mac.empty() ? std::nullopt : std::optional<std::string>(r.mac)};
    if (!n.internal) default_route = false;
    BERTH_ASSIGN_OR_RETURN(Endpoint ep, AttachEndpoint(deps, op->rollback(), spec));
    (void)ep;
    BERTH_TRY(store_->DeleteReleased(c.id, r.network_id));
    dns = dns || DnsEnabled(n);
  }
  BERTH_TRY(RefreshHosts(c));
  BERTH_TRY(op->Commit());
  Notify({Change::kEndpointsAdded, dns});
  return Ok();
}

Result<Endpoint> Engine::RecordConnect(Operation& op, const Container& c, const Network& n,
                                       std::optional<IpAddr> ip,
                                       std::vector<std::string> aliases) {
  if (ip && !n.subnet.Contains(*ip)) {  // what the start would find: said now
    return Error::Invalid("address " + ip->ToString() + " is outside subnet " +
                          n.subnet.ToString() + " of network " + n.name);
  }
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(c.id));
  BERTH_ASSIGN_OR_RETURN(auto rows, store_->ReleasedOf(c.id));
  std::vector<std::string> ifnames;
  for (const Endpoint& e : eps) {
    if (e.network_id == n.id) {
      return Error::Exists("container " + c.name + " is already connected to network " + n.name);
    }
    ifnames.push_back(e.ifname);
  }
  for (const auto& [network_id, text] : rows) {
    if (network_id == n.id) {
      return Error::Exists("container " + c.name + " is already connected to network " + n.name);
    }
    BERTH_ASSIGN_OR_RETURN(Released r, ParseSpec(network_id, text));
    ifnames.push_back(r.ifname);
  }
  int next = 0;
  for (const std::string& name : ifnames) next = std::max(next, IfIndexOf(name) + 1);
  Endpoint ep;
  ep.container_id = c.id;
  ep.network_id = n.id;
  ep.ifname = "eth" + std::to_string(next);
  if (ip) ep.ip = *ip;
  ep.aliases = std::move(aliases);
  // No MAC: the address it gets on start gives it, as for a new endpoint.
  BERTH_TRY(store_->InsertReleased(c.id, n.id, SpecJson(ep, ip.has_value()).dump()));
  BERTH_TRY(op.Commit());
  return ep;
}

}  // namespace berth::engine
