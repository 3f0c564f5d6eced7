// Attaching and detaching one endpoint (a container's interface on one network), with its
// published ports. Internal to the engine; both run inside the caller's write transaction.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/rollback.h"
#include "engine/intents.h"
#include "engine/operation.h"
#include "engine/ports.h"
#include "firewall/firewall.h"
#include "net/link_ops.h"
#include "store/store.h"

namespace berth::engine {

/// What an endpoint operation works with. The firewall is reached through a function so an
/// attach without published ports never creates an nftables context.
struct EndpointDeps {
  store::Store& store;
  net::LinkOps& links;
  std::function<Result<firewall::Firewall*>()> firewall;
  firewall::StateFn state;
  /// Told of each endpoint attached or detached (Operation::Count); null: nobody.
  Operation* op = nullptr;
};

/// BR_MAX_PORTS: a Linux bridge takes at most this many ports.
inline constexpr size_t kMaxBridgePorts = 1023;

struct AttachSpec {
  const Container* container;
  const Network* network;
  std::optional<IpAddr> ip;  // --ip; allocated when unset
  std::vector<std::string> aliases;
  std::vector<PortRequest> ports;
  std::string ifname;  // eth0, eth1 ...
  bool default_route = true;
  std::optional<std::string> mac = std::nullopt;  // derived from the address when unset
};

/// The intent (intents.h) of attaching `container_id` to `network` as `ifname`: the host veth it
/// creates, and the network's bridge when the attach may create it (the default network's
/// exists only while it has endpoints).
Intent AttachIntent(std::string kind, const std::string& container_id, const Network& network,
                    const std::string& ifname);

/// Allocates the address and host ports, records them, builds the veth and adds the firewall
/// elements; every step's undo goes to `rollback`.
Result<Endpoint> AttachEndpoint(EndpointDeps& deps, Rollback& rollback, const AttachSpec& spec);

/// Removes the endpoint's ports (rows, then firewall), the veth (gone already is fine) and
/// the endpoint row.
Status DetachEndpoint(EndpointDeps& deps, const Endpoint& ep);

/// N of "ethN"; -1 for other names.
int IfIndexOf(const std::string& ifname);

firewall::NetworkRules RulesFor(const Network& net);
firewall::PortRule RuleFor(const PortMapping& p, const IpAddr& container_ip);

/// Applies a firewall delta and registers its inverse with `rollback`.
Status ApplyFirewall(EndpointDeps& deps, Rollback& rollback, const firewall::Delta& delta);

}  // namespace berth::engine
