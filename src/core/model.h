// The objects berth manages, as plain data shared by every layer: what the store persists, what
// the engine plans with, what the front ends print. No behaviour beyond small derived values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"

namespace berth {

inline constexpr char kDefaultNetworkName[] = "bridge";
inline constexpr char kDefaultBridgeName[] = "berth0";
/// Container.mode of a container whose network namespace belongs to a CNI runtime (podman,
/// containerd, kubelet): berth attaches it to networks but never creates or removes the
/// namespace. Such containers have an empty netns_owner_id.
inline constexpr char kCniMode[] = "cni";

struct Network {
  std::string id;
  std::string name;
  std::string driver = "bridge";
  std::string bridge;  // the Linux bridge device
  Cidr subnet;
  IpAddr gateway;
  std::optional<Cidr> ip_range;  // where dynamic addresses come from; the subnet if unset
  int mtu = 1500;
  bool internal = false;
  bool is_default = false;
  /// Canonical driver options (keys as listed by ParseNetworkOption), as the user gave them.
  std::map<std::string, std::string> options;
  int64_t created = 0;  // unix seconds

  bool masquerade() const { return OptionBool("masquerade", true); }
  bool icc() const { return OptionBool("icc", true); }
  bool OptionBool(const std::string& key, bool dflt) const {
    auto it = options.find(key);
    return it == options.end() ? dflt : it->second == "true";
  }
};

enum class Protocol { kTcp, kUdp };

/// A published port (or range): host_ip:host_port[+i] -> container_port[+i] for i < count.
/// `host_ip` unspecified (0.0.0.0) publishes on every host address.
struct PortMapping {
  IpAddr host_ip;
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  uint16_t count = 1;
  Protocol protocol = Protocol::kTcp;
};

/// One container's attachment to one network.
struct Endpoint {
  std::string container_id;
  std::string network_id;
  std::string network_name;  // filled by queries that join the networks table
  std::string ifname;        // inside the container: eth0, eth1 ...
  IpAddr ip;
  int prefix_len = 0;
  std::string mac;
  IpAddr gateway;
  std::string host_veth;
  std::vector<std::string> aliases;
  std::vector<PortMapping> ports;  // published through this endpoint
};

enum class ContainerState { kCreated, kRunning, kExited };

/// One port of a service: VIP:port/protocol -> each backend's target_port.
struct ServicePort {
  uint16_t port = 0;
  uint16_t target_port = 0;
  Protocol protocol = Protocol::kTcp;
  bool operator==(const ServicePort&) const = default;
};

/// --publish HOSTPORT:PORT[/udp]: the service's PORT also answers on HOSTPORT of every local
/// address of the host (Kubernetes' NodePort).
struct ServicePublish {
  uint16_t host_port = 0;
  uint16_t port = 0;
  Protocol protocol = Protocol::kTcp;
  bool operator==(const ServicePublish&) const = default;
};

/// A virtual IP in front of the running containers of one network whose labels match the
/// selector (Kubernetes' ClusterIP service). Backends are not stored: they follow from the
/// endpoints and labels, so they can never disagree with the containers.
struct Service {
  std::string id;
  std::string name;
  std::string network_id;
  std::string network_name;  // filled by queries that join the networks table
  IpAddr vip;
  std::map<std::string, std::string> selector;
  std::vector<ServicePort> ports;
  bool round_robin = false;  // --balance round-robin; random otherwise
  std::vector<ServicePublish> publish;
  /// --affinity client-ip[:SECONDS]: how long a client stays with its backend; 0: none.
  uint32_t affinity = 0;
  int64_t created = 0;
};

/// A container of another cluster node on this node's cluster network, as that node
/// registered it in etcd (names/NODE/IP): what a service's selector may pick as a backend.
struct RemoteEndpoint {
  std::string network_id;
  std::string node;
  std::string name;  // the container's name
  IpAddr ip;
  std::map<std::string, std::string> labels;
  bool operator==(const RemoteEndpoint&) const = default;
};

struct Container {
  std::string id;
  std::string name;
  std::string hostname;
  /// "none", "host", "bridge", a network name, "container:<name>", or kCniMode.
  std::string mode;
  /// The netns bind mount; for container:<x> mode, x's. Empty in host mode.
  std::string netns_path;
  /// For container:<x> mode: x's id (the namespace owner).
  std::string netns_owner_id;
  int pid = 0;
  uint64_t start_time = 0;  // /proc/PID/stat field 22, guards against PID reuse
  ContainerState state = ContainerState::kCreated;
  int exit_code = 0;
  bool auto_remove = false;
  std::vector<std::string> command;
  int64_t created = 0;

  /// Attached through the CNI plugin: the runtime owns the namespace and the lifecycle.
  bool is_cni() const { return mode == kCniMode && netns_owner_id.empty() && !netns_path.empty(); }
};

const char* ToString(ContainerState s);
std::optional<ContainerState> ParseContainerState(const std::string& s);

}  // namespace berth
