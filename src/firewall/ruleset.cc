#include "firewall/ruleset.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "firewall/render_json.h"
#include "firewall/render_text.h"

namespace berth::firewall {

namespace {

// --- the fixed structure ---

Ruleset Build() {
  using enum DataType;
  Ruleset rs;
  rs.table = {Family::kInet, kTable};
  auto base = [](const char* type, const char* hook, int prio) {
    return BaseChain{type, hook, prio, VerdictKind::kAccept};
  };
  rs.chains = {
      {kUserChain, std::nullopt, /*user_owned=*/true},
      {"forward", base("filter", "forward", 0)},
      {"input", base("filter", "input", 0)},
      {"published", std::nullopt},
      {"prerouting", base("nat", "prerouting", -100)},
      {"output", base("nat", "output", -100)},
      {"postrouting", base("nat", "postrouting", 100)},
  };
  rs.sets = {
      {"bridges", {{kIfname}}},
      {"same_bridge", {{kIfname, kIfname}}},
      {"icc_off", {{kIfname, kIfname}}},
      {"internal", {{kIfname}}},
      {"subnets", {{kIpv4Addr}, std::nullopt, true}},
      {"masq_subnets", {{kIpv4Addr}, std::nullopt, true}},
      // Multi-host: this node's cluster subnets, and the cluster CIDRs they route to as is.
      {"cluster_subnets", {{kIpv4Addr}, std::nullopt, true}},
      {"cluster_cidrs", {{kIpv4Addr}, std::nullopt, true}},
      {"cluster_snat", {{kIpv4Addr}, kIpv4Addr, true}},  // cluster CIDR : this node's gateway
      // Published ports. *_port: one port (shifted ranges are expanded: nft NAT has no
      // base-port offset), as twin maps for the address and the port (nft 1.0.6 JSON cannot
      // declare a concatenated map value); *_range: a range onto the same ports, one element.
      {"pub_port_addr", {{kInetProto, kInetService}, kIpv4Addr}},
      {"pub_port_port", {{kInetProto, kInetService}, kInetService}},
      {"pub_range", {{kInetProto, kInetService}, kIpv4Addr, true}},
      {"pub_addr_port_addr", {{kIpv4Addr, kInetProto, kInetService}, kIpv4Addr}},
      {"pub_addr_port_port", {{kIpv4Addr, kInetProto, kInetService}, kInetService}},
      {"pub_addr_range", {{kIpv4Addr, kInetProto, kInetService}, kIpv4Addr, true}},
      // Services: VIP . protocol . port : goto the service port's chain (ServiceRules).
      {"service_ips", {{kIpv4Addr, kInetProto, kInetService}, kVerdict}},
      {"service_ports", {{kInetProto, kInetService}, kVerdict}},
  };

  Selector iif = Meta{"iifname"}, oif = Meta{"oifname"};
  Selector saddr = Payload{"ip", "saddr"}, daddr = Payload{"ip", "daddr"};
  Key proto_port = {Meta{"l4proto"}, Payload{"th", "dport"}};
  Key addr_proto_port = {daddr, Meta{"l4proto"}, Payload{"th", "dport"}};
  auto in_set = [](Key k, const char* set) { return Match{std::move(k), Op::kEq, SetRef{set}}; };
  auto not_in_set = [](Key k, const char* set) { return Match{std::move(k), Op::kNe, SetRef{set}}; };
  Match dnat_status{{Ct{"status"}}, Op::kIn, Symbols{{"dnat"}}};
  Match local{{Fib{{"daddr"}}}, Op::kEq, Symbols{{"local"}}};
  Verdict accept{VerdictKind::kAccept}, drop{VerdictKind::kDrop};
  Verdict to_published{VerdictKind::kJump, "published"};
  rs.rules = {
      // Admins first; then replies; then published ports (kernel DNAT, no userland proxy).
      {"forward", {Verdict{VerdictKind::kJump, kUserChain}}},
      {"forward", {Match{{Ct{"state"}}, Op::kIn, Symbols{{"established", "related"}}}, accept}},
      {"forward", {dnat_status, accept}},
      // icc=false, then traffic inside one network (br_netfilter shows bridged frames here).
      {"forward", {in_set({iif, oif}, "icc_off"), drop}},
      {"forward", {in_set({iif, oif}, "same_bridge"), accept}},
      // --internal: nothing in or out beyond the bridge (inside it was accepted above).
      {"forward", {in_set({iif}, "internal"), drop}},
      {"forward", {in_set({oif}, "internal"), drop}},
      // Isolation between networks, and no new flow into a network except published ports.
      {"forward", {in_set({iif}, "bridges"), in_set({oif}, "bridges"), drop}},
      // ...except containers of other cluster nodes reaching this node's cluster subnet.
      {"forward", {in_set({saddr}, "cluster_cidrs"), in_set({daddr}, "cluster_subnets"), accept}},
      {"forward", {in_set({oif}, "bridges"), drop}},
      // An internal network's containers reach the host only at their own gateway.
      {"input", {in_set({iif}, "internal"),
                 Match{{Fib{{"daddr", "iif"}}}, Op::kNe, Symbols{{"local"}}}, drop}},
      {"published", {VerdictMap{proto_port, "service_ports"}}},  // services' --publish
      {"published", {Dnat{Family::kIp, addr_proto_port, "pub_addr_port_addr", "pub_addr_port_port"}}},
      {"published", {Dnat{Family::kIp, addr_proto_port, "pub_addr_range", std::nullopt}}},
      {"published", {Dnat{Family::kIp, proto_port, "pub_port_addr", "pub_port_port"}}},
      {"published", {Dnat{Family::kIp, proto_port, "pub_range", std::nullopt}}},
      // Services first: a VIP is never local, and dispatch is one lookup whatever their number.
      {"prerouting", {VerdictMap{addr_proto_port, "service_ips"}}},
      {"prerouting", {local, to_published}},
      {"output", {VerdictMap{addr_proto_port, "service_ips"}}},
      {"output", {local, to_published}},
      // Hairpin: a container (or the host via 127.0.0.1) reaching a published port that leads
      // back into a bridge must see replies come back the same way.
      {"postrouting", {dnat_status, in_set({oif}, "bridges"), in_set({saddr}, "subnets"),
                       Masquerade{}}},
      {"postrouting", {dnat_status, in_set({oif}, "bridges"),
                       Match{{saddr}, Op::kEq, Value{Cidr(IpAddr::V4(0x7f000000), 8)}},
                       Masquerade{}}},
      // DNATed here from outside the cluster to a container on another node: the source
      // becomes this node's cluster gateway (see NetworkRules::cluster_gateway).
      {"postrouting", {dnat_status, not_in_set({oif}, "bridges"), not_in_set({saddr}, "cluster_cidrs"),
                       Dnat{Family::kIp, {daddr}, "cluster_snat", std::nullopt, /*snat=*/true}}},
      // Egress: leaving the host, containers take the host's address; not between the
      // subnets of a cluster (no SNAT between hosts).
      {"postrouting", {in_set({saddr}, "cluster_subnets"), in_set({daddr}, "cluster_cidrs"),
                       Verdict{VerdictKind::kReturn}}},
      {"postrouting", {not_in_set({oif}, "bridges"), in_set({saddr}, "masq_subnets"),
                       Masquerade{}}},
  };
  return rs;
}

// --- elements ---

void NetworkElements(const NetworkRules& n, std::vector<Element>& out) {
  Ifname br{n.bridge};
  out.push_back({"bridges", {br}});
  out.push_back({"same_bridge", {br, br}});
  out.push_back({"subnets", {n.subnet}});
  if (n.masquerade && !n.internal) out.push_back({"masq_subnets", {n.subnet}});
  if (!n.icc) out.push_back({"icc_off", {br, br}});
  if (n.internal) out.push_back({"internal", {br}});
  if (n.cluster_cidr) {
    out.push_back({"cluster_subnets", {n.subnet}});
    out.push_back({"cluster_cidrs", {*n.cluster_cidr}});
    if (n.cluster_gateway) out.push_back({"cluster_snat", {*n.cluster_cidr}, *n.cluster_gateway});
  }
}

void PortElements(const PortRule& p, std::vector<Element>& out) {
  bool any = p.host_ip.IsUnspecified();
  auto key = [&](Value port) {
    return any ? std::vector<Value>{p.protocol, port}
               : std::vector<Value>{p.host_ip, p.protocol, port};
  };
  if (p.count > 1 && p.host_port == p.container_port) {
    auto last = static_cast<uint16_t>(p.host_port + p.count - 1u);
    out.push_back({any ? "pub_range" : "pub_addr_range", key(PortRange{p.host_port, last}),
                   p.container_ip});
    return;
  }
  for (unsigned i = 0; i < p.count; ++i) {
    std::vector<Value> k = key(Port{static_cast<uint16_t>(p.host_port + i)});
    out.push_back({any ? "pub_port_addr" : "pub_addr_port_addr", k, p.container_ip});
    out.push_back({any ? "pub_port_port" : "pub_addr_port_port", k,
                   Port{static_cast<uint16_t>(p.container_port + i)}});
  }
}

constexpr char kServicePrefix[] = "svc-";
constexpr char kAffinityPrefix[] = "aff-";

std::string PortSuffix(const ServiceRules& s, const ServicePort& p) {
  return s.id.substr(0, 12) + "-" + NftName(p.protocol) + std::to_string(p.port);
}

std::string PortChain(const ServiceRules& s, const ServicePort& p) {
  return kServicePrefix + PortSuffix(s, p);
}

// The affinity set of the port's backend `i`.
std::string AffinitySet(const ServiceRules& s, const ServicePort& p, size_t i) {
  return kAffinityPrefix + PortSuffix(s, p) + "-" + std::to_string(i);
}

// Each affinity set of `services` with the backend it holds clients of.
std::vector<std::pair<Set, IpAddr>> AffinitySets(const std::vector<ServiceRules>& services) {
  std::vector<std::pair<Set, IpAddr>> out;
  for (const ServiceRules& s : services) {
    if (s.affinity == 0) continue;
    for (const ServicePort& p : s.ports) {
      for (size_t i = 0; i < s.backends.size(); ++i) {
        SetType type{{DataType::kIpv4Addr}, std::nullopt, false, s.affinity};
        out.push_back({{AffinitySet(s, p, i), type}, s.backends[i]});
      }
    }
  }
  return out;
}

void ServiceElements(const ServiceRules& s, std::vector<Element>& out) {
  for (const ServicePort& p : s.ports) {
    out.push_back({"service_ips", {s.vip, p.protocol, Port{p.port}},
                   Verdict{VerdictKind::kGoto, PortChain(s, p)}});
  }
  for (const ServicePublish& pub : s.publish) {
    ServicePort p{pub.port, pub.port, pub.protocol};
    out.push_back({"service_ports", {pub.protocol, Port{pub.host_port}},
                   Verdict{VerdictKind::kGoto, PortChain(s, p)}});
  }
}

std::vector<Element> AllElements(const std::vector<NetworkRules>& networks,
                                 const std::vector<PortRule>& ports,
                                 const std::vector<ServiceRules>& services) {
  std::vector<Element> out = Elements(networks, ports);
  for (const ServiceRules& s : services) ServiceElements(s, out);
  return out;
}

std::vector<Element> AllElements(const State& s) {
  return AllElements(s.networks, s.ports, s.services);
}

std::optional<std::vector<WireElement>> Encode(const std::vector<Element>& elems, bool with_data) {
  const Ruleset& rs = BerthRuleset();
  std::vector<WireElement> out;
  out.reserve(elems.size());
  for (const Element& e : elems) {
    const Set* set = rs.FindSet(e.set);
    if (!set) return std::nullopt;
    auto w = EncodeElement(*set, e, with_data);
    if (!w) return std::nullopt;
    out.push_back(std::move(*w));
  }
  return out;
}

}  // namespace

std::vector<ChainBody> ServiceChains(const std::vector<ServiceRules>& services) {
  Selector saddr = Payload{"ip", "saddr"};
  std::vector<ChainBody> out;
  for (const ServiceRules& s : services) {
    for (const ServicePort& p : s.ports) {
      std::string name = PortChain(s, p);
      Match proto{{Meta{"l4proto"}}, Op::kEq, Value{p.protocol}};
      ChainBody port{name, {}};
      if (s.backends.empty()) {
        // No backend: refuse at once (kube-proxy's no-endpoints reject), never a timeout.
        if (p.protocol == Protocol::kTcp) {
          port.rules.push_back({name, {proto, Reject{true}}});
        } else {
          port.rules.push_back({name, {Reject{false}}});
        }
        out.push_back(std::move(port));
        continue;
      }
      NumgenGoto pick{!s.round_robin, {}};
      std::vector<ChainBody> backends;
      for (size_t i = 0; i < s.backends.size(); ++i) {
        std::string b = name + "-" + std::to_string(i);
        pick.chains.push_back(b);
        ChainBody backend{b, {}};
        if (s.affinity) {
          // A client seen before goes back to its backend; the backend's chain (re)records it.
          std::string set = AffinitySet(s, p, i);
          port.rules.push_back({name, {Match{{saddr}, Op::kEq, SetRef{set}},
                                       Verdict{VerdictKind::kGoto, b}}});
          backend.rules.push_back({b, {SetUpdate{{saddr}, set}}});
        }
        backend.rules.push_back({b, {proto, DnatTo{s.backends[i], p.target_port}}});
        backends.push_back(std::move(backend));
      }
      port.rules.push_back({name, {std::move(pick)}});
      out.push_back(std::move(port));
      for (ChainBody& b : backends) out.push_back(std::move(b));
    }
  }
  return out;
}

ChainDelta ServiceChainDelta(const std::vector<ServiceRules>& remove,
                             const std::vector<ServiceRules>& add) {
  ChainDelta out;
  std::vector<ChainBody> old_chains = ServiceChains(remove);
  std::vector<ChainBody> new_chains = ServiceChains(add);
  std::set<std::string> old_names, new_names;
  for (const ChainBody& c : old_chains) old_names.insert(c.name);
  for (const ChainBody& c : new_chains) new_names.insert(c.name);
  for (const ChainBody& c : old_chains) {
    if (!new_names.count(c.name)) out.remove.push_back(c.name);
  }
  for (ChainBody& c : new_chains) {
    (old_names.count(c.name) ? out.refill : out.add).push_back(std::move(c));
  }
  auto old_sets = AffinitySets(remove);
  auto new_sets = AffinitySets(add);
  for (const auto& [set, backend] : old_sets) {
    auto now = std::find_if(new_sets.begin(), new_sets.end(),
                            [&](const auto& n) { return n.first.name == set.name; });
    if (now == new_sets.end()) {
      out.remove_sets.push_back(set.name);
    } else if (now->second != backend) {
      out.flush_sets.push_back(set.name);  // its clients were another backend's
    }
  }
  for (const auto& [set, backend] : new_sets) {
    auto was = std::find_if(old_sets.begin(), old_sets.end(),
                            [&](const auto& o) { return o.first.name == set.name; });
    if (was == old_sets.end()) out.add_sets.push_back(set);
  }
  return out;
}

std::vector<Set> ServiceSets(const std::vector<ServiceRules>& services) {
  std::vector<Set> out;
  for (auto& [set, backend] : AffinitySets(services)) out.push_back(std::move(set));
  return out;
}

const Ruleset& BerthRuleset() {
  static const Ruleset rs = Build();
  return rs;
}

std::vector<Element> Elements(const std::vector<NetworkRules>& networks,
                              const std::vector<PortRule>& ports) {
  std::vector<Element> out;
  for (const auto& n : networks) NetworkElements(n, out);
  for (const auto& p : ports) PortElements(p, out);
  return out;
}

namespace {

// The delta's element removals and additions, without those in both (a service whose
// backends changed keeps its service_ips elements).
std::pair<std::vector<Element>, std::vector<Element>> DeltaElements(const Delta& delta) {
  std::vector<Element> remove =
      AllElements(delta.remove_networks, delta.remove_ports, delta.remove_services);
  std::vector<Element> add = AllElements(delta.add_networks, delta.add_ports, delta.add_services);
  std::vector<Element> r, a;
  for (const Element& e : remove) {
    if (std::find(add.begin(), add.end(), e) == add.end()) r.push_back(e);
  }
  for (const Element& e : add) {
    if (std::find(remove.begin(), remove.end(), e) == remove.end()) a.push_back(e);
  }
  return {std::move(r), std::move(a)};
}

}  // namespace

std::optional<WireDelta> EncodeDelta(const Delta& delta) {
  auto [remove_elems, add_elems] = DeltaElements(delta);
  auto remove = Encode(remove_elems, /*with_data=*/false);
  if (!remove) return std::nullopt;
  auto add = Encode(add_elems, /*with_data=*/true);
  if (!add) return std::nullopt;
  const Table& t = BerthRuleset().table;
  // A service's chains, rules and affinity sets travel in the same batch (wire_rules.h).
  return WireDelta{t.family, t.name, std::move(*remove), std::move(*add),
                   ServiceChainDelta(delta.remove_services, delta.add_services)};
}

std::string RenderDelta(const Delta& delta) {
  // Deletes first: a port moving from one container to another in one operation must not
  // collide with itself.
  auto [remove, add] = DeltaElements(delta);
  return JsonElementBatch(BerthRuleset(), remove, add,
                          ServiceChainDelta(delta.remove_services, delta.add_services));
}

StateBatches RenderState(const State& state, const std::vector<std::string>& present_chains,
                         const std::vector<std::string>& present_sets) {
  const Ruleset& rs = BerthRuleset();
  std::vector<ChainBody> chains = ServiceChains(state.services);
  std::vector<Set> sets = ServiceSets(state.services);
  std::set<std::string> wanted;
  for (const ChainBody& c : chains) wanted.insert(c.name);
  for (const Set& s : sets) wanted.insert(s.name);
  std::vector<std::string> stray, stray_sets;
  for (const std::string& name : present_chains) {
    if (name.starts_with(kServicePrefix) && !wanted.count(name)) stray.push_back(name);
  }
  for (const std::string& name : present_sets) {
    if (name.starts_with(kAffinityPrefix) && !wanted.count(name)) stray_sets.push_back(name);
  }
  return {JsonCreateBatch(rs, chains, sets),
          JsonContentBatch(rs, AllElements(state), chains, stray, stray_sets)};
}

std::vector<std::string> MissingElements(const Delta& expected, const std::string& listing) {
  std::vector<Element> present = ParseJsonListing(BerthRuleset(), listing);
  std::vector<std::string> missing;
  for (const Element& e :
       AllElements(expected.add_networks, expected.add_ports, expected.add_services)) {
    if (std::find(present.begin(), present.end(), e) == present.end()) {
      missing.push_back(e.set + ": " + TextElement(e));
    }
  }
  return missing;
}

std::vector<std::string> Differences(const State& state, const std::string& listing) {
  const Ruleset& rs = BerthRuleset();
  std::vector<std::string> out;
  nlohmann::json doc = nlohmann::json::parse(listing, nullptr, false);
  if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array()) {
    return {"table " + std::string(NftName(rs.table.family)) + " " + rs.table.name + ": missing"};
  }
  std::map<std::string, size_t> rules;  // per chain present
  std::set<std::string> sets;
  for (const auto& o : doc["nftables"]) {
    if (o.contains("chain")) rules.emplace(o["chain"].value("name", ""), 0);
    if (o.contains("rule")) ++rules[o["rule"].value("chain", "")];
    for (const char* kind : {"set", "map"}) {
      if (o.contains(kind)) sets.insert(o[kind].value("name", ""));
    }
  }
  for (const Chain& c : rs.chains) {
    auto it = rules.find(c.name);
    size_t want = 0;
    for (const Rule& r : rs.rules) want += r.chain == c.name;
    if (it == rules.end()) {
      out.push_back("chain " + c.name + ": missing");
    } else if (!c.user_owned && it->second != want) {
      out.push_back("chain " + c.name + ": " + std::to_string(it->second) + " of " +
                    std::to_string(want) + " rules");
    }
  }
  std::set<std::string> service_chains;
  for (const ChainBody& c : ServiceChains(state.services)) {
    service_chains.insert(c.name);
    auto it = rules.find(c.name);
    if (it == rules.end()) {
      out.push_back("chain " + c.name + ": missing");
    } else if (it->second != c.rules.size()) {
      out.push_back("chain " + c.name + ": " + std::to_string(it->second) + " of " +
                    std::to_string(c.rules.size()) + " rules");
    }
  }
  for (const auto& [name, count] : rules) {
    if (name.starts_with(kServicePrefix) && !service_chains.count(name)) {
      out.push_back("stray chain " + name);
    }
  }
  for (const Set& set : rs.sets) {
    if (!sets.count(set.name)) out.push_back("set " + set.name + ": missing");
  }
  std::set<std::string> affinity_sets;
  for (const Set& set : ServiceSets(state.services)) {
    affinity_sets.insert(set.name);
    if (!sets.count(set.name)) out.push_back("set " + set.name + ": missing");
  }
  for (const std::string& name : sets) {
    if (name.starts_with(kAffinityPrefix) && !affinity_sets.count(name)) {
      out.push_back("stray set " + name);
    }
  }
  auto texts = [](const std::vector<Element>& elements) {
    std::set<std::string> t;
    for (const Element& e : elements) t.insert(e.set + ": " + TextElement(e));
    return t;
  };
  std::set<std::string> want = texts(AllElements(state));
  std::set<std::string> have = texts(ParseJsonListing(rs, listing));
  for (const std::string& e : want) {
    if (!have.count(e)) out.push_back("missing " + e);
  }
  for (const std::string& e : have) {
    if (!want.count(e)) out.push_back("stray " + e);
  }
  return out;
}

