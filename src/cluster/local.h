// What a node remembers of its cluster membership: ROOT/cluster.json, written by `berth
// cluster join`, read by berthd at every start (so a restarted berthd or a rebooted host
// rejoins with no command) and deleted by `berth cluster leave`.
//
// Thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "etcd/client.h"

namespace berth::cluster {

/// The local network every node's containers join to be on the cluster.
inline constexpr char kNetworkName[] = "cluster";
inline constexpr char kVxlanDevice[] = "berth.vxlan";

struct LocalState {
  etcd::Options etcd;   // endpoints, prefix, TLS files
  std::string node;
  IpAddr node_ip;
  std::string iface;    // the underlay device; empty: the one holding node_ip
  int mtu = 0;          // the cluster bridge's MTU as given by --mtu; 0: derived
  Cidr subnet;          // what the join got (the agent checks etcd still agrees)
};

std::string LocalStatePath(const std::string& root);

std::string ToJson(const LocalState& s);
Result<LocalState> ParseLocalState(std::string_view json);

/// kNotFound when this node never joined (or left).
Result<LocalState> ReadLocalState(const std::string& root);
Status WriteLocalState(const std::string& root, const LocalState& s);
/// Absent counts as removed.
Status RemoveLocalState(const std::string& root);

}  // namespace berth::cluster
