// Where a state root keeps things. Everything berth writes on a host lives under one root
// (default /var/lib/berth; --root / BERTH_ROOT for tests and simulated hosts).
#pragma once

#include <string>

namespace berth::engine {

inline constexpr char kDefaultRoot[] = "/var/lib/berth";

struct Paths {
  std::string root;

  std::string db() const { return root + "/berth.db"; }
  /// The default bridge's settings, like Docker's daemon.json (engine/bridge_config.h).
  std::string config() const { return root + "/config.json"; }
  /// Network namespace bind mounts, one file per container (a shared mount point).
  std::string netns_dir() const { return root + "/netns"; }
  std::string netns(const std::string& container_id) const {
    return netns_dir() + "/" + container_id;
  }
  /// hosts, resolv.conf, hostname and the log of one container.
  std::string container_dir(const std::string& id) const { return root + "/containers/" + id; }
  /// nf_tables' generation after berth's own last change (firewall/nft_generation.h).
  std::string firewall_generation() const { return root + "/firewall.generation"; }
  /// Operations in flight (engine/intents.h), one file each.
  std::string intents_dir() const { return root + "/intents"; }
  /// One line per attach and detach by the CLI and the CNI plugin, for berthd (op_log.h).
  std::string op_log() const { return root + "/ops.log"; }
  /// berthd's pid file (it also holds the one-daemon-per-root lock), API socket and log.
  std::string berthd_pid() const { return root + "/berthd.pid"; }
  std::string berthd_socket() const { return root + "/berthd.sock"; }
  std::string berthd_log() const { return root + "/berthd.log"; }
  /// This host's cluster membership (cluster/local.h); berthd runs the agent while it exists.
  std::string cluster() const { return root + "/cluster.json"; }
  /// Written by the cluster agent while this node must not serve the cluster network
  /// (cluster/local.h: FenceRecord).
  std::string cluster_fenced() const { return root + "/cluster.fenced"; }
};

}  // namespace berth::engine
