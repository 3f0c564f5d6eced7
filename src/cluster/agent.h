// The cluster agent: what berthd runs for a node that joined (ROOT/cluster.json), on threads of
// its own.
//
// - Setup, retried with backoff until it succeeds: read the cluster config, create the VXLAN
//   device (vxlan and auto backends), make sure etcd still gives this node its subnet (Claim:
//   fencing) and publish the VTEP MAC.
// - Heartbeat: alive/NAME on an etcd lease of kHeartbeatTtl seconds, refreshed every
//   kHeartbeatEveryMs (a new lease when it expired during an outage).
// - Data plane: lists everything under the prefix, then watches it from the next revision;
//   every change of a node record reprograms the peers (net::Apply, a reconcile: what is
//   right is not touched). A compacted watch re-lists; an etcd error reconnects with backoff
//   and leaves what is programmed alone, so traffic between nodes survives an etcd outage.
// - Names across hosts (agent_names.cc): berthd hands it this node's containers on the
//   cluster network (SetLocalNames); a thread of its own keeps names/NODE/IP in etcd in line
//   with them, again after an outage. Other nodes' names arrive through the same watch and
//   are kept in memory (RemoteNames), so berthd answers without an etcd round trip.
// - Fencing: when etcd says this node's subnet is held by another node (or this node was
//   removed), the agent withdraws its routes to peers, stops serving and says why in its
//   status and log, loudly, instead of sharing a subnet.
//
// Stopping the agent (berthd stops or restarts) leaves routes, the device and the heartbeat
// lease alone: a restart must cause no blip in traffic.
//
// Thread-safe: Status() may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/config.h"
#include "cluster/local.h"
#include "cluster/subnets.h"
#include "etcd/client.h"
#include "net/overlay.h"

namespace berth::cluster {

struct AgentStatus {
  std::string node;
  std::string subnet;
  bool etcd_reachable = false;
  bool ready = false;   // set up, listing and watching
  bool fenced = false;  // not serving: see last_error
  std::string last_error;
  int peers = 0;        // programmed
  int64_t revision = 0; // etcd revision last seen
  int64_t applies = 0;  // how many times the peers were reprogrammed
};

/// A container's names on the cluster network, as every node's berthd serves them.
struct NameRecord {
  std::string node;  // who registered it
  IpAddr ip;
  std::vector<std::string> names;  // container name first, then aliases and hostname
  bool operator==(const NameRecord&) const = default;
};

class Agent {
 public:
  /// Starts the agent's threads. Never fails because etcd is down: it retries.
  /// `names_changed` is called (on an agent thread; it must not block) whenever the names
  /// registered by other nodes changed: berthd rebuilds its DNS table then.
  static std::unique_ptr<Agent> Start(LocalState local,
                                      std::function<void()> names_changed = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  /// Stops the threads (within about 200 ms plus one etcd request); programmed state stays.
  void Stop();
  AgentStatus Status() const;
  /// This node's containers on the cluster network: registered in etcd under
  /// names/NODE/IP (in the background, again after an outage), for the other nodes' DNS.
  void SetLocalNames(std::vector<NameRecord> records);
  /// What the other nodes registered, from memory (no etcd round trip).
  std::vector<NameRecord> RemoteNames() const;
  const LocalState& local() const { return local_; }

 private:
  explicit Agent(LocalState local) : local_(std::move(local)) {}
  void Main();
  void HeartbeatMain();
  void NamesMain();
  berth::Status SyncNames();
  berth::Status Session();
  berth::Status Setup();
  berth::Status Relist();
  void OnEvent(const etcd::WatchEvent& ev, bool* nodes_changed, bool* names_changed);
  void OnNameEvent(const etcd::WatchEvent& ev, bool* names_changed);  // agent_names.cc
  void Reprogram();
  void Fence(const Error& e);
  void SetError(const Error& e);
  /// Sleeps up to `ms`; false when stopping.
  bool SleepFor(int ms);

  const LocalState local_;
  std::unique_ptr<etcd::Client> client_;  // set before the heartbeat thread starts
  std::atomic<bool> stop_{false};
  std::thread main_, heartbeat_;
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;

  // Main thread only.
  bool set_up_ = false;
  ClusterConfig config_;
  NodeInfo self_;
  std::string underlay_dev_;
  std::map<std::string, NodeInfo> nodes_;  // by name
  std::map<std::string, std::string> holders_;  // subnet key -> node name

  std::function<void()> names_changed_;
  std::thread names_;
  bool names_dirty_ = false;  // guarded by sleep_mu_: SetLocalNames wakes the names thread

  mutable std::mutex mu_;
  AgentStatus status_;  // guarded by mu_
  std::map<std::string, std::string> local_names_;   // guarded by mu_: key -> value wanted
  std::map<std::string, NameRecord> remote_names_;   // guarded by mu_: by key
  // Names thread only: what etcd holds under names/SELF/ (unknown after an error).
  std::optional<std::map<std::string, std::string>> registered_;
  std::atomic<bool> heartbeat_armed_{false};  // the main thread set up: the heartbeat may run
};

}  // namespace berth::cluster
