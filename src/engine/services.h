// Services (Kubernetes' ClusterIP, kube-proxy's nftables mode): a virtual IP on a network in
// front of the containers on it whose labels match a selector. The store keeps the service;
// its backends follow from the network's endpoints and the containers' labels, recomputed in
// the same operation that attaches or detaches an endpoint (endpoints.cc), so they are
// current the moment `run`, `stop`, `start` or `rm` returns.
//
// Parsing here is pure; the rest reads the store inside the caller's transaction.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/model.h"
#include "firewall/conntrack.h"
#include "firewall/ruleset.h"
#include "store/store.h"

namespace berth::engine {

/// The store's meta key holding this node's cluster name (set by SyncClusterServices).
inline constexpr char kClusterNodeMeta[] = "cluster.node";

/// Kubernetes' default ClusterIP range; config.json's "service-cidr" changes it.
Cidr DefaultServiceCidr();

struct ServiceCreateRequest {
  std::string name;
  std::string network;
  std::vector<std::string> selector;  // KEY=VALUE
  std::vector<std::string> ports;     // PORT[:TARGETPORT][/tcp|/udp]
  std::optional<std::string> vip;
  std::string balance = "random";  // random | round-robin
  std::vector<std::string> publish;  // HOSTPORT:PORT[/udp]
  std::string affinity = "none";     // none | client-ip[:SECONDS]
};

/// One backend of one service port.
struct ServiceBackend {
  std::string container;  // name
  IpAddr ip;
  uint16_t port = 0;  // the target port
  Protocol protocol = Protocol::kTcp;
  std::string node;  // the cluster node it runs on; empty when the network is not clustered
};

/// What the cluster says about this node's cluster network (berthd, from its cluster agent):
/// SyncClusterServices makes the local copy match it.
struct ClusterServiceState {
  std::string network;  // the cluster network's name
  std::string node;     // this node's name
  /// Every service of the cluster (as etcd holds them); nullopt while not known yet (the
  /// agent has not listed etcd): the local services are left as they are.
  std::optional<std::vector<Service>> services;
  /// The other nodes' containers on the cluster network.
  std::vector<RemoteEndpoint> remote;
};

/// Called inside a service operation before it commits (the cluster's etcd write): an error
/// undoes the operation. It returns the etcd revision of its write (0: none), which the
/// operation records (kClusterServicesRevisionMeta): berthd changes no cluster service until
/// its agent has seen that revision, so it never undoes a create or remove it has not heard of.
using ServiceHook = std::function<Result<int64_t>(const Service&)>;
inline constexpr char kClusterServicesRevisionMeta[] = "cluster.services_revision";

/// A host port is one container's (-p) or one service's (--publish, among `services`), never
/// both: kInUse naming the holder.
Status CheckHostPortFree(store::Store& store, const std::vector<Service>& services,
                         const ServicePublish& p);

/// The revision of this node's last cluster service write (0: none).
Result<int64_t> ClusterServicesRevision(store::Store& store);

struct ServiceStatus {
  Service service;
  std::vector<ServiceBackend> backends;
};

/// "80", "80:8080", "53/udp", "80:8080/tcp".
Result<ServicePort> ParseServicePort(const std::string& spec);
/// "30080:80", "30053:53/udp": PORT must be one of the service's ports.
Result<ServicePublish> ParseServicePublish(const std::string& spec);
/// KEY=VALUE pairs; a key given twice is an error.
Result<std::map<std::string, std::string>> ParseSelector(const std::vector<std::string>& specs);
/// "random" (false) or "round-robin" (true).
Result<bool> ParseBalance(const std::string& spec);

/// Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds (3 h), and its most (1 day).
inline constexpr uint32_t kDefaultAffinitySeconds = 10800;
inline constexpr uint32_t kMaxAffinitySeconds = 86400;
/// "none" (0), "client-ip" (kDefaultAffinitySeconds) or "client-ip:SECONDS" (1 to
/// kMaxAffinitySeconds): the affinity timeout in seconds.
Result<uint32_t> ParseAffinity(const std::string& spec);
/// The timeout as the flag spells it: "none", "client-ip:10800".
std::string AffinityText(uint32_t seconds);

/// The firewall rules of `s` with `backends`.
firewall::ServiceRules ServiceRulesFor(const Service& s, std::vector<IpAddr> backends);

/// Whether `labels` has every KEY=VALUE of `selector`.
bool SelectorMatches(const std::map<std::string, std::string>& selector,
                     const std::map<std::string, std::string>& labels);

/// The backends of `s` now: the endpoints on its network of containers whose labels match,
/// and (clustered) the other nodes' containers on it whose labels match, ordered by address.
Result<std::vector<IpAddr>> BackendsOf(store::Store& store, const Service& s);

/// The firewall rules of the services on `network_id` (every service when empty).
Result<std::vector<firewall::ServiceRules>> ServiceRulesOf(store::Store& store,
                                                           const std::string& network_id = "");

/// The firewall change between two ServiceRulesOf results of the same network: the services
/// whose backends differ, old removed and new added.
void AddServiceChanges(const std::vector<firewall::ServiceRules>& before,
                       const std::vector<firewall::ServiceRules>& after, firewall::Delta& delta);

/// The UDP flows of the backends that `delta`'s service changes take away (a backend's
/// address in a removed service and not in its added replacement).
std::vector<firewall::StaleFlow> StaleUdpFlows(const firewall::Delta& delta);

}  // namespace berth::engine
