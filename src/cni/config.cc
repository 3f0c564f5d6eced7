#include "cni/config.h"

#include "core/names.h"

namespace berth::cni {

using nlohmann::json;

namespace {

Error Bad(const std::string& field, const std::string& what) {
  return Error::Invalid("invalid network configuration: " + field + " " + what);
}

Error Unsupported(const std::string& field, const json& value, const std::string& why) {
  return BadInput(kUnsupportedField,
                  "unsupported field in network configuration: " + field + "=" +
                      value.dump(-1, ' ', false, json::error_handler_t::replace),
                  why);
}

Status Bool(const json& j, const char* key, const std::string& where, bool* out) {
  if (!j.contains(key) || j[key].is_null()) return Ok();
  if (!j[key].is_boolean()) return Bad(where + key, "must be true or false");
  *out = j[key].get<bool>();
  return Ok();
}

Status String(const json& j, const char* key, const std::string& where,
              std::optional<std::string>* out) {
  if (!j.contains(key) || j[key].is_null()) return Ok();
  if (!j[key].is_string()) return Bad(where + key, "must be a string");
  *out = j[key].get<std::string>();
  return Ok();
}

template <typename T>
Status Parsed(const json& j, const char* key, const std::string& where,
              Result<T> (*parse)(std::string_view), std::optional<T>* out) {
  std::optional<std::string> text;
  BERTH_TRY(String(j, key, where, &text));
  if (!text) return Ok();
  auto v = parse(*text);
  if (!v.ok()) return Bad(where + key, "\"" + *text + "\": " + v.error().message());
  *out = *v;
  return Ok();
}

/// CNI names: [a-zA-Z0-9][a-zA-Z0-9_.-]* (berth's network names follow the same rule).
Status CheckName(const std::string& name) {
  if (name.empty()) return Bad("name", "is missing: a network configuration needs a name");
  if (Status st = ValidateName("network", name); !st.ok()) return Bad("name", st.error().message());
  return Ok();
}

Result<IpamConf> ParseIpam(const json& j) {
  IpamConf ipam;
  if (!j.is_object()) return Bad("ipam", "must be an object");
  std::optional<std::string> type;
  BERTH_TRY(String(j, "type", "ipam.", &type));
  ipam.type = type.value_or("");
  if (ipam.delegated()) return ipam;  // the delegate validates its own section
  static const char* kKeys[] = {"type", "subnet", "gateway", "rangeStart", "rangeEnd", "routes"};
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : kKeys) known = known || key == k;
    if (!known) {
      return Unsupported("ipam." + key, value,
                         "berth's IPAM knows type, subnet, gateway, rangeStart, rangeEnd and "
                         "routes; set ipam.type to delegate to another IPAM plugin");
    }
  }
  BERTH_TRY(Parsed<Cidr>(j, "subnet", "ipam.", Cidr::ParseNetwork, &ipam.subnet));
  BERTH_TRY(Parsed<IpAddr>(j, "gateway", "ipam.", IpAddr::Parse, &ipam.gateway));
  BERTH_TRY(Parsed<IpAddr>(j, "rangeStart", "ipam.", IpAddr::Parse, &ipam.range_start));
  BERTH_TRY(Parsed<IpAddr>(j, "rangeEnd", "ipam.", IpAddr::Parse, &ipam.range_end));
  if (ipam.subnet && !ipam.subnet->is_v4()) {
    return Unsupported("ipam.subnet", j["subnet"], "berth networks are IPv4 for now");
  }
  if (ipam.gateway && !ipam.subnet) return Bad("ipam.gateway", "needs ipam.subnet");
  if (ipam.gateway && !ipam.subnet->Contains(*ipam.gateway)) {
    return Bad("ipam.gateway", ipam.gateway->ToString() + " is outside " + ipam.subnet->ToString());
  }
  for (const auto* end : {&ipam.range_start, &ipam.range_end}) {
    if (*end && ipam.subnet && !ipam.subnet->Contains(**end)) {
      return Bad(end == &ipam.range_start ? "ipam.rangeStart" : "ipam.rangeEnd",
                 (*end)->ToString() + " is outside " + ipam.subnet->ToString());
    }
  }
  if (ipam.range_start && ipam.range_end && *ipam.range_end < *ipam.range_start) {
    return Bad("ipam.rangeEnd", "comes before ipam.rangeStart");
  }
  if ((ipam.range_start || ipam.range_end) && !ipam.subnet) {
    return Bad(ipam.range_start ? "ipam.rangeStart" : "ipam.rangeEnd", "needs ipam.subnet");
  }
  if (j.contains("routes") && !j["routes"].is_null()) {
    if (!j["routes"].is_array()) return Bad("ipam.routes", "must be a list");
    for (const json& r : j["routes"]) {
      auto route = ParseRoute(r, "ipam.routes");
      if (!route.ok()) return route.error();
      if (!route->dst.is_v4()) return Unsupported("ipam.routes", r, "IPv4 only for now");
      ipam.routes.push_back(*route);
    }
  }
  return ipam;
}

