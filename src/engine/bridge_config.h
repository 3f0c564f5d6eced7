// The host's settings for the default network, like Docker's daemon.json: `<root>/config.json`
// (the state root's; /var/lib/berth/config.json by default):
//   { "bip": "172.26.0.1/16", "mtu": 1450,
//     "default-address-pools": [ { "base": "10.10.0.0/16", "size": 24 } ] }
// `bip` is the default bridge's address and prefix (its subnet follows), `mtu` its MTU (and its
// containers' veths), `default-address-pools` where user networks without --subnet are carved
// from (replacing berth's pools), `service-cidr` where service VIPs come from (Kubernetes'
// 10.96.0.0/16 by default). Absent keys keep Docker's defaults (172.17.0.1/16, 1500).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ip.h"

namespace berth::engine {

struct BridgeConfig {
  Cidr subnet;     // the default network's
  IpAddr gateway;  // the bridge's address
  int mtu = 1500;
  std::vector<Cidr> pools;  // empty: ipam::DefaultPools()
  Cidr service_cidr;        // "service-cidr": where service VIPs come from (10.96.0.0/16)
};

/// Docker's defaults: 172.17.0.1/16, MTU 1500, berth's pools.
BridgeConfig DefaultBridgeConfig();

/// Parses config.json text; unknown keys and bad values are errors naming them.
Result<BridgeConfig> ParseBridgeConfig(std::string_view text);

/// Reads `path`; a missing file is the defaults.
Result<BridgeConfig> LoadBridgeConfig(const std::string& path);

}  // namespace berth::engine
