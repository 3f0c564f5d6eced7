// The cluster's config: one JSON document at the key `config` under the etcd prefix, written
// once by `berth cluster init` and read by every joining node and agent.
//
// Init is a put-if-absent transaction: the same config again is a no-op (so init can be
// scripted on every host), a different one is refused with both shown, never overwritten (a
// changed CIDR or subnet length would strand every node's subnet).
//
// Pure apart from Init/Load (one etcd request each). Thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/ip.h"
#include "etcd/client.h"

namespace berth::cluster {

inline constexpr char kConfigKey[] = "config";

enum class Backend { kVxlan, kHostGw, kAuto };
const char* BackendName(Backend b);
Result<Backend> ParseBackend(std::string_view text);

struct ClusterConfig {
  Cidr cidr;           // 10.244.0.0/16: every node's subnet is inside it
  int subnet_len = 24;
  Backend backend = Backend::kVxlan;
  uint32_t vni = 1;
  uint16_t port = 8472;

  bool operator==(const ClusterConfig&) const = default;
  /// How many node subnets the CIDR holds.
  uint64_t SubnetCount() const;
  /// The index-th node subnet (index < SubnetCount()).
  Cidr SubnetAt(uint64_t index) const;
};

/// An IPv4 CIDR, 8 <= its prefix < subnet_len <= 30, a VNI below 2^24, a port above 0.
Status Validate(const ClusterConfig& c);

std::string ToJson(const ClusterConfig& c);
Result<ClusterConfig> ParseConfig(std::string_view json);

/// Writes `c` unless a config exists: true when written, false when the same one was there;
/// kExists (showing both) when a different one is there.
Result<bool> Init(etcd::Client& client, const ClusterConfig& c);
/// The cluster's config; kNotFound when `berth cluster init` never ran on this prefix.
Result<ClusterConfig> Load(etcd::Client& client);

}  // namespace berth::cluster