Result<PortMapping> ParsePort(const json& j) {
  const std::string where = "runtimeConfig.portMappings";
  if (!j.is_object()) return Bad(where, "entries must be objects");
  PortMapping p;
  for (const char* key : {"hostPort", "containerPort"}) {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 1 ||
        j[key].get<int64_t>() > 65535) {
      return Bad(where, std::string("entries need ") + key + " (1-65535)");
    }
  }
  p.host_port = static_cast<uint16_t>(j["hostPort"].get<int>());
  p.container_port = static_cast<uint16_t>(j["containerPort"].get<int>());
  std::string proto = "tcp";
  if (j.contains("protocol") && !j["protocol"].is_null()) {
    if (!j["protocol"].is_string()) return Bad(where + ".protocol", "must be a string");
    proto = j["protocol"].get<std::string>();
    for (char& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (proto == "tcp") {
    p.protocol = Protocol::kTcp;
  } else if (proto == "udp") {
    p.protocol = Protocol::kUdp;
  } else {
    return Unsupported(where + ".protocol", j["protocol"], "berth publishes tcp and udp ports");
  }
  if (j.contains("hostIP") && j["hostIP"].is_string() && !j["hostIP"].get<std::string>().empty()) {
    auto ip = IpAddr::Parse(j["hostIP"].get<std::string>());
    if (!ip.ok()) return Bad(where + ".hostIP", ip.error().message());
    if (!ip->is_v4()) return Unsupported(where + ".hostIP", j["hostIP"], "IPv4 only for now");
    p.host_ip = *ip;
  }
  return p;
}

Result<RuntimeConf> ParseRuntime(const json& j) {
  RuntimeConf rt;
  if (!j.is_object()) return Bad("runtimeConfig", "must be an object");
  if (j.contains("portMappings") && !j["portMappings"].is_null()) {
    if (!j["portMappings"].is_array()) return Bad("runtimeConfig.portMappings", "must be a list");
    for (const json& p : j["portMappings"]) {
      auto port = ParsePort(p);
      if (!port.ok()) return port.error();
      rt.ports.push_back(*port);
    }
  }
  if (j.contains("ips") && !j["ips"].is_null()) {
    if (!j["ips"].is_array()) return Bad("runtimeConfig.ips", "must be a list");
    for (const json& ip : j["ips"]) {
      if (!ip.is_string()) return Bad("runtimeConfig.ips", "must be a list of addresses");
      std::string text = ip.get<std::string>();
      auto cidr = text.find('/') == text.npos
                      ? [&]() -> Result<Cidr> {
                          BERTH_ASSIGN_OR_RETURN(IpAddr a, IpAddr::Parse(text));
                          return Cidr(a, a.bits());
                        }()
                      : Cidr::ParseInterface(text);
      if (!cidr.ok()) return Bad("runtimeConfig.ips", "\"" + text + "\": " + cidr.error().message());
      if (!cidr->is_v4()) {
        // Dual-stack runtimes may ask for an IPv6 address too; berth networks are IPv4.
        continue;
      }
      rt.ips.push_back(*cidr);
    }
  }
  std::optional<std::string> mac;
  BERTH_TRY(String(j, "mac", "runtimeConfig.", &mac));
  rt.mac = mac;
  if (j.contains("aliases") && !j["aliases"].is_null()) {
    if (!j["aliases"].is_object()) {
      return Bad("runtimeConfig.aliases", "must map network names to lists of names");
    }
    for (const auto& [net, names] : j["aliases"].items()) {
      if (!names.is_array()) return Bad("runtimeConfig.aliases." + net, "must be a list");
      for (const json& n : names) {
        if (!n.is_string()) return Bad("runtimeConfig.aliases." + net, "must be a list of names");
        rt.aliases[net].push_back(n.get<std::string>());
      }
    }
  }
  if (j.contains("dns") && !j["dns"].is_null()) {
    const json& d = j["dns"];
    if (!d.is_object()) return Bad("runtimeConfig.dns", "must be an object");
    // The capability's own spelling: servers, searches, options.
    json spec = json::object();
    if (d.contains("servers")) spec["nameservers"] = d["servers"];
    if (d.contains("searches")) spec["search"] = d["searches"];
    if (d.contains("options")) spec["options"] = d["options"];
    auto dns = ParseDns(spec, "runtimeConfig.dns");
    if (!dns.ok()) return dns.error();
    rt.dns = *dns;
  }
  return rt;
}

}  // namespace

