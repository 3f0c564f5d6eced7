#include "diagnose/user_rules.h"

#include <nlohmann/json.hpp>

#include "firewall/nft_firewall.h"
#include "firewall/ruleset.h"

namespace berth::diagnose {

namespace {

using nlohmann::json;

std::string Left(const json& l) {
  if (l.contains("payload")) {
    const json& p = l["payload"];
    return p.value("protocol", "?") + " " + p.value("field", "?");
  }
  if (l.contains("meta")) {
    std::string key = l["meta"].value("key", "?");
    return key == "iifname" || key == "oifname" ? key : "meta " + key;
  }
  if (l.contains("ct")) return "ct " + l["ct"].value("key", "?");
  if (l.contains("concat")) {
    std::string out;
    for (const json& part : l["concat"]) out += (out.empty() ? "" : " . ") + Left(part);
    return out;
  }
  if (l.contains("fib")) return "fib " + l["fib"].value("result", "?");
  return l.dump();
}

std::string Right(const json& r) {
  if (r.is_string()) return r.get<std::string>();
  if (r.is_number()) return std::to_string(r.get<int64_t>());
  if (r.contains("prefix")) {
    return Right(r["prefix"]["addr"]) + "/" + std::to_string(r["prefix"].value("len", 0));
  }
  if (r.contains("range") && r["range"].size() == 2) {
    return Right(r["range"][0]) + "-" + Right(r["range"][1]);
  }
  if (r.is_array()) {
    std::string out = "{ ";
    for (size_t i = 0; i < r.size(); ++i) out += (i ? ", " : "") + Right(r[i]);
    return out + " }";
  }
  if (r.contains("set")) {
    std::string out = "{ ";
    for (size_t i = 0; i < r["set"].size(); ++i) out += (i ? ", " : "") + Right(r["set"][i]);
    return out + " }";
  }
  return r.dump();
}

std::string Text(const json& expr, std::string* verdict) {
  if (expr.contains("match")) {
    const json& m = expr["match"];
    std::string op = m.value("op", "==");
    return Left(m["left"]) + (op == "==" || op == "in" ? " " : " " + op + " ") + Right(m["right"]);
  }
  for (const char* v : {"drop", "accept", "return", "reject"}) {
    if (expr.contains(v)) {
      *verdict = v;
      return v;
    }
  }
  if (expr.contains("jump")) return "jump " + expr["jump"].value("target", "?");
  if (expr.contains("goto")) return "goto " + expr["goto"].value("target", "?");
  if (expr.contains("dnat")) return "dnat";
  if (expr.contains("masquerade")) return "masquerade";
  if (expr.contains("counter")) return "counter";
  if (expr.contains("log")) return "log";
  return expr.begin() != expr.end() ? expr.begin().key() : expr.dump();
}

// Whether `value` (a port, or an address as text) is in the JSON right-hand side.
bool In(const json& r, const std::optional<IpAddr>& ip, std::optional<uint16_t> port) {
  if (r.contains("set")) {
    for (const json& e : r["set"]) {
      if (In(e, ip, port)) return true;
    }
    return false;
  }
  if (port) {
    if (r.is_number()) return r.get<int64_t>() == *port;
    if (r.contains("range") && r["range"].size() == 2 && r["range"][0].is_number()) {
      return r["range"][0].get<int64_t>() <= *port && *port <= r["range"][1].get<int64_t>();
    }
    return true;  // a named service or a set reference: cannot tell
  }
  if (ip) {
    if (r.is_string()) {
      auto a = IpAddr::Parse(r.get<std::string>());
      return !a.ok() || *a == *ip;
    }
    if (r.contains("prefix")) {
      auto c = Cidr::ParseInterface(Right(r));
      return !c.ok() || c->Contains(*ip);
    }
    if (r.contains("range") && r["range"].size() == 2) {
      auto lo = IpAddr::Parse(Right(r["range"][0])), hi = IpAddr::Parse(Right(r["range"][1]));
      return !lo.ok() || !hi.ok() || (*lo <= *ip && *ip <= *hi);
    }
  }
  return true;
}

// Whether one match expression holds for the flow (true when it cannot tell).
bool Holds(const json& m, const Flow& f) {
  const json& l = m["left"];
  const json& r = m["right"];
  bool negate = m.value("op", "==") == "!=";
  std::optional<bool> result;
  std::string proto = f.protocol == Protocol::kUdp ? "udp" : "tcp";
  if (l.contains("payload")) {
    std::string p = l["payload"].value("protocol", ""), field = l["payload"].value("field", "");
    if ((p == "ip" || p == "ip6") && field == "saddr" && f.saddr) result = In(r, f.saddr, {});
    if ((p == "ip" || p == "ip6") && field == "daddr" && f.daddr) result = In(r, f.daddr, {});
    if ((p == "tcp" || p == "udp") && p != proto) result = false;
    else if ((p == "tcp" || p == "udp" || p == "th") && field == "dport" && f.dport) {
      result = In(r, {}, f.dport);
    }
    if (p == "ip" && ((f.saddr && !f.saddr->is_v4()) || (f.daddr && !f.daddr->is_v4()))) {
      result = false;
    }
  } else if (l.contains("meta") && l["meta"].value("key", "") == "l4proto" && r.is_string()) {
    result = r.get<std::string>() == proto;
  }
  if (!result) return true;
  return negate ? !*result : *result;
}

}  // namespace

std::map<std::string, UserRule> ParseRules(const std::string& listing) {
  std::map<std::string, UserRule> out;
  json doc = json::parse(listing, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("nftables")) return out;
  for (const json& o : doc["nftables"]) {
    if (!o.contains("rule")) continue;
    const json& rule = o["rule"];
    UserRule u;
    u.handle = rule.value("handle", uint64_t{0});
    for (const json& e : rule.value("expr", json::array())) {
      std::string t = Text(e, &u.verdict);
      u.text += (u.text.empty() ? "" : " ") + t;
    }
    out[rule.value("table", "") + " " + rule.value("chain", "") + " " + std::to_string(u.handle)] =
        std::move(u);
  }
  return out;
}

std::vector<UserRule> ParseUserChain(const std::string& listing) {
  std::vector<UserRule> out;
  json doc = json::parse(listing, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("nftables")) return out;
  for (const json& o : doc["nftables"]) {
    if (!o.contains("rule")) continue;
    const json& rule = o["rule"];
    UserRule u;
    u.handle = rule.value("handle", uint64_t{0});
    u.json = rule.contains("expr") ? rule["expr"].dump() : "[]";
    for (const json& e : rule.value("expr", json::array())) {
      std::string t = Text(e, &u.verdict);
      u.text += (u.text.empty() ? "" : " ") + t;
    }
    out.push_back(std::move(u));
  }
  return out;
}

Result<std::vector<UserRule>> ReadUserChain() {
  BERTH_ASSIGN_OR_RETURN(auto fw, firewall::NftFirewall::Open());
  json cmd = {{"nftables",
               {{{"list",
                  {{"chain",
                    {{"family", "inet"}, {"table", firewall::kTable},
                     {"name", firewall::kUserChain}}}}}}}}};
  std::string listing;
  if (!fw->Run(cmd.dump(), &listing).ok()) return std::vector<UserRule>();  // no table
  return ParseUserChain(listing);
}

std::optional<UserRule> FirstDrop(const std::vector<UserRule>& rules, const Flow& flow) {
  for (const UserRule& r : rules) {
    if (r.verdict.empty()) continue;
    json exprs = json::parse(r.json, nullptr, false);
    bool all = true;
    for (const json& e : exprs) {
      if (e.contains("match") && !Holds(e["match"], flow)) {
        all = false;
        break;
      }
    }
    if (!all) continue;
    if (r.verdict == "drop" || r.verdict == "reject") return r;
    return std::nullopt;  // accept or return: the walk leaves the chain here
  }
  return std::nullopt;
}

}  // namespace berth::diagnose
