// The network configuration a runtime streams to the plugin (SPEC.md section 1, plus the
// capability conventions of CONVENTIONS.md), parsed and validated into plain data. Pure.
//
// Plugin type "berth" keys (documented in the README):
//   name              the berth network (created on first ADD when missing)
//   root              berth's state root (default $BERTH_ROOT, else /var/lib/berth)
//   bridge            bridge device name for a network berth creates
//   isDefaultGateway  default route via the gateway (default true)
//   ipMasq            masquerade traffic leaving the subnet (default true)
//   mtu               MTU of the bridge and veths of a network berth creates
//   dns               true/false: berth's name resolution on the network (default true); or
//                     the spec's DNS dictionary, passed on in the result
//   internal          no route out of the network (default false)
//   ipam              no "type" or "berth": berth's IPAM with subnet, gateway, rangeStart,
//                     rangeEnd, routes; any other type is delegated to that plugin on CNI_PATH
//   runtimeConfig     portMappings, ips, mac, aliases, dns (capabilities)
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cni/protocol.h"
#include "cni/result.h"
#include "core/ip.h"
#include "core/model.h"

namespace berth::cni {

struct IpamConf {
  std::string type;  // "" or "berth": berth's own
  std::optional<Cidr> subnet;
  std::optional<IpAddr> gateway;
  std::optional<IpAddr> range_start, range_end;
  std::vector<Route> routes;

  bool delegated() const { return !type.empty() && type != "berth"; }
};

struct RuntimeConf {
  std::vector<PortMapping> ports;
  std::vector<Cidr> ips;  // a bare address gets the full-length prefix until the subnet is known
  std::optional<std::string> mac;
  std::map<std::string, std::vector<std::string>> aliases;  // network name -> names
  Dns dns;  // runtimeConfig.dns {servers, searches, options}
};

struct Attachment {
  std::string container_id;
  std::string ifname;
};

struct NetConf {
  std::string cni_version;
  std::string name;
  std::string type;
  std::optional<std::string> root;
  std::optional<std::string> bridge;
  bool is_default_gateway = true;
  bool ip_masq = true;
  std::optional<int> mtu;
  bool dns_enabled = true;
  bool internal = false;
  Dns dns;  // the spec's "dns" dictionary
  IpamConf ipam;
  RuntimeConf runtime;
  std::optional<nlohmann::json> prev_result;
  std::optional<std::vector<Attachment>> valid_attachments;  // GC
};

/// Stdin as JSON; code 6 when it is not a JSON object.
Result<nlohmann::json> Decode(std::string_view text);

/// The cniVersion a config asks for ("0.1.0" when absent, as libcni reads it); code 7 when it
/// is not a string.
Result<std::string> ConfigVersion(const nlohmann::json& j);

/// Everything else. Code 7 for a missing or malformed field, 2 for a field berth does not
/// support (the message names the key and its value).
Result<NetConf> ParseNetConf(const nlohmann::json& j);

}  // namespace berth::cni
