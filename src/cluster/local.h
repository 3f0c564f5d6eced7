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
  std::string host_id;  // random, made by the first join: nodes/NAME carries it
};

std::string LocalStatePath(const std::string& root);

std::string ToJson(const LocalState& s);
Result<LocalState> ParseLocalState(std::string_view json);

/// kNotFound when this node never joined (or left).
Result<LocalState> ReadLocalState(const std::string& root);
Status WriteLocalState(const std::string& root, const LocalState& s);
/// Absent counts as removed.
Status RemoveLocalState(const std::string& root);

/// ROOT/cluster.fenced: written by the agent while it does not serve the cluster network, so
/// the engine refuses attachments to it with the reason: {"reason": "...", "removed": bool}.
/// `removed` (the node was removed with `berth node rm`) is sticky: the agent never claims a
/// subnet again until `berth cluster leave` deletes the file.
struct FenceRecord {
  std::string reason;
  bool removed = false;
};
std::string FencePath(const std::string& root);
/// nullopt when the node is not fenced (or the file is unreadable).
std::optional<FenceRecord> ReadFence(const std::string& root);
Status WriteFence(const std::string& root, const FenceRecord& f);
Status RemoveFence(const std::string& root);

}  // namespace berth::cluster
