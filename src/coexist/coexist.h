// Coexistence with the other firewall managers of a host (Docker's iptables chains, a FORWARD
// policy of DROP, firewalld's zones, br_netfilter): a packet must be accepted by every base
// chain on its hook, so an accept in berth's own nftables table is not enough when another
// manager drops by default. This module finds those managers and adds, in each one's own
// terms, the least that lets the forwarded traffic of berth's bridges through:
//   iptables (nft or legacy variant): a chain BERTH-FORWARD (-i BRIDGE / -o BRIDGE -j ACCEPT)
//     and one jump to it, commented "berth", atop DOCKER-USER (Docker's chain for other
//     software) or, without Docker, atop FORWARD; only when FORWARD would drop.
//   firewalld: each bridge bound at run time to the "trusted" zone through firewalld's D-Bus
//     API (the zone netavark's firewalld driver uses for container subnets).
// Nothing of the others' rules, chains or policies is changed. Sync() is idempotent and cheap
// when nothing changed: network create/remove call it, and berthd's reconcile calls it to put
// back what a restart of Docker or a reload of firewalld wiped.
//
// Thread-safety: none needed; each call opens and closes its own sockets.
#pragma once

#include <string>
#include <vector>

#include "core/model.h"

namespace berth::coexist {

inline constexpr char kChain[] = "BERTH-FORWARD";
inline constexpr char kComment[] = "berth";
inline constexpr char kDockerUser[] = "DOCKER-USER";
inline constexpr char kForward[] = "FORWARD";
inline constexpr char kFirewalldZone[] = "trusted";

/// What berth found of one other firewall manager and what it did about it.
struct Finding {
  std::string
      manager;  // "iptables-nft" | "iptables-legacy" | "docker" | "firewalld" | "br_netfilter"
  bool present = false;
  std::string state;   // what was seen, e.g. "FORWARD policy DROP; DOCKER-USER present"
  std::string action;  // what berth did (or would do), or why nothing
  std::string error;   // empty when the manager was handled
};

struct Report {
  std::vector<Finding> findings;
  bool ok() const;
};

/// The bridges whose forwarded traffic must pass: each network's, where it exists.
std::vector<std::string> BridgesOf(const std::vector<Network>& networks);

/// Makes the forwarded traffic of `bridges` pass every manager found; `gone` are bridges of
/// networks just removed (firewalld keeps a binding for an interface that no longer exists).
/// With no bridges, removes everything berth added. Each manager is handled on its own: one
/// that fails is reported in its Finding and the others are still done.
Report Sync(const std::vector<std::string>& bridges, const std::vector<std::string>& gone = {});

/// Sync of the bridges among `bridges` that exist, as the engine's Wiring::other_firewalls:
/// returns one line per manager that could not be handled.
std::vector<std::string> SyncBridges(const std::vector<std::string>& bridges,
                                     const std::vector<std::string>& gone);

/// Like Sync, changing nothing: what is there and what Sync would do.
Report Inspect(const std::vector<std::string>& bridges);

/// Sync, with a warning logged for each manager that could not be handled (the network
/// operation that calls it has succeeded either way).
void SyncAndWarn(const std::vector<std::string>& bridges,
                 const std::vector<std::string>& gone = {});

}  // namespace berth::coexist
