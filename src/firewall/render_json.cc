#include "firewall/render_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace berth::firewall {

namespace {

using nlohmann::json;

// --- values and elements ---

json VerdictJson(const Verdict& v) {
  if (v.kind == VerdictKind::kJump || v.kind == VerdictKind::kGoto) {
    return {{NftName(v.kind), {{"target", v.chain}}}};
  }
  return {{NftName(v.kind), nullptr}};
}

struct ValueJson {
  json operator()(const Ifname& v) const { return v.name; }
  json operator()(const IpAddr& v) const { return v.ToString(); }
  json operator()(const Cidr& v) const {
    return {{"prefix", {{"addr", v.Network().ToString()}, {"len", v.prefix()}}}};
  }
  json operator()(Protocol v) const { return NftName(v); }
  json operator()(Port v) const { return v.value; }
  json operator()(PortRange v) const { return {{"range", {v.first, v.last}}}; }
  json operator()(const Verdict& v) const { return VerdictJson(v); }
};

json ValueToJson(const Value& v) { return std::visit(ValueJson{}, v); }

json KeyJson(const std::vector<Value>& key) {
  if (key.size() == 1) return ValueToJson(key[0]);
  json parts = json::array();
  for (const Value& v : key) parts.push_back(ValueToJson(v));
  return {{"concat", std::move(parts)}};
}

// A map element is [key, value]; a delete names only the key.
json ElementJson(const Element& e, bool with_data) {
  if (!with_data || !e.data) return KeyJson(e.key);
  return json::array({KeyJson(e.key), ValueToJson(*e.data)});
}

// --- rules ---

struct SelectorJson {
  json operator()(const Meta& m) const { return {{"meta", {{"key", m.key}}}}; }
  json operator()(const Payload& p) const {
    return {{"payload", {{"protocol", p.protocol}, {"field", p.field}}}};
  }
  json operator()(const Ct& c) const { return {{"ct", {{"key", c.key}}}}; }
  json operator()(const Fib& f) const { return {{"fib", {{"result", "type"}, {"flags", f.flags}}}}; }
};

json KeyJson(const Key& key) {
  if (key.size() == 1) return std::visit(SelectorJson{}, key[0]);
  json parts = json::array();
  for (const Selector& s : key) parts.push_back(std::visit(SelectorJson{}, s));
  return {{"concat", std::move(parts)}};
}

struct OperandJson {
  json operator()(const SetRef& s) const { return "@" + s.name; }
  json operator()(const Symbols& s) const {
    if (s.names.size() == 1) return s.names[0];
    return s.names;
  }
  json operator()(const Value& v) const { return ValueToJson(v); }
};

const char* OpName(Op op) { return op == Op::kEq ? "==" : op == Op::kNe ? "!=" : "in"; }

json Lookup(const json& key, const std::string& map) {
  return {{"map", {{"key", key}, {"data", "@" + map}}}};
}

struct StatementJson {
  json operator()(const Match& m) const {
    return {{"match", {{"op", OpName(m.op)},
                       {"left", KeyJson(m.left)},
                       {"right", std::visit(OperandJson{}, m.right)}}}};
  }
  json operator()(const Verdict& v) const { return VerdictJson(v); }
  json operator()(const Dnat& d) const {
    json key = KeyJson(d.key);
    json body = {{"family", NftName(d.family)}, {"addr", Lookup(key, d.addr_map)}};
    if (d.port_map) body["port"] = Lookup(key, *d.port_map);
    return {{d.snat ? "snat" : "dnat", std::move(body)}};
  }
  json operator()(const VerdictMap& v) const {
    return {{"vmap", {{"key", KeyJson(v.key)}, {"data", "@" + v.map}}}};
  }
  json operator()(const Masquerade&) const { return {{"masquerade", nullptr}}; }
  json operator()(const Counter&) const { return {{"counter", nullptr}}; }
  json operator()(const NumgenGoto& n) const {
    json data = json::array();
    for (size_t i = 0; i < n.chains.size(); ++i) {
      data.push_back(json::array({i, VerdictJson({VerdictKind::kGoto, n.chains[i]})}));
    }
    json key = {{"numgen", {{"mode", n.random ? "random" : "inc"},
                            {"mod", n.chains.size()}, {"offset", 0}}}};
    return {{"vmap", {{"key", std::move(key)}, {"data", {{"set", std::move(data)}}}}}};
  }
  json operator()(const DnatTo& d) const {
    return {{"dnat", {{"family", d.addr.is_v6() ? "ip6" : "ip"},
                      {"addr", d.addr.ToString()}, {"port", d.port}}}};
  }
  json operator()(const Reject& r) const {
    if (r.tcp_reset) return {{"reject", {{"type", "tcp reset"}}}};
    return {{"reject", {{"type", "icmpx"}, {"expr", "port-unreachable"}}}};
  }
  json operator()(const SetUpdate& u) const {
    return {{"set", {{"op", "update"}, {"elem", KeyJson(u.key)}, {"set", "@" + u.set}}}};
  }
};

json RuleJson(const Table& t, const Rule& r);

json TypeJson(const std::vector<DataType>& types) {
  if (types.size() == 1) return NftName(types[0]);
  json out = json::array();
  for (DataType t : types) out.push_back(NftName(t));
  return out;
}

// --- commands ---

json Obj(const Table& t, const char* kind, json body) {
  body["family"] = NftName(t.family);
  body["table"] = t.name;
  return {{kind, std::move(body)}};
}
json Cmd(const char* verb, json object) { return {{verb, std::move(object)}}; }

// A set or map declaration (`add set`).
json SetJson(const Table& t, const Set& s) {
  json body = {{"name", s.name}, {"type", TypeJson(s.type.key)}};
  if (s.type.data) body["map"] = NftName(*s.type.data);
  json flags = json::array();
  if (s.type.interval) flags.push_back("interval");
  if (s.type.timeout) {
    // libnftables 1.0.6's JSON has no "dynamic" flag: nft adds it itself when a rule of the
    // same batch updates the set, and the timeout alone picks a kernel backend that can.
    flags.push_back("timeout");
    body["timeout"] = s.type.timeout;
  }
  if (!flags.empty()) body["flags"] = std::move(flags);
  return Obj(t, s.is_map() ? "map" : "set", std::move(body));
}

json RuleJson(const Table& t, const Rule& r) {
  json expr = json::array();
  for (const Statement& st : r.statements) expr.push_back(std::visit(StatementJson{}, st));
  return Obj(t, "rule", {{"chain", r.chain}, {"expr", std::move(expr)}});
}

void AddChainCmds(const Table& t, const ChainDelta& chains, json& cmds) {
  for (const ChainBody& c : chains.refill) {
    cmds.push_back(Cmd("flush", Obj(t, "chain", {{"name", c.name}})));
  }
  for (const std::string& name : chains.remove) {
    cmds.push_back(Cmd("flush", Obj(t, "chain", {{"name", name}})));
  }
  for (const std::string& name : chains.remove) {
    cmds.push_back(Cmd("delete", Obj(t, "chain", {{"name", name}})));
  }
  for (const std::string& name : chains.remove_sets) {
    cmds.push_back(Cmd("delete", Obj(t, "set", {{"name", name}})));
  }
  for (const std::string& name : chains.flush_sets) {
    cmds.push_back(Cmd("flush", Obj(t, "set", {{"name", name}})));
  }
  for (const Set& set : chains.add_sets) cmds.push_back(Cmd("add", SetJson(t, set)));
  for (const ChainBody& c : chains.add) {
    cmds.push_back(Cmd("add", Obj(t, "chain", {{"name", c.name}})));
  }
  for (const auto* list : {&chains.refill, &chains.add}) {
    for (const ChainBody& c : *list) {
      for (const Rule& r : c.rules) cmds.push_back(Cmd("add", RuleJson(t, r)));
    }
  }
}
std::string Batch(json cmds) { return json{{"nftables", std::move(cmds)}}.dump(); }

void AddElementCmds(const Table& t, const char* verb, const std::vector<Element>& elems,
                    bool with_data, json& cmds) {
  // One command per set keeps the batch small; order within a set does not matter.
  std::vector<std::pair<const std::string*, json>> grouped;
  for (const Element& e : elems) {
    auto it = std::find_if(grouped.begin(), grouped.end(),
                           [&](const auto& g) { return *g.first == e.set; });
    if (it == grouped.end()) {
      grouped.emplace_back(&e.set, json::array());
      it = grouped.end() - 1;
    }
    it->second.push_back(ElementJson(e, with_data));
  }
  for (auto& [set, list] : grouped) {
    cmds.push_back(Cmd(verb, Obj(t, "element", {{"name", *set}, {"elem", std::move(list)}})));
  }
}


// --- reading a listing back ---

std::optional<Value> ParseValue(DataType type, bool interval, const json& j) {
  switch (type) {
    case DataType::kIfname:
      if (j.is_string()) return Ifname{j.get<std::string>()};
      return std::nullopt;
    case DataType::kIpv4Addr:
    case DataType::kIpv6Addr: {
      bool v6 = type == DataType::kIpv6Addr;
      if (j.is_string()) {
        auto ip = IpAddr::Parse(j.get<std::string>());
        if (!ip.ok() || ip->is_v6() != v6) return std::nullopt;
        // A one-address interval lists as the bare address.
        if (interval) return Cidr(*ip, ip->bits());
        return *ip;
      }
      if (interval && j.is_object() && j.contains("prefix")) {
        const json& p = j["prefix"];
        if (!p.contains("addr") || !p["addr"].is_string() || !p.contains("len") ||
            !p["len"].is_number_unsigned()) {
          return std::nullopt;
        }
        auto ip = IpAddr::Parse(p["addr"].get<std::string>());
        if (!ip.ok() || ip->is_v6() != v6) return std::nullopt;
        return Cidr(*ip, p["len"].get<int>());
      }
      return std::nullopt;
    }
    case DataType::kInetProto:
      if (j == "tcp") return Protocol::kTcp;
      if (j == "udp") return Protocol::kUdp;
      return std::nullopt;
    case DataType::kInetService:
      if (j.is_number_unsigned() && j.get<unsigned>() <= 0xffff) {
        auto port = static_cast<uint16_t>(j.get<unsigned>());
        // A one-port interval lists as the bare port.
        if (interval) return PortRange{port, port};
        return Port{port};
      }
      if (interval && j.is_object() && j.contains("range") && j["range"].is_array() &&
          j["range"].size() == 2 && j["range"][0].is_number_unsigned() &&
          j["range"][1].is_number_unsigned()) {
        return PortRange{j["range"][0].get<uint16_t>(), j["range"][1].get<uint16_t>()};
      }
      return std::nullopt;
    case DataType::kVerdict:
      if (!j.is_object() || j.size() != 1) return std::nullopt;
      for (VerdictKind k : {VerdictKind::kAccept, VerdictKind::kDrop, VerdictKind::kJump,
                            VerdictKind::kGoto, VerdictKind::kReturn}) {
        if (!j.contains(NftName(k))) continue;
        const json& body = j[NftName(k)];
        if (k != VerdictKind::kJump && k != VerdictKind::kGoto) return Verdict{k, ""};
        if (body.is_object() && body.contains("target") && body["target"].is_string()) {
          return Verdict{k, body["target"].get<std::string>()};
        }
      }
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::vector<Value>> ParseKey(const SetType& type, const json& j) {
  std::vector<Value> key;
  if (type.key.size() == 1) {
    auto v = ParseValue(type.key[0], type.interval, j);
    if (!v) return std::nullopt;
    key.push_back(std::move(*v));
    return key;
  }
  if (!j.is_object() || !j.contains("concat")) return std::nullopt;
  const json& parts = j["concat"];
  if (!parts.is_array() || parts.size() != type.key.size()) return std::nullopt;
  for (size_t i = 0; i < type.key.size(); ++i) {
    auto v = ParseValue(type.key[i], type.interval, parts[i]);
    if (!v) return std::nullopt;
    key.push_back(std::move(*v));
  }
  return key;
}

std::optional<Element> ParseElement(const Set& set, const json& raw) {
  // Elements with options (counters, timeouts) list as {"elem": {"val": ...}}.
  const json& j = raw.is_object() && raw.contains("elem") ? raw["elem"].value("val", json()) : raw;
  if (!set.type.data) {
    auto key = ParseKey(set.type, j);
    if (!key) return std::nullopt;
    return Element{set.name, std::move(*key)};
  }
  if (!j.is_array() || j.size() != 2) return std::nullopt;
  auto key = ParseKey(set.type, j[0]);
  auto data = ParseValue(*set.type.data, false, j[1]);
  if (!key || !data) return std::nullopt;
  return Element{set.name, std::move(*key), std::move(*data)};
}

}  // namespace

std::string JsonElementBatch(const Ruleset& rs, const std::vector<Element>& remove,
                             const std::vector<Element>& add, const ChainDelta& chains) {
  json cmds = json::array();
  AddElementCmds(rs.table, "delete", remove, /*with_data=*/false, cmds);
  AddChainCmds(rs.table, chains, cmds);
  AddElementCmds(rs.table, "add", add, /*with_data=*/true, cmds);
  return Batch(std::move(cmds));
}

std::string JsonCreateBatch(const Ruleset& rs, const std::vector<ChainBody>& extra,
                            const std::vector<Set>& extra_sets) {
  json cmds = json::array();
  cmds.push_back(Cmd("add", {{"table", {{"family", NftName(rs.table.family)},
                                        {"name", rs.table.name}}}}));
  for (const Chain& c : rs.chains) {
    json body = {{"name", c.name}};
    if (c.base) {
      body["type"] = c.base->type;
      body["hook"] = c.base->hook;
      body["prio"] = c.base->priority;
      body["policy"] = NftName(c.base->policy);
    }
    cmds.push_back(Cmd("add", Obj(rs.table, "chain", std::move(body))));
  }
  for (const Set& s : rs.sets) cmds.push_back(Cmd("add", SetJson(rs.table, s)));
  for (const Set& s : extra_sets) cmds.push_back(Cmd("add", SetJson(rs.table, s)));
  for (const ChainBody& c : extra) {
    cmds.push_back(Cmd("add", Obj(rs.table, "chain", {{"name", c.name}})));
  }
  return Batch(std::move(cmds));
}

std::string JsonContentBatch(const Ruleset& rs, const std::vector<Element>& elements,
                             const std::vector<ChainBody>& extra,
                             const std::vector<std::string>& stray,
                             const std::vector<std::string>& stray_sets) {
  json cmds = json::array();
  for (const Chain& c : rs.chains) {
    if (!c.user_owned) cmds.push_back(Cmd("flush", Obj(rs.table, "chain", {{"name", c.name}})));
  }
  for (const ChainBody& c : extra) {
    cmds.push_back(Cmd("flush", Obj(rs.table, "chain", {{"name", c.name}})));
  }
  for (const std::string& name : stray) {
    cmds.push_back(Cmd("flush", Obj(rs.table, "chain", {{"name", name}})));
  }
  for (const Set& s : rs.sets) {
    cmds.push_back(Cmd("flush", Obj(rs.table, s.is_map() ? "map" : "set", {{"name", s.name}})));
  }
  // Only now nothing refers to them any more.
  for (const std::string& name : stray) {
    cmds.push_back(Cmd("delete", Obj(rs.table, "chain", {{"name", name}})));
  }
  for (const std::string& name : stray_sets) {
    cmds.push_back(Cmd("delete", Obj(rs.table, "set", {{"name", name}})));
  }
  for (const Rule& r : rs.rules) cmds.push_back(Cmd("add", RuleJson(rs.table, r)));
  for (const ChainBody& c : extra) {
    for (const Rule& r : c.rules) cmds.push_back(Cmd("add", RuleJson(rs.table, r)));
  }
  AddElementCmds(rs.table, "add", elements, /*with_data=*/true, cmds);
  return Batch(std::move(cmds));
}

std::string JsonListTable(const Table& table) {
  json cmd = {{"list", {{"table", {{"family", NftName(table.family)}, {"name", table.name}}}}}};
  return Batch(json::array({std::move(cmd)}));
}

std::vector<Element> ParseJsonListing(const Ruleset& rs, const std::string& listing) {
  std::vector<Element> out;
  json doc = json::parse(listing, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array()) return out;
  for (const json& o : doc["nftables"]) {
    for (const char* kind : {"set", "map"}) {
      if (!o.is_object() || !o.contains(kind)) continue;
      const json& body = o[kind];
      if (!body.is_object() || body.value("table", "") != rs.table.name ||
          body.value("family", "") != NftName(rs.table.family)) {
        continue;
      }
      const Set* set = rs.FindSet(body.value("name", ""));
      if (!set || !body.contains("elem") || !body["elem"].is_array()) continue;
      for (const json& raw : body["elem"]) {
        if (auto e = ParseElement(*set, raw)) out.push_back(std::move(*e));
      }
    }
  }
  return out;
}

}  // namespace berth::firewall

namespace berth::firewall {

namespace {

// The names of the objects of kind `kind` ("chain", "set") of `rs`'s table in `listing`.
std::vector<std::string> ParseJsonNames(const Ruleset& rs, const std::string& listing,
                                        const char* kind) {
  std::vector<std::string> out;
  nlohmann::json doc = nlohmann::json::parse(listing, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array()) return out;
  for (const auto& o : doc["nftables"]) {
    if (!o.is_object() || !o.contains(kind) || !o[kind].is_object()) continue;
    const auto& c = o[kind];
    if (c.value("table", "") != rs.table.name) continue;
    out.push_back(c.value("name", ""));
  }
  return out;
}

}  // namespace

std::vector<std::string> ParseJsonChains(const Ruleset& rs, const std::string& listing) {
  return ParseJsonNames(rs, listing, "chain");
}

std::vector<std::string> ParseJsonSets(const Ruleset& rs, const std::string& listing) {
  return ParseJsonNames(rs, listing, "set");
}

}  // namespace berth::firewall
