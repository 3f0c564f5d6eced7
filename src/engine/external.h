// External attachments: berth networking for containers whose network namespace and lifecycle
// belong to another runtime (podman, containerd, kubelet through the CNI plugin).
//
// The runtime names the container (its id), owns the namespace (a path berth opens but never
// creates or removes) and picks the interface name. berth owns the rest exactly as for its own
// containers: the network (created on first use), the address, the veth, the endpoint row and
// everything later layers hang off an endpoint (published ports, DNS names). Such containers
// are stored with mode kCniMode, so `berth ps`/`inspect`/`network inspect` show them.
//
// One attachment is keyed like CNI keys it: (network name, container id, interface name).
// berth keeps one endpoint per container and network, so a second interface of the same
// container on the same network is refused.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/ip.h"
#include "core/model.h"

namespace berth::engine {

struct NetworkCreateRequest;

struct ExternalKey {
  std::string container_id;
  std::string ifname;

  bool operator==(const ExternalKey&) const = default;
};

/// A route inside the container through the attachment's interface.
struct ExternalRoute {
  std::optional<Cidr> dst;    // nullopt: the default route
  std::optional<IpAddr> via;  // the network's gateway when unset

  bool operator==(const ExternalRoute&) const = default;
};

struct ExternalAttachRequest {
  std::string network;     // by exact name
  ExternalKey key;
  std::string netns_path;  // the runtime's namespace
  std::string name;        // preferred container name (e.g. CNI_ARGS K8S_POD_NAME); optional
  std::optional<IpAddr> ip;                        // a fixed address (runtime or delegated IPAM)
  std::optional<std::pair<IpAddr, IpAddr>> range;  // else allocate inside [first, last]
  std::optional<std::string> mac;                  // else derived from the address
  std::vector<std::string> aliases;                // DNS names besides the container's name
  std::vector<PortMapping> ports;
  bool default_route = true;  // skipped on internal networks and when one exists already
  std::vector<ExternalRoute> routes;  // further routes (e.g. from the CNI ipam section)
};

struct ExternalAttachment {
  Network network;
  Endpoint endpoint;
  bool network_created = false;
  std::string bridge_mac;
  std::string host_veth_mac;
  bool default_route = false;          // whether berth added the container's default route
  std::vector<ExternalRoute> routes;   // added besides the default route, `via` filled in
  std::vector<IpAddr> dns_servers;     // berth's resolver for this endpoint; empty without DNS
};

/// What a CHECK verifies: the attachment as the runtime was told about it.
struct ExternalCheckRequest {
  std::string network;
  ExternalKey key;
  std::string netns_path;
  std::optional<Cidr> address;        // the interface address reported by ADD
  std::optional<std::string> mac;     // as reported (a later plugin may have changed it)
  std::vector<ExternalRoute> routes;  // reported routes through this network's gateway
};

/// How a network must look when an attachment names it: created like this when missing, and
/// refused when it exists with a different subnet, gateway, MTU or bridge.
Status CheckNetworkMatches(const Network& existing, const NetworkCreateRequest& req);

}  // namespace berth::engine
