// The cluster agent: what berthd runs for a node that joined (ROOT/cluster.json), on threads of
// its own.
//
// - Setup, retried with backoff until it succeeds: read the cluster config, create the VXLAN
//   device (vxlan and auto backends), make sure etcd still gives this node its subnet (Claim:
//   fencing) and publish the VTEP MAC.
// - Heartbeat: alive/NAME on an etcd lease of kHeartbeatTtl seconds, refreshed every
//   kHeartbeatEveryMs (a new lease when it expired during an outage).
// - Data plane: lists everything under the prefix, then watches it from the next revision;
//   every change of a node record programs what changed for the peers (net::ApplyChanges:
//   the cost of one event does not grow with the cluster); a relist reconciles them all
//   (net::Apply: what is right is not touched). A compacted watch re-lists; an etcd error reconnects with backoff
//   and leaves what is programmed alone, so traffic between nodes survives an etcd outage.
// - Names across hosts (agent_names.cc): berthd hands it this node's containers on the
//   cluster network (SetLocalNames); a thread of its own keeps names/NODE/IP in etcd in line
//   with them, again after an outage. Other nodes' names arrive through the same watch and
//   are kept in memory (RemoteNames), so berthd answers without an etcd round trip.
// - Fencing: when etcd says this node's subnet is held by another node (or this node was
//   removed: the tombstone removed/NAME), the agent withdraws its routes to peers, stops
//   serving and says why in its status, its log and ROOT/cluster.fenced (the engine refuses
//   attachments to the cluster network while it exists), loudly, instead of sharing a subnet.
//   A removal is sticky: that node never claims a subnet again until it leaves.
// - A wiped or restored etcd (its subnet key and node record both gone, no tombstone): the
//   agent waits for `berth cluster init` if the config went too, then claims the subnet its
//   cluster network uses again (the claim transaction of a join, so of two claimants one wins
//   and the other is fenced) and registers its record and names again. Routes to the peers it
//   knew stay meanwhile (kStaleGraceMs), so traffic never stops for this.
// - Repair: on every rtnetlink notification of a route, neighbour or link change made by
//   somebody else (debounced; net/kernel_events.h: not the agent's own writes) and every
//   kRepairEveryMs, the peers last programmed are applied again (a diff: cheap when
//   nothing changed) and the VXLAN device is made again when it went, so an `ip route del` or
//   `ip link del` by hand is undone at once. Routes of others into a peer's subnet are
//   reported (status conflicts), never deleted.
//
// Stopping the agent (berthd stops or restarts) leaves routes, the device and the heartbeat
// lease alone: a restart must cause no blip in traffic.
//
// Thread-safe: Status() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
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
#include "core/model.h"
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
  std::vector<NodeInfo> nodes;  // the nodes last known (`node ls` while etcd is away)
  // Routes berth does not own into a peer's subnet (left alone: not ours to delete), and what
  // the repair could not program: "10.244.3.0/25 (proto 4) shadows peer h3's 10.244.3.0/24".
  std::vector<std::string> conflicts;
};

/// A container's names on the cluster network, as every node's berthd serves them.
struct NameRecord {
  std::string node;  // who registered it
  IpAddr ip;
  std::vector<std::string> names;  // container name first, then aliases and hostname
  std::map<std::string, std::string> labels;  // what service selectors match (absent in
                                               // records of older berths: none)
  bool operator==(const NameRecord&) const = default;
};

class Agent {
 public:
  /// Starts the agent's threads. Never fails because etcd is down: it retries.
  /// `names_changed` is called (on an agent thread; it must not block) whenever the names
  /// registered by other nodes changed: berthd rebuilds its DNS table then.
  /// `root`: where the fence file goes (FencePath); empty: nowhere.
  static std::unique_ptr<Agent> Start(LocalState local,
                                      std::function<void()> names_changed = {},
                                      std::string root = {});
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
  /// The cluster's services (agent_services.cc, cluster/services.h), from memory; nullopt
  /// until etcd was listed once (berthd must not take "none known yet" for "none").
  /// `names_changed` is called when they change too.
  std::optional<std::vector<Service>> ClusterServices() const;
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
  void OnServiceEvent(const etcd::WatchEvent& ev, bool* changed);    // agent_services.cc
  void RepairMain();
  /// After a relist: claims this node's subnet again when etcd lost it, or fences.
  berth::Status CheckMembership(bool tombstone);
  /// Programs the peers of nodes_: only what changed since the last apply, or (`full`, after
  /// a relist) a reconcile of everything against what the kernel holds.
  void Reprogram(bool full = false);
  void Fence(const Error& e, bool removed = false);
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
  std::set<std::string> tombstones_;            // names removed with `node rm`
  bool recheck_ = false;  // this node's record or subnet key went: list and decide again
  // The peers known before etcd was wiped or restored: their routes stay until they claimed
  // their subnets again, or until stale_until_.
  std::map<std::string, NodeInfo> stale_;
  std::chrono::steady_clock::time_point stale_until_{};
  std::string root_;
  std::atomic<bool> removed_{false};  // sticky: removed with `node rm`
  std::atomic<bool> names_resync_{false};  // etcd lost our names: read back and put again
  bool beat_now_ = false;  // guarded by sleep_mu_: claimed again, the heartbeat goes at once

  // Programming the kernel: the main thread, Fence and the repair thread, one at a time.
  std::mutex apply_mu_;
  std::vector<net::Peer> applied_;         // guarded by apply_mu_: last programmed
  bool have_applied_ = false;              // guarded by apply_mu_
  std::optional<net::VxlanSpec> vxlan_;    // guarded by apply_mu_: the device, when vxlan
  std::thread repair_;

  std::function<void()> names_changed_;
  std::thread names_;
  bool names_dirty_ = false;  // guarded by sleep_mu_: SetLocalNames wakes the names thread

  mutable std::mutex mu_;
  AgentStatus status_;  // guarded by mu_
  std::map<std::string, std::string> local_names_;   // guarded by mu_: key -> value wanted
  std::map<std::string, NameRecord> remote_names_;   // guarded by mu_: by key
  std::map<std::string, Service> services_;          // guarded by mu_: by key
  bool services_listed_ = false;                     // guarded by mu_
  // Names thread only: what etcd holds under names/SELF/ (unknown after an error).
  std::optional<std::map<std::string, std::string>> registered_;
  std::atomic<bool> heartbeat_armed_{false};  // the main thread set up: the heartbeat may run
};

}  // namespace berth::cluster