ExpectedTable Expected(const State& state) {
  const Ruleset& rs = BerthRuleset();
  ExpectedTable out{.name = rs.table.name, .chains = {}, .sets = {}};
  for (const Chain& c : rs.chains) {
    size_t rules = 0;
    for (const Rule& r : rs.rules) rules += r.chain == c.name;
    out.chains.push_back({.name = c.name, .min_rules = c.user_owned ? 0 : rules,
                          .exact = !c.user_owned});
  }
  for (const ChainBody& c : ServiceChains(state.services)) {
    out.chains.push_back({.name = c.name, .min_rules = c.rules.size(), .exact = true});
  }
  std::map<std::string, size_t> elements;
  for (const Element& e : AllElements(state)) ++elements[e.set];
  for (const Set& set : rs.sets) {
    out.sets.push_back({.name = set.name, .min_elements = elements[set.name], .exact = true});
  }
  // Affinity sets hold whatever clients came lately: only that they exist counts.
  for (const Set& set : ServiceSets(state.services)) {
    out.sets.push_back({.name = set.name, .min_elements = 0, .exact = false});
  }
  return out;
}

std::string ExplainDelta(const Delta& delta) {
  auto [remove, add] = DeltaElements(delta);
  const Table& t = BerthRuleset().table;
  ChainDelta chains = ServiceChainDelta(delta.remove_services, delta.add_services);
  // The order JsonElementBatch applies them in.
  return TextElementCommands(t, remove, {}) + TextChainCommands(t, chains) +
         TextElementCommands(t, {}, add);
}

std::string ExplainServices(const std::vector<ServiceRules>& services) {
  Delta d;
  d.add_services = services;
  return ExplainDelta(d);
}

std::string ExplainState(const State& state) {
  return TextRuleset(BerthRuleset(), AllElements(state), ServiceChains(state.services),
                     ServiceSets(state.services));
}

}  // namespace berth::firewall
