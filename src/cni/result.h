// CNI results (SPEC.md section 5): what ADD prints, what a previous plugin passes on as
// prevResult, and what an IPAM plugin answers. One in-memory form; rendering picks the shape of
// the requested version, parsing accepts every supported version's shape. Pure.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cni/protocol.h"
#include "core/ip.h"

namespace berth::cni {

struct Interface {
  std::string name;
  std::string mac;
  std::string sandbox;     // the netns path for container interfaces; empty on the host
  std::optional<int> mtu;  // rendered for 1.1.0 only
};

struct IpConfig {
  Cidr address;  // interface form: 10.1.0.5/24
  std::optional<IpAddr> gateway;
  std::optional<int> interface;  // index into interfaces
};

struct Route {
  Cidr dst;  // 0.0.0.0/0 for the default route
  std::optional<IpAddr> gw;

  bool is_default() const { return dst.prefix() == 0; }
};

struct Dns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;

  bool empty() const {
    return nameservers.empty() && domain.empty() && search.empty() && options.empty();
  }
  /// Appends what `other` has and this lacks (nameservers, search and options in order,
  /// without duplicates; the domain when unset).
  void Merge(const Dns& other);
};

struct AddResult {
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  Dns dns;
};

/// The result as `version` shapes it: 0.3.x/0.4.0 give each IP a "version"; 1.1.0 adds the
/// interfaces' "mtu". Empty sections are omitted.
nlohmann::json RenderResult(const AddResult& r, std::string_view version);

/// A result of any supported version (prevResult, an IPAM plugin's answer). Code 7 when a
/// field is malformed.
Result<AddResult> ParseResult(const nlohmann::json& j);

/// The spec's DNS dictionary ({nameservers, domain, search, options}); `where` names it in
/// errors. Code 7.
Result<Dns> ParseDns(const nlohmann::json& j, const std::string& where);
nlohmann::json RenderDns(const Dns& d);

/// {"dst": "10.1.0.0/16", "gw": "10.1.0.1"}; `where` names it in errors. Code 7.
Result<Route> ParseRoute(const nlohmann::json& j, const std::string& where);

}  // namespace berth::cni
