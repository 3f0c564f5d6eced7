// Membership: which node holds which subnet, and who is alive. The keys, under the client's
// prefix:
//   subnets/10.244.3.0-24 -> "NAME"             the assignment; belongs to the node name
//   nodes/NAME            -> NodeInfo as JSON    what peers need to reach it
//   alive/NAME            -> "" on a lease       the heartbeat (TTL kHeartbeatTtl)
//   removed/NAME          -> "10.244.3.0/24"     the tombstone `node rm` leaves: a node
//                                                removed while alive stays fenced, where a
//                                                node of a wiped etcd claims its subnet again
//
// Leases done right (flannel #1289, #520, #621): a subnet goes to a node only through a
// transaction that succeeds when nobody holds it, so concurrent joiners never share one; the
// assignment survives restarts, reboots and etcd outages (a node that comes back keeps it);
// liveness is separate, and an expired heartbeat never frees a subnet (RemoveNode does).
//
// Fencing: a node whose subnet key names another node (an etcd restored from an old backup, a
// duplicate node name) gets kExists from Claim and CheckHeld, and must stop serving.
//
// Thread-compatible; every function makes a few etcd requests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/config.h"
#include "core/error.h"
#include "core/ip.h"
#include "etcd/client.h"

namespace berth::cluster {

inline constexpr char kSubnetsPrefix[] = "subnets/";
inline constexpr char kNodesPrefix[] = "nodes/";
inline constexpr char kAlivePrefix[] = "alive/";
inline constexpr char kNamesPrefix[] = "names/";  // names/NODE/IP -> {"ip","names"}
inline constexpr char kRemovedPrefix[] = "removed/";
inline constexpr int kHeartbeatTtl = 30;        // seconds
inline constexpr int kHeartbeatEveryMs = 10000;

struct NodeInfo {
  std::string name;
  IpAddr node_ip;
  Cidr subnet;
  std::string vtep_mac;  // empty until the node's vxlan device exists (or backend host-gw)
  std::string backend;   // the cluster's backend when it joined (information only)
  int mtu = 0;           // its cluster bridge's MTU
  int64_t joined = 0;    // unix seconds
  std::string host_id;   // the host that joined (random, kept in its cluster.json): two
                         // hosts with one node name are told apart

  bool operator==(const NodeInfo&) const = default;
};

std::string ToJson(const NodeInfo& n);
Result<NodeInfo> ParseNode(std::string_view json);

/// "subnets/10.244.3.0-24" (a key has no '/' inside its last part).
std::string SubnetKey(const Cidr& subnet);
std::string NodeKey(const std::string& name);
std::string AliveKey(const std::string& name);
std::string RemovedKey(const std::string& name);
/// Node names: what container names allow (letters, digits, '.', '_', '-'), 1-63 characters.
Status ValidateNodeName(const std::string& name);

/// Where a new node starts looking: a hash of its name, so concurrent joiners rarely collide.
uint64_t StartIndex(const std::string& name, uint64_t count);

/// Gets `self.name` its subnet: the one it holds already (its other fields updated), or a free
/// one claimed in one transaction. Returns `self` with the subnet set. When `self.subnet` is
/// set (a host that joined before: its cluster network uses it), only that subnet will do. kExists when its
/// recorded subnet is held by another node (fencing); kUnavailable when etcd is unreachable;
/// kExists too when the CIDR is full, and when a required subnet's node was removed (its
/// tombstone is there). A new node (no required subnet) clears its name's tombstone.
/// A record of another host (its host_id differs) is kExists too, unless `take_over` (a join
/// that checked that host is no longer alive: a replaced machine keeps the node's subnet).
/// A new node's subnet overlaps none of `avoid` (the host's networks and routes).
Result<NodeInfo> Claim(etcd::Client& client, const ClusterConfig& config, NodeInfo self,
                       bool take_over = false, const std::vector<Cidr>& avoid = {});

/// Undoes a join that failed after its claim: deletes nodes/NAME and the subnet key in one
/// transaction, only while they still hold what the join wrote (`self`).
Status Unclaim(etcd::Client& client, const NodeInfo& self);

/// Updates nodes/NAME (the VTEP MAC, MTU...) only while subnets/X still names this node.
Status Publish(etcd::Client& client, const NodeInfo& self);

/// Ok while subnets/<self.subnet> names self.name; the fencing error otherwise.
Status CheckHeld(etcd::Client& client, const NodeInfo& self);

/// Forgets a node: nodes/NAME, its subnet key (only when it still names NAME), alive/NAME and
/// the container names it registered; leaves the tombstone removed/NAME.
/// kNotFound when no such node.
Status RemoveNode(etcd::Client& client, const std::string& name);

/// The fencing error of a node removed with `berth node rm`.
Error RemovedError(const std::string& self);
/// The error for nodes/NAME written by another host.
Error OtherHost(const NodeInfo& theirs, const std::string& self);
/// The fencing error's text.
Error HeldByOther(const Cidr& subnet, const std::string& holder, const std::string& self);

}  // namespace berth::cluster
