// Kernel plans: the links, addresses, routes and sysctls one operation needs, as plain data.
// Builders here are pure (unit-tested without root); Apply() in apply.h executes a plan through
// a LinkOps; Explain() prints the equivalent ip(8) commands for --dry-run and for people
// learning how container networking is built by hand (seed 001's bridge.sh).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/ip.h"
#include "core/model.h"

namespace berth::net {

/// Which network namespace an operation acts in.
enum class Where { kHost, kContainer };

struct SysctlOp {
  Where where;
  std::string key;
  std::string value;
};
/// Creates the bridge if missing; makes sure it is up with its gateway address.
struct EnsureBridgeOp {
  std::string name;
  Cidr address;  // gateway/prefix
  int mtu;
};
/// A veth pair: `host_name` (up, enslaved to `master`) in the host namespace, `peer_name`
/// created straight inside the container namespace with `peer_mac`. The peer starts down: the
/// kernel cannot open a veth before both ends are tied (veth_open: ENOTCONN), so a LinkUpOp
/// follows.
struct CreateVethOp {
  std::string host_name;
  std::string master;
  std::string peer_name;
  std::string peer_mac;
  int mtu;
};
struct AddAddressOp {
  Where where;
  std::string dev;
  Cidr address;
};
struct AddRouteOp {
  Where where;
  std::string dev;
  std::optional<Cidr> dst;  // nullopt: the default route
  IpAddr via;
  /// Take over an existing route to `dst` (the default route moving to another interface).
  bool replace = false;
};
struct LinkUpOp {
  Where where;
  std::string dev;
};
/// Hairpin mode on a bridge port: with br_netfilter, a container reaching its own published
/// port has its frame DNATed while bridged, and it must be sent back out the port it came in.
struct HairpinOp {
  std::string port;
};
/// Takes a container's host veth out of service: set down at once (it forwards nothing more),
/// deleted by ifindex in the background once the operation is over. Deleting a bridged veth
/// makes the kernel wait for three RCU grace periods (~25 ms here); nothing a user waits for
/// needs that. A missing link is not an error.
struct ReleaseLinkOp {
  std::string name;
};
/// Deleting a missing link is not an error (teardown is idempotent).
struct DeleteLinkOp {
  Where where;
  std::string name;
};

using Op = std::variant<SysctlOp, EnsureBridgeOp, CreateVethOp, AddAddressOp, AddRouteOp,
                        LinkUpOp, HairpinOp, ReleaseLinkOp, DeleteLinkOp>;

struct Plan {
  std::vector<Op> ops;
};

/// A fresh container namespace: loopback up.
Plan NewNamespacePlan();

/// The host side of a bridge network: forwarding on, the bridge up with its gateway address,
/// route_localnet so 127.0.0.1 can reach published ports, and br_netfilter's IP hooks on for
/// icc=false (the isolation inside one bridge is enforced there, as Docker does).
Plan BridgePlan(const Network& net);

/// Attaching one endpoint to a bridge network. `default_route` is false for a second network
/// (the first one keeps the default route, as in Docker) and for --internal networks.
/// Endpoints with published ports get hairpin mode on their bridge port.
Plan AttachPlan(const Network& net, const Endpoint& ep, bool default_route);

/// Detaching: releasing the host end of the veth; its deletion removes both ends and the
/// container's addresses and routes with them.
Plan DetachPlan(const Endpoint& ep);

/// The plan as shell commands; `netns_path` is where container-side commands run.
std::string Explain(const Plan& plan, const std::string& netns_path);

}  // namespace berth::net
