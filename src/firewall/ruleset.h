// berth's nftables ruleset as data built with the typed model (model.h), rendered by one renderer
// per encoding (render_json.h, render_wire.h, render_text.h), so user data never becomes rule
// text.
//
// The shape (one `inet berth` table; DESIGN.md §2 "O(1) per container"): a fixed set of chains
// whose rules never change, and sets/maps holding every per-network and per-port fact. A network
// or a published port is therefore a handful of element adds or deletes (RenderDelta), whatever
// else exists. RenderState rebuilds the whole table from berth's store in one transaction: used
// the first time, and whenever a delta fails because someone flushed or edited berth's objects.
// The `user` chain is evaluated first in forward and is created once and never modified, so
// admins can put their own filtering there (Docker's DOCKER-USER).
//
// Pure: no I/O. Thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/model.h"
#include "firewall/model.h"
#include "firewall/nft_verify.h"
#include "firewall/render_wire.h"

namespace berth::firewall {

inline constexpr char kTable[] = "berth";
inline constexpr char kUserChain[] = "user";

struct NetworkRules {
  std::string bridge;
  Cidr subnet;
  bool masquerade = true;
  bool icc = true;
  bool internal = false;
  /// Set on a node's share of a multi-host cluster (the `cluster` network): traffic between
  /// this subnet and the cluster's CIDR is routed as it is, neither masqueraded (a server on
  /// another host sees the client container's own address) nor refused as a new flow into the
  /// bridge. One cluster per host: networks sharing a CIDR share its element.
  std::optional<Cidr> cluster_cidr = std::nullopt;
  /// With cluster_cidr: the bridge's address. Traffic from outside the cluster that this node
  /// DNATs (a service's --publish, the host reaching a VIP) to a container on another node
  /// takes it as its source, so the other node accepts it and its replies come back here to
  /// be translated back (kube-proxy masquerades such traffic too).
  std::optional<IpAddr> cluster_gateway = std::nullopt;
};

/// One published port or range: host_ip:host_port+i -> container_ip:container_port+i.
struct PortRule {
  IpAddr host_ip;  // unspecified: every local address of the host
  Protocol protocol = Protocol::kTcp;
  uint16_t host_port = 0;
  uint16_t count = 1;
  IpAddr container_ip;
  uint16_t container_port = 0;
};

/// One service (kube-proxy's nftables mode, KEP-3866): an element of the `service_ips` verdict
/// map per port (VIP . protocol . port : goto the port's chain), and per port a chain that
/// picks one of the backends with numgen and jumps to that backend's chain, which DNATs to
/// BACKEND:TARGETPORT. Without backends the port's chain rejects (TCP reset, ICMP port
/// unreachable) so a client learns at once. Chains are named svc-<id12>-<proto><port> and
/// svc-<id12>-<proto><port>-<n>.
///
/// Client-IP affinity (`affinity` seconds; kube-proxy's nftables mode): per backend a dynamic
/// set aff-<id12>-<proto><port>-<n> of client addresses with that timeout; the port's chain
/// first sends a client found in a backend's set to that backend, and the backend's chain
/// records (or refreshes) its client before the DNAT. A set is emptied when its backend
/// changes, so an entry always names the backend it was made for.
struct ServiceRules {
  std::string id;
  IpAddr vip;
  std::vector<ServicePort> ports;
  std::vector<IpAddr> backends;  // in a stable order (the caller sorts)
  bool round_robin = false;
  /// Host ports leading to a port's chain (NodePort): elements of `service_ports`
  /// (protocol . host port : goto), looked up for local destinations before published ports.
  std::vector<ServicePublish> publish = {};
  /// Client-IP affinity timeout in seconds; 0: none.
  uint32_t affinity = 0;
};

/// The element changes of one operation. Applied as one nftables transaction. A service
/// changing (a backend joins or leaves) is its old rules removed and its new ones added: the
/// renderer turns that into refilled chains and only the elements that differ.
struct Delta {
  std::vector<NetworkRules> add_networks, remove_networks;
  std::vector<PortRule> add_ports, remove_ports;
  std::vector<ServiceRules> add_services = {}, remove_services = {};

