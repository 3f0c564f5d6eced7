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
      // Published ports. *_port: one port (shifted ranges are expanded: nft NAT has no
      // base-port offset), as twin maps for the address and the port (nft 1.0.6 JSON cannot
      // declare a concatenated map value); *_range: a range onto the same ports, one element.
      {"pub_port_addr", {{kInetProto, kInetService}, kIpv4Addr}},
      {"pub_port_port", {{kInetProto, kInetService}, kInetService}},
      {"pub_range", {{kInetProto, kInetService}, kIpv4Addr, true}},
      {"pub_addr_port_addr", {{kIpv4Addr, kInetProto, kInetService}, kIpv4Addr}},
      {"pub_addr_port_port", {{kIpv4Addr, kInetProto, kInetService}, kInetService}},
      {"pub_addr_range", {{kIpv4Addr, kInetProto, kInetService}, kIpv4Addr, true}},
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
      {"published", {Dnat{Family::kIp, addr_proto_port, "pub_addr_port_addr", "pub_addr_port_port"}}},
      {"published", {Dnat{Family::kIp, addr_proto_port, "pub_addr_range", std::nullopt}}},
      {"published", {Dnat{Family::kIp, proto_port, "pub_port_addr", "pub_port_port"}}},
      {"published", {Dnat{Family::kIp, proto_port, "pub_range", std::nullopt}}},
      {"prerouting", {local, to_published}},
      {"output", {local, to_published}},
      // Hairpin: a container (or the host via 127.0.0.1) reaching a published port that leads
      // back into a bridge must see replies come back the same way.
      {"postrouting", {dnat_status, in_set({oif}, "bridges"), in_set({saddr}, "subnets"),
                       Masquerade{}}},
      {"postrouting", {dnat_status, in_set({oif}, "bridges"),
                       Match{{saddr}, Op::kEq, Value{Cidr(IpAddr::V4(0x7f000000), 8)}},
                       Masquerade{}}},
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

std::optional<WireDelta> EncodeDelta(const Delta& delta) {
  auto remove = Encode(Elements(delta.remove_networks, delta.remove_ports), /*with_data=*/false);
  if (!remove) return std::nullopt;
  auto add = Encode(Elements(delta.add_networks, delta.add_ports), /*with_data=*/true);
  if (!add) return std::nullopt;
  const Table& t = BerthRuleset().table;
  return WireDelta{t.family, t.name, std::move(*remove), std::move(*add)};
}

std::string RenderDelta(const Delta& delta) {
  // Deletes first: a port moving from one container to another in one operation must not
  // collide with itself.
  return JsonElementBatch(BerthRuleset(), Elements(delta.remove_networks, delta.remove_ports),
                          Elements(delta.add_networks, delta.add_ports));
}

StateBatches RenderState(const State& state) {
  const Ruleset& rs = BerthRuleset();
  return {JsonCreateBatch(rs), JsonContentBatch(rs, Elements(state.networks, state.ports))};
}

std::vector<std::string> MissingElements(const Delta& expected, const std::string& listing) {
  std::vector<Element> present = ParseJsonListing(BerthRuleset(), listing);
  std::vector<std::string> missing;
  for (const Element& e : Elements(expected.add_networks, expected.add_ports)) {
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
  for (const Set& set : rs.sets) {
    if (!sets.count(set.name)) out.push_back("set " + set.name + ": missing");
  }
  auto texts = [](const std::vector<Element>& elements) {
    std::set<std::string> t;
    for (const Element& e : elements) t.insert(e.set + ": " + TextElement(e));
    return t;
  };
  std::set<std::string> want = texts(Elements(state.networks, state.ports));
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
  std::map<std::string, size_t> elements;
  for (const Element& e : Elements(state.networks, state.ports)) ++elements[e.set];
  for (const Set& set : rs.sets) {
    out.sets.push_back({.name = set.name, .min_elements = elements[set.name], .exact = true});
  }
  return out;
}

std::string ExplainDelta(const Delta& delta) {
  return TextElementCommands(BerthRuleset().table,
                             Elements(delta.remove_networks, delta.remove_ports),
                             Elements(delta.add_networks, delta.add_ports));
}

std::string ExplainState(const State& state) {
  return TextRuleset(BerthRuleset(), Elements(state.networks, state.ports));
}

}  // namespace berth::firewall
