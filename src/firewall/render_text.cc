#include "firewall/render_text.h"

namespace berth::firewall {

namespace {

std::string VerdictText(const Verdict& v) {
  std::string out = NftName(v.kind);
  if (v.kind == VerdictKind::kJump || v.kind == VerdictKind::kGoto) out += " " + v.chain;
  return out;
}

struct ValueText {
  std::string operator()(const Ifname& v) const { return v.name; }
  std::string operator()(const IpAddr& v) const { return v.ToString(); }
  std::string operator()(const Cidr& v) const {
    return v.Network().ToString() + "/" + std::to_string(v.prefix());
  }
  std::string operator()(Protocol v) const { return NftName(v); }
  std::string operator()(Port v) const { return std::to_string(v.value); }
  std::string operator()(PortRange v) const {
    return std::to_string(v.first) + "-" + std::to_string(v.last);
  }
  std::string operator()(const Verdict& v) const { return VerdictText(v); }
};

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

struct SelectorText {
  std::string operator()(const Meta& m) const { return "meta " + m.key; }
  std::string operator()(const Payload& p) const { return p.protocol + " " + p.field; }
  std::string operator()(const Ct& c) const { return "ct " + c.key; }
  std::string operator()(const Fib& f) const { return "fib " + Join(f.flags, " . ") + " type"; }
};

std::string KeyText(const Key& key) {
  std::vector<std::string> parts;
  for (const Selector& s : key) parts.push_back(std::visit(SelectorText{}, s));
  return Join(parts, " . ");
}

struct OperandText {
  std::string operator()(const SetRef& s) const { return "@" + s.name; }
  std::string operator()(const Symbols& s) const { return Join(s.names, ","); }
  std::string operator()(const Value& v) const { return std::visit(ValueText{}, v); }
};

struct StatementText {
  std::string operator()(const Match& m) const {
    // `in` is a flag test: nft spells it without an operator.
    const char* op = m.op == Op::kEq ? " == " : m.op == Op::kNe ? " != " : " ";
    return KeyText(m.left) + op + std::visit(OperandText{}, m.right);
  }
  std::string operator()(const Verdict& v) const { return VerdictText(v); }
  std::string operator()(const Dnat& d) const {
    std::string key = KeyText(d.key);
    std::string out = std::string(d.snat ? "snat " : "dnat ") + NftName(d.family) + " to " + key +
                      " map @" + d.addr_map;
    if (d.port_map) out += " : " + key + " map @" + *d.port_map;
    return out;
  }
  std::string operator()(const VerdictMap& v) const { return KeyText(v.key) + " vmap @" + v.map; }
  std::string operator()(const Masquerade&) const { return "masquerade"; }
  std::string operator()(const Counter&) const { return "counter"; }
  std::string operator()(const NumgenGoto& n) const {
    std::vector<std::string> entries;
    for (size_t i = 0; i < n.chains.size(); ++i) {
      entries.push_back(std::to_string(i) + " : goto " + n.chains[i]);
    }
    return std::string("numgen ") + (n.random ? "random" : "inc") + " mod " +
           std::to_string(n.chains.size()) + " vmap { " + Join(entries, ", ") + " }";
  }
  std::string operator()(const DnatTo& d) const {
    return std::string("dnat ") + (d.addr.is_v6() ? "ip6" : "ip") + " to " + d.addr.ToString() +
           ":" + std::to_string(d.port);
  }
  std::string operator()(const Reject& r) const {
    return r.tcp_reset ? "reject with tcp reset" : "reject";
  }
  std::string operator()(const SetUpdate& u) const {
    return "update @" + u.set + " { " + KeyText(u.key) + " }";
  }
};

std::string RuleText(const Rule& r) {
  std::vector<std::string> stmts;
  for (const Statement& st : r.statements) stmts.push_back(std::visit(StatementText{}, st));
  return Join(stmts, " ");
}

std::string TypeText(const SetType& t) {
  std::vector<std::string> parts;
  for (DataType d : t.key) parts.push_back(NftName(d));
  std::string out = Join(parts, " . ");
  if (t.data) out += std::string(" : ") + NftName(*t.data);
  return out;
}

// The declaration's lines after `type`, each ending in `end` ("; " on one line, "\n\t\t" in a
// file).
std::string SetOptionsText(const SetType& t, const std::string& end) {
  if (t.interval) return "flags interval" + end;
  if (t.timeout) {
    return "flags dynamic,timeout" + end + "timeout " + std::to_string(t.timeout) + "s" + end;
  }
  return "";
}

}  // namespace

std::string TextElement(const Element& e, bool with_data) {
  std::vector<std::string> parts;
  for (const Value& v : e.key) parts.push_back(std::visit(ValueText{}, v));
  std::string out = Join(parts, " . ");
  if (with_data && e.data) out += " : " + std::visit(ValueText{}, *e.data);
  return out;
}

std::string TextElementCommands(const Table& table, const std::vector<Element>& remove,
                                const std::vector<Element>& add) {
  std::string out;
  std::string prefix = std::string(" element ") + NftName(table.family) + " " + table.name + " ";
  for (const Element& e : remove) {
    out += "nft delete" + prefix + e.set + " '{ " + TextElement(e, false) + " }'\n";
  }
  for (const Element& e : add) out += "nft add" + prefix + e.set + " '{ " + TextElement(e) + " }'\n";
  return out;
}

std::string TextRuleset(const Ruleset& rs, const std::vector<Element>& elements,
                        const std::vector<ChainBody>& extra, const std::vector<Set>& extra_sets) {
  std::string out = std::string("table ") + NftName(rs.table.family) + " " + rs.table.name + " {\n";
  std::vector<Set> sets = rs.sets;
  sets.insert(sets.end(), extra_sets.begin(), extra_sets.end());
  for (const Set& s : sets) {
    out += std::string("\t") + (s.is_map() ? "map " : "set ") + s.name + " {\n";
    out += "\t\ttype " + TypeText(s.type) + "\n";
    std::string options = SetOptionsText(s.type, "\n\t\t");
    if (!options.empty()) out += "\t\t" + options.substr(0, options.size() - 2);
    std::vector<std::string> elems;
    for (const Element& e : elements) {
      if (e.set == s.name) elems.push_back(TextElement(e));
    }
    if (!elems.empty()) out += "\t\telements = { " + Join(elems, ",\n\t\t\t     ") + " }\n";
    out += "\t}\n";
  }
  for (const Chain& c : rs.chains) {
    out += "\n\tchain " + c.name + " {\n";
    if (c.base) {
      out += "\t\ttype " + c.base->type + " hook " + c.base->hook + " priority " +
             std::to_string(c.base->priority) + "; policy " + NftName(c.base->policy) + ";\n";
    }
    for (const Rule& r : rs.rules) {
      if (r.chain == c.name) out += "\t\t" + RuleText(r) + "\n";
    }
    out += "\t}\n";
  }
  for (const ChainBody& c : extra) {
    out += "\n\tchain " + c.name + " {\n";
    for (const Rule& r : c.rules) out += "\t\t" + RuleText(r) + "\n";
    out += "\t}\n";
  }
  return out + "}\n";
}

std::string TextChainCommands(const Table& table, const ChainDelta& chains) {
  std::string where = std::string(NftName(table.family)) + " " + table.name + " ";
  std::string out;
  for (const ChainBody& c : chains.refill) out += "nft flush chain " + where + c.name + "\n";
  for (const std::string& n : chains.remove) out += "nft flush chain " + where + n + "\n";
  for (const std::string& n : chains.remove) out += "nft delete chain " + where + n + "\n";
  for (const std::string& n : chains.remove_sets) out += "nft delete set " + where + n + "\n";
  for (const std::string& n : chains.flush_sets) out += "nft flush set " + where + n + "\n";
  for (const Set& s : chains.add_sets) {
    out += "nft add set " + where + s.name + " '{ type " + TypeText(s.type) + "; " +
           SetOptionsText(s.type, "; ") + "}'\n";
  }
  for (const ChainBody& c : chains.add) out += "nft add chain " + where + c.name + "\n";
  for (const auto* list : {&chains.refill, &chains.add}) {
    for (const ChainBody& c : *list) {
      for (const Rule& r : c.rules) {
        out += "nft add rule " + where + r.chain + " '" + RuleText(r) + "'\n";
      }
    }
  }
  return out;
}

}  // namespace berth::firewall