  bool empty() const {
    return add_networks.empty() && remove_networks.empty() && add_ports.empty() &&
           remove_ports.empty() && add_services.empty() && remove_services.empty();
  }
  /// What undoes this delta (adds become deletes and the other way round).
  Delta Inverse() const {
    return {remove_networks, add_networks, remove_ports, add_ports, remove_services,
            add_services};
  }
};

/// Everything berth's table must hold.
struct State {
  std::vector<NetworkRules> networks;
  std::vector<PortRule> ports;
  std::vector<ServiceRules> services = {};
};

/// The chains of `services` with their rules.
std::vector<ChainBody> ServiceChains(const std::vector<ServiceRules>& services);

/// The dynamic sets of `services` (client-IP affinity), in the order of their backends.
std::vector<Set> ServiceSets(const std::vector<ServiceRules>& services);

/// The chain changes and element changes that turn `remove` into `add` (what is in both is
/// left alone; a chain in both is refilled).
ChainDelta ServiceChainDelta(const std::vector<ServiceRules>& remove,
                             const std::vector<ServiceRules>& add);

/// The table's structure: chains, sets and maps, rules. Built once.
const Ruleset& BerthRuleset();

/// The elements that hold `networks` and `ports`, in the sets and maps of BerthRuleset().
std::vector<Element> Elements(const std::vector<NetworkRules>& networks,
                              const std::vector<PortRule>& ports);

/// nft JSON adding and deleting the delta's elements.
std::string RenderDelta(const Delta& delta);

/// nft JSON making berth's table hold exactly `state`, as two transactions: `create` adds any
/// missing table, chain, set or map (empty, so harmless on its own: libnftables 1.0.6 cannot
/// flush a map created in the same batch); `content` then atomically flushes berth's own
/// chains and sets and re-adds every rule and element. The user chain's rules are left alone.
struct StateBatches {
  std::string create;
  std::string content;
};
/// `present_chains` and `present_sets`: the chains and sets the table holds now
/// (ParseJsonChains, ParseJsonSets); the service chains and affinity sets among them that
/// `state` has no use for are deleted. Affinity sets that stay keep their clients.
StateBatches RenderState(const State& state, const std::vector<std::string>& present_chains = {},
                         const std::vector<std::string>& present_sets = {});

/// Which of the elements `expected` adds are absent from `listing` (the JSON of
/// `list table inet berth`; empty or unparsable: the table is gone), in nft(8) spelling as
/// "set: element". What CNI CHECK reports as missing rules.
std::vector<std::string> MissingElements(const Delta& expected, const std::string& listing);

/// Everything in which `listing` (as for MissingElements) differs from a table holding exactly
/// `state`: missing table, chains or sets, fixed chains whose rule count differs, elements
/// missing ("missing set: element") and elements no record explains ("stray set: element").
/// Empty: the table is as it should be. The user chain's rules are the admins' and never count.
std::vector<std::string> Differences(const State& state, const std::string& listing);

/// The same comparison as Differences, by counts: every chain and set of a table holding exactly
/// `state`, fixed chains with their exact rule count, sets with their exact element count. What
/// a command checks when nftables' generation moved (MissingObjects: a few targeted queries
/// instead of a listing of the whole ruleset); only a mismatch costs the full Differences. A
/// foreign edit that keeps every count (an element swapped for another) is left to the
/// periodic full reconcile.
ExpectedTable Expected(const State& state);

/// The delta as binary elements and service chain changes, when every element it touches
/// lives in a hash set or map (a published port, a network's bridge entries, a service's map
/// elements). Interval sets (subnets, port ranges) need nft's interval handling: then nullopt,
/// and RenderDelta's JSON goes through libnftables.
std::optional<WireDelta> EncodeDelta(const Delta& delta);

/// The delta in nft(8) syntax, for people reading --dry-run output. Never executed.
std::string ExplainDelta(const Delta& delta);

/// A service's chains and elements as `nft` commands (`service inspect --explain`).
std::string ExplainServices(const std::vector<ServiceRules>& services);

/// The whole table holding `state`, as an `nft -f` file, for people. Never executed.
std::string ExplainState(const State& state);

}  // namespace berth::firewall
