#include "firewall/ruleset.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace berth::firewall {

namespace {

using nlohmann::json;

// --- nft JSON vocabulary (libnftables-json(5)) ---

json Meta(const char* key) { return {{"meta", {{"key", key}}}}; }
json Payload(const char* proto, const char* field) {
  return {{"payload", {{"protocol", proto}, {"field", field}}}};
}
json Ct(const char* key) { return {{"ct", {{"key", key}}}}; }
json Concat(std::vector<json> parts) { return {{"concat", std::move(parts)}}; }
json Match(json left, const char* op, json right) {
  return {{"match", {{"op", op}, {"left", std::move(left)}, {"right", std::move(right)}}}};
}
json SetRef(const char* name) { return std::string("@") + name; }
json Prefix(const Cidr& c) {
  return {{"prefix", {{"addr", c.Network().ToString()}, {"len", c.prefix()}}}};
}
json Range(unsigned lo, unsigned hi) { return {{"range", {lo, hi}}}; }
json Verdict(const char* v) { return {{v, nullptr}}; }
json Jump(const char* chain) { return {{"jump", {{"target", chain}}}}; }
json Fib(std::vector<std::string> flags) {
  return {{"fib", {{"result", "type"}, {"flags", std::move(flags)}}}};
}
json Lookup(const json& key, const char* map) {
  return {{"map", {{"key", key}, {"data", SetRef(map)}}}};
}
// dnat to the address from `addr_map`, and the port from `port_map` when given.
json Dnat(const json& key, const char* addr_map, const char* port_map = nullptr) {
  json body = {{"family", "ip"}, {"addr", Lookup(key, addr_map)}};
  if (port_map) body["port"] = Lookup(key, port_map);
  return {{"dnat", std::move(body)}};
}

json Obj(const char* kind, json body) {
  body["family"] = "inet";
  body["table"] = kTable;
  return {{kind, std::move(body)}};
}
json Cmd(const char* verb, json object) { return {{verb, std::move(object)}}; }

const char* ProtoName(Protocol p) { return p == Protocol::kUdp ? "udp" : "tcp"; }

// --- the fixed structure ---

struct SetDef {
  const char* name;
  json type;
  json map;  // null for sets
  bool interval;
};

const std::vector<SetDef>& Sets() {
  static const std::vector<SetDef> sets = {
      {"bridges", "ifname", nullptr, false},
      {"same_bridge", json::array({"ifname", "ifname"}), nullptr, false},
      {"icc_off", json::array({"ifname", "ifname"}), nullptr, false},
      {"internal", "ifname", nullptr, false},
      {"subnets", "ipv4_addr", nullptr, true},
      {"masq_subnets", "ipv4_addr", nullptr, true},
      // Published ports. *_port: one port (shifted ranges are expanded: nft NAT has no
      // base-port offset), as twin maps for the address and the port (nft 1.0.6 JSON cannot
      // declare a concatenated map value); *_range: a range onto the same ports, one element.
      {"pub_port_addr", json::array({"inet_proto", "inet_service"}), "ipv4_addr", false},
      {"pub_port_port", json::array({"inet_proto", "inet_service"}), "inet_service", false},
      {"pub_range", json::array({"inet_proto", "inet_service"}), "ipv4_addr", true},
      {"pub_addr_port_addr", json::array({"ipv4_addr", "inet_proto", "inet_service"}),
       "ipv4_addr", false},
      {"pub_addr_port_port", json::array({"ipv4_addr", "inet_proto", "inet_service"}),
       "inet_service", false},
      {"pub_addr_range", json::array({"ipv4_addr", "inet_proto", "inet_service"}), "ipv4_addr",
       true},
  };
  return sets;
}

struct ChainDef {
  const char* name;
  const char* type;  // nullptr: a regular chain
  const char* hook;
  int prio;
};

const std::vector<ChainDef>& Chains() {
  static const std::vector<ChainDef> chains = {
      {"forward", "filter", "forward", 0},     {"input", "filter", "input", 0},
      {"published", nullptr, nullptr, 0},      {"prerouting", "nat", "prerouting", -100},
      {"output", "nat", "output", -100},       {"postrouting", "nat", "postrouting", 100},
  };
  return chains;
}

std::vector<std::pair<const char*, std::vector<json>>> Rules() {
  json iif = Meta("iifname"), oif = Meta("oifname");
  json saddr = Payload("ip", "saddr"), daddr = Payload("ip", "daddr");
  json proto_port = Concat({Meta("l4proto"), Payload("th", "dport")});
  json addr_proto_port = Concat({daddr, Meta("l4proto"), Payload("th", "dport")});
  json dnat_status = Match(Ct("status"), "in", "dnat");
  return {
      // Admins first; then replies; then published ports (kernel DNAT, no userland proxy).
      {"forward", {Jump(kUserChain)}},
      {"forward", {Match(Ct("state"), "in", json::array({"established", "related"})),
                   Verdict("accept")}},
      {"forward", {dnat_status, Verdict("accept")}},
      // icc=false, then traffic inside one network (br_netfilter shows bridged frames here).
      {"forward", {Match(Concat({iif, oif}), "==", SetRef("icc_off")), Verdict("drop")}},
      {"forward", {Match(Concat({iif, oif}), "==", SetRef("same_bridge")), Verdict("accept")}},
      // --internal: nothing in or out beyond the bridge (inside it was accepted above).
      {"forward", {Match(iif, "==", SetRef("internal")), Verdict("drop")}},
      {"forward", {Match(oif, "==", SetRef("internal")), Verdict("drop")}},
      // Isolation between networks, and no new flow into a network except published ports.
      {"forward", {Match(iif, "==", SetRef("bridges")), Match(oif, "==", SetRef("bridges")),
                   Verdict("drop")}},
      {"forward", {Match(oif, "==", SetRef("bridges")), Verdict("drop")}},
      // An internal network's containers reach the host only at their own gateway.
      {"input", {Match(iif, "==", SetRef("internal")), Match(Fib({"daddr", "iif"}), "!=", "local"),
                 Verdict("drop")}},
      {"published", {Dnat(addr_proto_port, "pub_addr_port_addr", "pub_addr_port_port")}},
      {"published", {Dnat(addr_proto_port, "pub_addr_range")}},
      {"published", {Dnat(proto_port, "pub_port_addr", "pub_port_port")}},
      {"published", {Dnat(proto_port, "pub_range")}},
      {"prerouting", {Match(Fib({"daddr"}), "==", "local"), Jump("published")}},
      {"output", {Match(Fib({"daddr"}), "==", "local"), Jump("published")}},
      // Hairpin: a container (or the host via 127.0.0.1) reaching a published port that leads
      // back into a bridge must see replies come back the same way.
      {"postrouting", {dnat_status, Match(oif, "==", SetRef("bridges")),
                       Match(saddr, "==", SetRef("subnets")), Verdict("masquerade")}},
      {"postrouting", {dnat_status, Match(oif, "==", SetRef("bridges")),
                       Match(saddr, "==", Prefix(Cidr(IpAddr::V4(0x7f000000), 8))),
                       Verdict("masquerade")}},
      // Egress: leaving the host, containers take the host's address.
      {"postrouting", {Match(oif, "!=", SetRef("bridges")),
                       Match(saddr, "==", SetRef("masq_subnets")), Verdict("masquerade")}},
  };
}

// --- elements ---

using Elements = std::vector<std::pair<const char*, json>>;  // (set, element)

void NetworkElements(const NetworkRules& n, Elements& out) {
  json pair = Concat({n.bridge, n.bridge});
  out.emplace_back("bridges", n.bridge);
  out.emplace_back("same_bridge", pair);
  out.emplace_back("subnets", Prefix(n.subnet));
  if (n.masquerade && !n.internal) out.emplace_back("masq_subnets", Prefix(n.subnet));
  if (!n.icc) out.emplace_back("icc_off", pair);
  if (n.internal) out.emplace_back("internal", n.bridge);
}

// Map elements are [key, value]; for deletes only the key matters.
void PortElements(const PortRule& p, Elements& out) {
  bool any = p.host_ip.IsUnspecified();
  const char* proto = ProtoName(p.protocol);
  std::string ip = p.container_ip.ToString();
  auto key = [&](json port) {
    return any ? Concat({proto, std::move(port)})
               : Concat({p.host_ip.ToString(), proto, std::move(port)});
  };
  if (p.count > 1 && p.host_port == p.container_port) {
    unsigned hi = p.host_port + p.count - 1u;
    out.emplace_back(any ? "pub_range" : "pub_addr_range",
                     json::array({key(Range(p.host_port, hi)), ip}));
    return;
  }
  for (unsigned i = 0; i < p.count; ++i) {
    json k = key(p.host_port + i);
    out.emplace_back(any ? "pub_port_addr" : "pub_addr_port_addr", json::array({k, ip}));
    out.emplace_back(any ? "pub_port_port" : "pub_addr_port_port",
                     json::array({k, p.container_port + i}));
  }
}

void AddElementCmds(const char* verb, const Elements& elems, json& cmds) {
  // One command per set keeps the batch small; order within a set does not matter.
  std::vector<std::pair<const char*, json>> grouped;
  for (const auto& [set, elem] : elems) {
    auto it = std::find_if(grouped.begin(), grouped.end(),
                           [&](const auto& g) { return std::string(g.first) == set; });
    if (it == grouped.end()) {
      grouped.emplace_back(set, json::array());
      it = grouped.end() - 1;
    }
    // Deleting from a map names only the key.
    bool is_map_elem = elem.is_array();
    it->second.push_back(std::string(verb) == "delete" && is_map_elem ? elem[0] : elem);
  }
  for (auto& [set, list] : grouped) {
    cmds.push_back(Cmd(verb, Obj("element", {{"name", set}, {"elem", std::move(list)}})));
  }
}

std::string Batch(json cmds) { return json{{"nftables", std::move(cmds)}}.dump(); }

// nft(8) spelling of one element, for ExplainDelta.
std::string Text(const json& e) {
  if (e.is_string()) return e.get<std::string>();
  if (e.is_number()) return std::to_string(e.get<unsigned>());
  if (e.is_array()) return Text(e[0]) + " : " + Text(e[1]);
  if (e.contains("concat")) {
    std::string s;
    for (const auto& p : e["concat"]) s += (s.empty() ? "" : " . ") + Text(p);
    return s;
  }
  if (e.contains("prefix")) {
    return e["prefix"]["addr"].get<std::string>() + "/" + std::to_string(e["prefix"]["len"].get<int>());
  }
  if (e.contains("range")) return Text(e["range"][0]) + "-" + Text(e["range"][1]);
  return e.dump();
}

Elements DeltaElements(const std::vector<NetworkRules>& nets, const std::vector<PortRule>& ports) {
  Elements out;
  for (const auto& n : nets) NetworkElements(n, out);
  for (const auto& p : ports) PortElements(p, out);
  return out;
}

// --- the kernel's encoding of hash-set elements (EncodeDelta) ---

const SetDef* FindSet(const std::string& name) {
  for (const SetDef& s : Sets()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

// One value of nft type `type`; `concat` pads it to a whole 32-bit register.
std::optional<std::string> EncodeValue(const std::string& type, const json& v, bool concat) {
  std::string out;
  if (type == "ifname" && v.is_string()) {
    std::string name = v.get<std::string>();
    if (name.size() >= 16) return std::nullopt;
    out = name;
    out.resize(16, '\0');  // IFNAMSIZ, already register aligned
    return out;
  }
  if (type == "ipv4_addr" && v.is_string()) {
    auto ip = IpAddr::Parse(v.get<std::string>());
    if (!ip.ok() || !ip->is_v4()) return std::nullopt;
    out.assign(reinterpret_cast<const char*>(ip->data()), 4);
    return out;
  }
  if (type == "inet_proto" && v.is_string()) {
    out.push_back(v == "udp" ? 17 : v == "tcp" ? 6 : 0);
    if (out[0] == 0) return std::nullopt;
  } else if (type == "inet_service" && v.is_number_unsigned()) {
    unsigned port = v.get<unsigned>();
    out.push_back(static_cast<char>(port >> 8));  // network byte order
    out.push_back(static_cast<char>(port & 0xff));
  } else {
    return std::nullopt;
  }
  if (concat) out.resize(4, '\0');
  return out;
}

std::optional<std::string> EncodeKey(const SetDef& set, const json& key) {
  if (!set.type.is_array()) return EncodeValue(set.type.get<std::string>(), key, false);
  if (!key.is_object() || !key.contains("concat")) return std::nullopt;
  const json& parts = key["concat"];
  if (parts.size() != set.type.size()) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto part = EncodeValue(set.type[i].get<std::string>(), parts[i], true);
    if (!part) return std::nullopt;
    out += *part;
  }
  return out;
}

std::optional<std::vector<WireElement>> EncodeElements(const Elements& elems) {
  std::vector<WireElement> out;
  for (const auto& [name, elem] : elems) {
    const SetDef* set = FindSet(name);
    if (!set || set->interval) return std::nullopt;
    bool is_map = !set->map.is_null();
    WireElement w;
    w.set = name;
    auto key = EncodeKey(*set, is_map ? elem[0] : elem);
    if (!key) return std::nullopt;
    w.key = std::move(*key);
    if (is_map) {
      auto data = EncodeValue(set->map.get<std::string>(), elem[1], false);
      if (!data) return std::nullopt;
      w.data = std::move(*data);
    }
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace

std::optional<WireDelta> EncodeDelta(const Delta& delta) {
  auto remove = EncodeElements(DeltaElements(delta.remove_networks, delta.remove_ports));
  auto add = EncodeElements(DeltaElements(delta.add_networks, delta.add_ports));
  if (!remove || !add) return std::nullopt;
  for (WireElement& w : *remove) w.data.clear();  // a delete names the key only
  return WireDelta{std::move(*remove), std::move(*add)};
}

std::string RenderDelta(const Delta& delta) {
  json cmds = json::array();
  // Deletes first: a port moving from one container to another in one operation must not
  // collide with itself.
  AddElementCmds("delete", DeltaElements(delta.remove_networks, delta.remove_ports), cmds);
  AddElementCmds("add", DeltaElements(delta.add_networks, delta.add_ports), cmds);
  return Batch(std::move(cmds));
}

StateBatches RenderState(const State& state) {
  json create = json::array(), content = json::array();
  create.push_back(Cmd("add", {{"table", {{"family", "inet"}, {"name", kTable}}}}));
  // The user chain: created if missing, never flushed.
  create.push_back(Cmd("add", Obj("chain", {{"name", kUserChain}})));
  for (const ChainDef& c : Chains()) {
    json body = {{"name", c.name}};
    if (c.type) {
      body["type"] = c.type;
      body["hook"] = c.hook;
      body["prio"] = c.prio;
      body["policy"] = "accept";
    }
    create.push_back(Cmd("add", Obj("chain", body)));
    content.push_back(Cmd("flush", Obj("chain", {{"name", c.name}})));
  }
  for (const SetDef& s : Sets()) {
    json body = {{"name", s.name}, {"type", s.type}};
    if (!s.map.is_null()) body["map"] = s.map;
    if (s.interval) body["flags"] = json::array({"interval"});
    const char* kind = s.map.is_null() ? "set" : "map";
    create.push_back(Cmd("add", Obj(kind, body)));
    content.push_back(Cmd("flush", Obj(kind, {{"name", s.name}})));
  }
  for (auto& [chain, expr] : Rules()) {
    content.push_back(Cmd("add", Obj("rule", {{"chain", chain}, {"expr", json(std::move(expr))}})));
  }
  AddElementCmds("add", DeltaElements(state.networks, state.ports), content);
  return {Batch(std::move(create)), Batch(std::move(content))};
}

std::vector<std::string> MissingElements(const Delta& expected, const std::string& listing) {
  json doc = json::parse(listing, nullptr, /*allow_exceptions=*/false);
  std::vector<std::pair<std::string, json>> present;  // (set, its elements)
  if (doc.is_object() && doc.contains("nftables") && doc["nftables"].is_array()) {
    for (const json& o : doc["nftables"]) {
      for (const char* kind : {"set", "map"}) {
        if (!o.contains(kind)) continue;
        const json& body = o[kind];
        present.emplace_back(body.value("name", ""), body.value("elem", json::array()));
      }
    }
  }
  std::vector<std::string> missing;
  for (const auto& [set, elem] : DeltaElements(expected.add_networks, expected.add_ports)) {
    auto it = std::find_if(present.begin(), present.end(),
                           [&, s = set](const auto& p) { return p.first == s; });
    bool found = it != present.end() &&
                 std::find(it->second.begin(), it->second.end(), elem) != it->second.end();
    if (!found) missing.push_back(std::string(set) + ": " + Text(elem));
  }
  return missing;
}

std::string ExplainDelta(const Delta& delta) {
  std::string out;
  auto emit = [&](const char* verb, const Elements& elems) {
    for (const auto& [set, elem] : elems) {
      json shown = std::string(verb) == "delete" && elem.is_array() ? elem[0] : elem;
      out += std::string("nft ") + verb + " element inet " + kTable + " " + set + " '{ " +
             Text(shown) + " }'\n";
    }
  };
  emit("delete", DeltaElements(delta.remove_networks, delta.remove_ports));
  emit("add", DeltaElements(delta.add_networks, delta.add_ports));
  return out;
}

}  // namespace berth::firewall
