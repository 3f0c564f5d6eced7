#include "engine/services.h"

#include <algorithm>
#include <charconv>

namespace berth::engine {

namespace {

Result<uint16_t> ParsePortNumber(std::string_view text, const std::string& spec,
                                 bool publish = false) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v == 0 || v > 65535) {
    if (publish) {
      return Error::Invalid("invalid --publish " + spec +
                            ": use HOSTPORT:PORT[/udp] with ports 1-65535");
    }
    return Error::Invalid("invalid --port " + spec +
                          ": use PORT[:TARGETPORT][/tcp|/udp] with ports 1-65535");
  }
  return static_cast<uint16_t>(v);
}

}  // namespace

firewall::ServiceRules ServiceRulesFor(const Service& s, std::vector<IpAddr> backends) {
  return {s.id, s.vip, s.ports, std::move(backends), s.round_robin, s.publish, s.affinity};
}

Cidr DefaultServiceCidr() { return Cidr(IpAddr::V4((10u << 24) | (96u << 16)), 16); }

Result<ServicePort> ParseServicePort(const std::string& spec) {
  std::string_view s = spec;
  ServicePort p;
  if (size_t slash = s.find('/'); slash != std::string_view::npos) {
    std::string_view proto = s.substr(slash + 1);
    if (proto == "udp") {
      p.protocol = Protocol::kUdp;
    } else if (proto != "tcp") {
      return Error::Invalid("invalid --port " + spec + ": the protocol is tcp or udp");
    }
    s = s.substr(0, slash);
  }
  size_t colon = s.find(':');
  BERTH_ASSIGN_OR_RETURN(p.port, ParsePortNumber(s.substr(0, colon), spec));
  p.target_port = p.port;
  if (colon != std::string_view::npos) {
    BERTH_ASSIGN_OR_RETURN(p.target_port, ParsePortNumber(s.substr(colon + 1), spec));
  }
  return p;
}

Result<ServicePublish> ParseServicePublish(const std::string& spec) {
  size_t colon = spec.find(':');
  if (colon == std::string::npos) {
    return Error::Invalid("invalid --publish " + spec + ": use HOSTPORT:PORT[/udp]");
  }
  auto parsed = ParseServicePort(spec.substr(colon + 1));
  if (!parsed.ok() || parsed->target_port != parsed->port) {
    return Error::Invalid("invalid --publish " + spec + ": use HOSTPORT:PORT[/udp]");
  }
  ServicePublish out;
  out.port = parsed->port;
  out.protocol = parsed->protocol;
  BERTH_ASSIGN_OR_RETURN(out.host_port, ParsePortNumber(spec.substr(0, colon), spec, true));
  return out;
}

Result<std::map<std::string, std::string>> ParseSelector(const std::vector<std::string>& specs) {
  std::map<std::string, std::string> out;
  for (const std::string& spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error::Invalid("invalid --selector " + spec + ": use KEY=VALUE");
    }
    if (!out.emplace(spec.substr(0, eq), spec.substr(eq + 1)).second) {
      return Error::Invalid("invalid --selector " + spec + ": key " + spec.substr(0, eq) +
                            " given twice");
    }
  }
  return out;
}

Result<bool> ParseBalance(const std::string& spec) {
  if (spec == "random") return false;
  if (spec == "round-robin") return true;
  return Error::Invalid("invalid --balance " + spec + ": random or round-robin");
}

Result<uint32_t> ParseAffinity(const std::string& spec) {
  if (spec == "none") return 0u;
  constexpr std::string_view kClientIp = "client-ip";
  auto invalid = [&] {
    return Error::Invalid("invalid --affinity " + spec + ": use none or client-ip[:SECONDS] with "
                          "SECONDS 1-" + std::to_string(kMaxAffinitySeconds));
  };
  if (!std::string_view(spec).starts_with(kClientIp)) return invalid();
  std::string_view rest = std::string_view(spec).substr(kClientIp.size());
  if (rest.empty()) return kDefaultAffinitySeconds;
  if (rest[0] != ':') return invalid();
  rest.remove_prefix(1);
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
  if (ec != std::errc() || end != rest.data() + rest.size() || v == 0 ||
      v > kMaxAffinitySeconds) {
    return invalid();
  }
  return v;
}

