#include "cni/result.h"

#include <algorithm>

namespace berth::cni {

using nlohmann::json;

namespace {

Error Bad(const std::string& where, const std::string& what) {
  return Error::Invalid("invalid " + where + ": " + what);
}

Result<std::vector<std::string>> Strings(const json& j, const std::string& where) {
  if (!j.is_array()) return Bad(where, "must be a list of strings");
  std::vector<std::string> out;
  for (const json& s : j) {
    if (!s.is_string()) return Bad(where, "must be a list of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

void AppendNew(std::vector<std::string>& to, const std::vector<std::string>& from) {
  for (const std::string& s : from) {
    if (std::find(to.begin(), to.end(), s) == to.end()) to.push_back(s);
  }
}

}  // namespace

void Dns::Merge(const Dns& other) {
  AppendNew(nameservers, other.nameservers);
  if (domain.empty()) domain = other.domain;
  AppendNew(search, other.search);
  AppendNew(options, other.options);
}

json RenderDns(const Dns& d) {
  json j = json::object();
  if (!d.nameservers.empty()) j["nameservers"] = d.nameservers;
  if (!d.domain.empty()) j["domain"] = d.domain;
  if (!d.search.empty()) j["search"] = d.search;
  if (!d.options.empty()) j["options"] = d.options;
  return j;
}

json RenderResult(const AddResult& r, std::string_view version) {
  const bool legacy = VersionLess(version, "1.0.0");  // 0.3.x, 0.4.0
  const bool mtu = !VersionLess(version, "1.1.0");
  json out = {{"cniVersion", std::string(version)}};
  if (!r.interfaces.empty()) {
    json ifs = json::array();
    for (const Interface& i : r.interfaces) {
      json j = {{"name", i.name}};
      if (!i.mac.empty()) j["mac"] = i.mac;
      if (mtu && i.mtu) j["mtu"] = *i.mtu;
      if (!i.sandbox.empty()) j["sandbox"] = i.sandbox;
      ifs.push_back(std::move(j));
    }
    out["interfaces"] = std::move(ifs);
  }
  if (!r.ips.empty()) {
    json ips = json::array();
    for (const IpConfig& ip : r.ips) {
      json j;
      if (legacy) j["version"] = ip.address.is_v4() ? "4" : "6";
      j["address"] = ip.address.ToString();
      if (ip.gateway) j["gateway"] = ip.gateway->ToString();
      if (ip.interface) j["interface"] = *ip.interface;
      ips.push_back(std::move(j));
    }
    out["ips"] = std::move(ips);
  }
  if (!r.routes.empty()) {
    json routes = json::array();
    for (const Route& rt : r.routes) {
      json j = {{"dst", rt.dst.ToString()}};
      if (rt.gw) j["gw"] = rt.gw->ToString();
      routes.push_back(std::move(j));
    }
    out["routes"] = std::move(routes);
  }
  if (!r.dns.empty()) out["dns"] = RenderDns(r.dns);
  return out;
}

Result<Dns> ParseDns(const json& j, const std::string& where) {
  if (!j.is_object()) return Bad(where, "must be an object");
  Dns d;
  for (const char* key : {"nameservers", "search", "options"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    auto list = Strings(j[key], where + "." + key);
    if (!list.ok()) return list.error();
    std::string k = key;
    (k == "nameservers" ? d.nameservers : k == "search" ? d.search : d.options) = *list;
  }
  if (j.contains("domain") && !j["domain"].is_null()) {
    if (!j["domain"].is_string()) return Bad(where + ".domain", "must be a string");
    d.domain = j["domain"].get<std::string>();
  }
  return d;
}

Result<Route> ParseRoute(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("dst") || !j["dst"].is_string()) {
    return Bad(where, "a route needs \"dst\" (a CIDR)");
  }
  auto dst = Cidr::ParseInterface(j["dst"].get<std::string>());
  if (!dst.ok()) return Bad(where + ".dst", dst.error().message());
  Route r{Cidr(dst->Network(), dst->prefix()), std::nullopt};
  if (j.contains("gw") && !j["gw"].is_null()) {
    if (!j["gw"].is_string()) return Bad(where + ".gw", "must be an address");
    auto gw = IpAddr::Parse(j["gw"].get<std::string>());
    if (!gw.ok()) return Bad(where + ".gw", gw.error().message());
    if (gw->is_v4() != r.dst.is_v4()) return Bad(where, "dst and gw are of different IP versions");
    r.gw = *gw;
  }
  return r;
}

Result<AddResult> ParseResult(const json& j) {
  const std::string where = "result";
  if (!j.is_object()) return Bad(where, "must be an object");
  AddResult r;
  if (j.contains("interfaces") && !j["interfaces"].is_null()) {
    if (!j["interfaces"].is_array()) return Bad(where + ".interfaces", "must be a list");
    for (const json& i : j["interfaces"]) {
      if (!i.is_object() || !i.contains("name") || !i["name"].is_string()) {
        return Bad(where + ".interfaces", "every interface needs a \"name\"");
      }
      Interface itf{i["name"].get<std::string>(), "", "", std::nullopt};
      if (i.contains("mac") && i["mac"].is_string()) itf.mac = i["mac"].get<std::string>();
      if (i.contains("sandbox") && i["sandbox"].is_string()) {
        itf.sandbox = i["sandbox"].get<std::string>();
      }
      if (i.contains("mtu") && i["mtu"].is_number_integer()) itf.mtu = i["mtu"].get<int>();
      r.interfaces.push_back(std::move(itf));
    }
  }
  if (j.contains("ips") && !j["ips"].is_null()) {
    if (!j["ips"].is_array()) return Bad(where + ".ips", "must be a list");
    for (const json& i : j["ips"]) {
      if (!i.is_object() || !i.contains("address") || !i["address"].is_string()) {
        return Bad(where + ".ips", "every entry needs an \"address\"");
      }
      auto addr = Cidr::ParseInterface(i["address"].get<std::string>());
      if (!addr.ok()) return Bad(where + ".ips.address", addr.error().message());
      IpConfig ip{*addr, std::nullopt, std::nullopt};
      if (i.contains("gateway") && i["gateway"].is_string()) {
        auto gw = IpAddr::Parse(i["gateway"].get<std::string>());
        if (!gw.ok()) return Bad(where + ".ips.gateway", gw.error().message());
        ip.gateway = *gw;
      }
      if (i.contains("interface") && !i["interface"].is_null()) {
        if (!i["interface"].is_number_integer() || i["interface"].get<int>() < 0) {
          return Bad(where + ".ips.interface", "must be an index into interfaces");
        }
        ip.interface = i["interface"].get<int>();
      }
      r.ips.push_back(std::move(ip));
    }
  }
  if (j.contains("routes") && !j["routes"].is_null()) {
    if (!j["routes"].is_array()) return Bad(where + ".routes", "must be a list");
    for (const json& rt : j["routes"]) {
      auto route = ParseRoute(rt, where + ".routes");
      if (!route.ok()) return route.error();
      r.routes.push_back(*route);
    }
  }
  if (j.contains("dns") && !j["dns"].is_null()) {
    auto dns = ParseDns(j["dns"], where + ".dns");
    if (!dns.ok()) return dns.error();
    r.dns = *dns;
  }
  return r;
}

}  // namespace berth::cni