Result<json> Decode(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return BadInput(kDecodingFailure, "failed to decode the network configuration",
                    text.empty() ? "stdin is empty" : "stdin is not valid JSON");
  }
  if (!j.is_object()) {
    return BadInput(kDecodingFailure, "failed to decode the network configuration",
                    "expected a JSON object");
  }
  return j;
}

Result<std::string> ConfigVersion(const json& j) {
  if (!j.contains("cniVersion") || j["cniVersion"].is_null()) return std::string("0.1.0");
  if (!j["cniVersion"].is_string()) return Bad("cniVersion", "must be a string");
  return j["cniVersion"].get<std::string>();
}

Result<NetConf> ParseNetConf(const json& j) {
  NetConf c;
  auto version = ConfigVersion(j);
  if (!version.ok()) return version.error();
  c.cni_version = *version;
  std::optional<std::string> name, type;
  BERTH_TRY(String(j, "name", "", &name));
  c.name = name.value_or("");
  BERTH_TRY(CheckName(c.name));
  BERTH_TRY(String(j, "type", "", &type));
  c.type = type.value_or("");
  if (c.type.empty()) return Bad("type", "is missing");
  BERTH_TRY(String(j, "root", "", &c.root));
  if (c.root && (c.root->empty() || (*c.root)[0] != '/')) {
    return Bad("root", "must be an absolute path");
  }
  BERTH_TRY(String(j, "bridge", "", &c.bridge));
  if (c.bridge) {
    if (Status st = ValidateIfName(*c.bridge); !st.ok()) return Bad("bridge", st.error().message());
  }
  BERTH_TRY(Bool(j, "isDefaultGateway", "", &c.is_default_gateway));
  BERTH_TRY(Bool(j, "ipMasq", "", &c.ip_masq));
  BERTH_TRY(Bool(j, "internal", "", &c.internal));
  if (j.contains("mtu") && !j["mtu"].is_null()) {
    if (!j["mtu"].is_number_integer() || j["mtu"].get<int64_t>() < 68 ||
        j["mtu"].get<int64_t>() > 65535) {
      return Bad("mtu", "must be a number from 68 to 65535");
    }
    c.mtu = j["mtu"].get<int>();
  }
  if (j.contains("dns") && !j["dns"].is_null()) {
    if (j["dns"].is_boolean()) {
      c.dns_enabled = j["dns"].get<bool>();
    } else {
      auto dns = ParseDns(j["dns"], "dns");
      if (!dns.ok()) return dns.error();
      c.dns = *dns;
    }
  }
  if (j.contains("ipam") && !j["ipam"].is_null()) {
    auto ipam = ParseIpam(j["ipam"]);
    if (!ipam.ok()) return ipam.error();
    c.ipam = *ipam;
  }
  if (j.contains("runtimeConfig") && !j["runtimeConfig"].is_null()) {
    auto rt = ParseRuntime(j["runtimeConfig"]);
    if (!rt.ok()) return rt.error();
    c.runtime = *rt;
  }
  if (j.contains("prevResult") && !j["prevResult"].is_null()) {
    if (!j["prevResult"].is_object()) return Bad("prevResult", "must be an object");
    c.prev_result = j["prevResult"];
  }
  // GC's list; libcni also sends it as cni.dev/attachments (the spec's earlier spelling).
  for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
    if (!j.contains(key) || j[key].is_null() || c.valid_attachments) continue;
    if (!j[key].is_array()) return Bad(key, "must be a list");
    std::vector<Attachment> list;
    for (const json& a : j[key]) {
      if (!a.is_object() || !a.contains("containerID") || !a["containerID"].is_string() ||
          !a.contains("ifname") || !a["ifname"].is_string()) {
        return Bad(key, "entries need \"containerID\" and \"ifname\"");
      }
      list.push_back({a["containerID"].get<std::string>(), a["ifname"].get<std::string>()});
    }
    c.valid_attachments = std::move(list);
  }
  return c;
}

}  // namespace berth::cni