std::string AffinityText(uint32_t seconds) {
  return seconds == 0 ? "none" : "client-ip:" + std::to_string(seconds);
}

bool SelectorMatches(const std::map<std::string, std::string>& selector,
                     const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

namespace {

// The endpoints of a network with their containers' labels: this node's, and (on the cluster
// network) the other nodes' as the cluster agent last saw them.
using LabelledEndpoints = std::vector<std::pair<IpAddr, std::map<std::string, std::string>>>;

Result<LabelledEndpoints> LabelledEndpointsOf(store::Store& store, const std::string& network_id) {
  LabelledEndpoints out;
  BERTH_ASSIGN_OR_RETURN(auto eps, store.EndpointsOfNetwork(network_id));
  for (const Endpoint& e : eps) {
    BERTH_ASSIGN_OR_RETURN(auto labels, store.LabelsOf(e.container_id));
    out.emplace_back(e.ip, std::move(labels));
  }
  BERTH_ASSIGN_OR_RETURN(auto remote, store.RemoteEndpointsOfNetwork(network_id));
  for (RemoteEndpoint& e : remote) out.emplace_back(e.ip, std::move(e.labels));
  return out;
}

std::vector<IpAddr> Matching(const Service& s, const LabelledEndpoints& eps) {
  std::vector<IpAddr> out;
  for (const auto& [ip, labels] : eps) {
    if (SelectorMatches(s.selector, labels)) out.push_back(ip);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

Result<std::vector<IpAddr>> BackendsOf(store::Store& store, const Service& s) {
  BERTH_ASSIGN_OR_RETURN(auto eps, LabelledEndpointsOf(store, s.network_id));
  return Matching(s, eps);
}

Result<std::vector<firewall::ServiceRules>> ServiceRulesOf(store::Store& store,
                                                           const std::string& network_id) {
  std::vector<Service> services;
  if (network_id.empty()) {
    BERTH_ASSIGN_OR_RETURN(services, store.ListServices());
  } else {
    BERTH_ASSIGN_OR_RETURN(services, store.ServicesOfNetwork(network_id));
  }
  // Each network's endpoints and labels are read once, however many services it has.
  std::map<std::string, LabelledEndpoints> networks;
  std::vector<firewall::ServiceRules> out;
  for (const Service& s : services) {
    auto it = networks.find(s.network_id);
    if (it == networks.end()) {
      BERTH_ASSIGN_OR_RETURN(auto eps, LabelledEndpointsOf(store, s.network_id));
      it = networks.emplace(s.network_id, std::move(eps)).first;
    }
    out.push_back(ServiceRulesFor(s, Matching(s, it->second)));
  }
  return out;
}

void AddServiceChanges(const std::vector<firewall::ServiceRules>& before,
                       const std::vector<firewall::ServiceRules>& after, firewall::Delta& delta) {
  for (const firewall::ServiceRules& now : after) {
    auto was = std::find_if(before.begin(), before.end(),
                            [&](const firewall::ServiceRules& b) { return b.id == now.id; });
    if (was == before.end() || was->backends == now.backends) continue;
    delta.remove_services.push_back(*was);
    delta.add_services.push_back(now);
  }
}

std::vector<firewall::StaleFlow> StaleUdpFlows(const firewall::Delta& delta) {
  std::vector<firewall::StaleFlow> out;
  for (const firewall::ServiceRules& old : delta.remove_services) {
    const firewall::ServiceRules* now = nullptr;
    for (const firewall::ServiceRules& s : delta.add_services) {
      if (s.id == old.id) now = &s;
    }
    for (const IpAddr& b : old.backends) {
      if (now && std::find(now->backends.begin(), now->backends.end(), b) != now->backends.end()) {
        continue;
      }
      for (const ServicePort& p : old.ports) {
        if (p.protocol == Protocol::kUdp) out.push_back({old.vip, p.port, b});
      }
    }
  }
  return out;
}

}  // namespace berth::engine
