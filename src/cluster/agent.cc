#include "cluster/agent.h"

#include <net/if.h>

#include <algorithm>
#include <ctime>

#include "cluster/peers.h"
#include "cluster/services.h"
#include "core/log.h"
#include "net/kernel_events.h"
#include "net/nl_link_ops.h"
#include "net/observe.h"

namespace berth::cluster {

namespace {

constexpr int kBackoffFirstMs = 200;
constexpr int kBackoffMaxMs = 5000;
// etcd 3.4 sends a quiet watch a progress notification every 10 minutes: a watch that heard
// nothing for longer is on an etcd that hangs with its connection open: the session ends and
// the agent lists and watches again.
constexpr int kWatchIdleMs = 11 * 60 * 1000;
// How often the repair thread programs the kernel again (undoing changes made by hand).
constexpr int kRepairEveryMs = 2000;
// ... and at once (after kDebounceMs of quiet) when the kernel says routes, neighbours or
// links changed; kStopPollMs bounds how long Stop waits for the repair thread.
constexpr int kDebounceMs = 50;
constexpr int kStopPollMs = 200;
// How long routes to the peers known before etcd was wiped stay while they claim again.
constexpr int kStaleGraceMs = 120 * 1000;

bool StartsWith(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

// Routes of others (any protocol but berth's) into a peer's subnet: said, never deleted.
std::vector<std::string> RouteConflicts(const std::vector<net::Peer>& peers) {
  std::vector<std::string> out;
  if (peers.empty()) return out;
  auto ops = net::NlLinkOps::Open();
  if (!ops.ok()) return out;
  auto routes = (*ops)->Routes(net::Where::kHost);
  if (!routes.ok()) return out;
  for (const net::RouteInfo& r : *routes) {
    if (!r.dst || r.protocol == net::kRouteProtocol) continue;
    for (const net::Peer& p : peers) {
      if (!p.subnet.Contains(*r.dst)) continue;
      out.push_back(r.dst->ToString() + " (proto " + std::to_string(r.protocol) +
                    ", not berth's) shadows peer " + p.node + "'s " + p.subnet.ToString());
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<Agent> Agent::Start(LocalState local, std::function<void()> names_changed,
                                    std::string root) {
  std::unique_ptr<Agent> a(new Agent(std::move(local)));
  a->names_changed_ = std::move(names_changed);
  a->root_ = std::move(root);
  if (!a->root_.empty()) {
    auto fence = ReadFence(a->root_);
    if (fence && fence->removed) a->removed_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(a->mu_);
    a->status_.node = a->local_.node;
    a->status_.subnet = a->local_.subnet.ToString();
  }
  a->main_ = std::thread([p = a.get()] { p->Main(); });
  return a;
}

Agent::~Agent() { Stop(); }

void Agent::Stop() {
  {
    std::lock_guard<std::mutex> lock(sleep_mu_);
    stop_ = true;
  }
  sleep_cv_.notify_all();
  if (main_.joinable()) main_.join();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (names_.joinable()) names_.join();
  if (repair_.joinable()) repair_.join();
}

AgentStatus Agent::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

bool Agent::SleepFor(int ms) {
  std::unique_lock<std::mutex> lock(sleep_mu_);
  sleep_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
  return !stop_;
}

void Agent::SetError(const Error& e) {
  std::lock_guard<std::mutex> lock(mu_);
  status_.last_error = e.message();
  status_.ready = false;
  // Any other error is an answer from etcd (or comes after one): it is reachable.
  status_.etcd_reachable = e.code() != Code::kUnavailable;
}

void Agent::Main() {
  int backoff = kBackoffFirstMs;
  while (!stop_) {
    berth::Status st = Session();
    if (stop_) break;
    if (st.ok()) {  // a compacted watch: list again at once
      backoff = kBackoffFirstMs;
      continue;
    }
    SetError(st.error());
    log::Warn("cluster agent: " + st.error().message(),
              {{"retry_ms", std::to_string(backoff)}});
    if (!SleepFor(backoff)) break;
    backoff = std::min(backoff * 2, kBackoffMaxMs);
  }
}

berth::Status Agent::Session() {
  if (!client_) {
    etcd::Options options = local_.etcd;
    options.watch_idle_ms = kWatchIdleMs;
    BERTH_ASSIGN_OR_RETURN(client_, etcd::Client::Open(std::move(options)));
  }
  if (!set_up_) BERTH_TRY(Setup());
  BERTH_TRY(Relist());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.fenced) return Error::Exists(status_.last_error);
  }
  int64_t from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = status_.revision + 1;
  }
  etcd::WatchEnd end;
  berth::Status st = client_->Watch(
      "", from,
      [this](int64_t revision, const std::vector<etcd::WatchEvent>& events) {
        bool nodes_changed = false, names_changed = false;
        for (const auto& ev : events) OnEvent(ev, &nodes_changed, &names_changed);
        {
          // Before berthd hears of the change: what it reads then is at least this revision
          // (ClusterServicesAt).
          std::lock_guard<std::mutex> lock(mu_);
          status_.revision = revision;
          status_.etcd_reachable = true;
        }
        if (names_changed && names_changed_) names_changed_();
        if (nodes_changed ||
            (!stale_.empty() && std::chrono::steady_clock::now() >= stale_until_)) {
          Reprogram();
        }
        std::lock_guard<std::mutex> lock(mu_);
        return !stop_ && !status_.fenced && !recheck_;
      },
      stop_, &end);
  if (recheck_) {  // our record or subnet key went: list, then claim again or fence
    recheck_ = false;
    return Ok();
  }
  if (!st.ok() && st.error().code() == Code::kNotFound) {
    log::Info("cluster agent: watch compacted, listing again",
              {{"compact_revision", std::to_string(end.compact_revision)}});
    return Ok();
  }
  if (st.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.fenced) return Error::Exists(status_.last_error);
    if (!stop_) return Error::Unavailable("etcd watch ended");
  }
  return st;
}

berth::Status Agent::Setup() {
  BERTH_ASSIGN_OR_RETURN(config_, Load(*client_));
  BERTH_ASSIGN_OR_RETURN(net::Underlay underlay, net::FindUnderlay(local_.node_ip));
  underlay_dev_ = local_.iface.empty() ? underlay.dev : local_.iface;
  NodeInfo self;
  self.name = local_.node;
  self.node_ip = local_.node_ip;
  self.subnet = local_.subnet;
  self.backend = BackendName(config_.backend);
  self.host_id = local_.host_id;
  if (config_.backend != Backend::kHostGw) {
    net::VxlanSpec spec;
    spec.name = kVxlanDevice;
    spec.vni = config_.vni;
    spec.port = config_.port;
    spec.local = local_.node_ip;
    spec.underlay_dev = underlay_dev_;
    spec.mtu = underlay.mtu - net::kVxlanOverhead;
    spec.vtep_address = Cidr(local_.subnet.Network(), 32);
    BERTH_ASSIGN_OR_RETURN(self.vtep_mac, net::EnsureVxlan(spec));
    self.mtu = spec.mtu;
    std::lock_guard<std::mutex> lock(apply_mu_);
    vxlan_ = spec;
  } else {
    self.mtu = underlay.mtu;
  }
  if (local_.mtu > 0) self.mtu = local_.mtu;
  BERTH_ASSIGN_OR_RETURN(etcd::RangeResult tomb, client_->Get(RemovedKey(local_.node)));
  if (removed_ || !tomb.kvs.empty()) {
    Fence(RemovedError(local_.node), /*removed=*/true);
    return RemovedError(local_.node);
  }
  auto claimed = Claim(*client_, config_, self);
  if (!claimed.ok()) {
    if (claimed.error().code() == Code::kExists) Fence(claimed.error());
    return std::move(claimed).error();
  }
  self_ = std::move(*claimed);
  set_up_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.etcd_reachable = true;
    status_.fenced = false;
  }
  log::Info("cluster agent: joined", {{"node", self_.name},
                                      {"subnet", self_.subnet.ToString()},
                                      {"backend", self_.backend},
                                      {"vtep_mac", self_.vtep_mac}});
  if (!heartbeat_.joinable()) heartbeat_ = std::thread([this] { HeartbeatMain(); });
  if (!names_.joinable()) names_ = std::thread([this] { NamesMain(); });
  if (!repair_.joinable()) repair_ = std::thread([this] { RepairMain(); });
  return Ok();
}

berth::Status Agent::Relist() {
  BERTH_ASSIGN_OR_RETURN(etcd::RangeResult all, client_->GetPrefix(""));
  int64_t last_revision;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_revision = status_.revision;
  }
  std::optional<ClusterConfig> config;
  for (const auto& kv : all.kvs) {
    if (kv.key != kConfigKey) continue;
    auto c = ParseConfig(kv.value);
    if (c.ok()) config = *c;
  }
  // A store younger than the one this agent watched, or without a config: etcd was wiped or
  // restored. The peers known until now keep their routes while they claim again.
  if (set_up_ && (all.revision < last_revision || !config)) {
    for (const auto& [name, n] : nodes_) {
      if (name != self_.name) stale_[name] = n;
    }
    stale_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStaleGraceMs);
  }
  nodes_.clear();
  holders_.clear();
  tombstones_.clear();
  // Names and services are replaced in place, not cleared first: berthd may read them at any
  // moment, and an empty list in between would take every remote backend and cluster service
  // away from this node until the listing is processed.
  std::set<std::string> listed;
  for (const auto& kv : all.kvs) {
    listed.insert(kv.key);
    bool ignored, names;
    OnEvent(etcd::WatchEvent{etcd::WatchEvent::Type::kPut, kv}, &ignored, &names);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(remote_names_, [&](const auto& e) { return !listed.count(e.first); });
    std::erase_if(services_, [&](const auto& e) { return !listed.count(e.first); });
    services_listed_ = true;
    // Before berthd hears of the change: what it reads then is at least this revision.
    status_.revision = all.revision;
    status_.etcd_reachable = true;
  }
  if (names_changed_) names_changed_();
  if (!config) {
    return Error::NotFound(
        "no cluster config in etcd (wiped or restored?): waiting for `berth cluster init`; "
        "routes to peers stay");
  }
  config_ = *config;
  BERTH_TRY(CheckMembership(tombstones_.count(self_.name) > 0));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.fenced) return Ok();
    status_.ready = true;
    status_.last_error.clear();
  }
  Reprogram(/*full=*/true);
  return Ok();
}

berth::Status Agent::CheckMembership(bool tombstone) {
  // Fencing on every (re)connect: the store may have been restored from a backup meanwhile.
  if (removed_ || tombstone) {
    Fence(RemovedError(self_.name), /*removed=*/true);
    return Ok();
  }
  auto me = nodes_.find(self_.name);
  if (me != nodes_.end() && !me->second.host_id.empty() && !self_.host_id.empty() &&
      me->second.host_id != self_.host_id) {
    Fence(OtherHost(me->second, self_.name));
    return Ok();
  }
  auto held = holders_.find(SubnetKey(self_.subnet));
  if (held != holders_.end() && held->second != self_.name) {
    Fence(HeldByOther(self_.subnet, held->second, self_.name));
    return Ok();
  }
  if (held == holders_.end() || !nodes_.count(self_.name)) {
    // etcd lost this node's record or subnet key (wiped, restored, deleted by hand) and no
    // tombstone says it was removed: claim the subnet the cluster network uses, as a join
    // does. Of two nodes claiming one subnet, one wins; the other is fenced.
    auto claimed = Claim(*client_, config_, self_);
    if (!claimed.ok()) {
      if (claimed.error().code() != Code::kExists) return std::move(claimed).error();
      Fence(claimed.error());
      return Ok();
    }
    self_ = std::move(*claimed);
    nodes_[self_.name] = self_;
    holders_[SubnetKey(self_.subnet)] = self_.name;
    log::Warn("cluster agent: etcd had lost this node's record: claimed subnet " +
                  self_.subnet.ToString() + " again",
              {{"node", self_.name}});
    names_resync_ = true;
    {
      std::lock_guard<std::mutex> lock(sleep_mu_);
      names_dirty_ = true;
      beat_now_ = true;
    }
    sleep_cv_.notify_all();
  }
  bool was_fenced;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_fenced = status_.fenced;
    status_.fenced = false;
  }
  if (!root_.empty()) (void)RemoveFence(root_);  // also one a previous berthd left
  if (was_fenced) {
    // Someone repaired etcd (the subnet names this node again): serve again.
    log::Warn("cluster agent: subnet " + self_.subnet.ToString() +
              " is this node's again: serving the cluster network");
  }
  return Ok();
}

void Agent::OnEvent(const etcd::WatchEvent& ev, bool* nodes_changed, bool* names_changed) {
  const std::string& key = ev.kv.key;
  bool put = ev.type == etcd::WatchEvent::Type::kPut;
  if (StartsWith(key, kNamesPrefix)) {
    OnNameEvent(ev, names_changed);
    return;
  }
  if (StartsWith(key, kServicesPrefix)) {
    OnServiceEvent(ev, names_changed);
    return;
  }
  if (StartsWith(key, kNodesPrefix)) {
    std::string name = key.substr(std::string_view(kNodesPrefix).size());
    if (put) {
      auto n = ParseNode(ev.kv.value);
      if (!n.ok()) {
        log::Warn("cluster agent: ignoring a bad node record",
                  {{"key", key}, {"error", n.error().message()}});
        return;
      }
      if (name == self_.name && set_up_ && !n->host_id.empty() && !self_.host_id.empty() &&
          n->host_id != self_.host_id) {
        Fence(OtherHost(*n, self_.name));  // another host joined with our name
      }
      auto it = nodes_.find(name);
      if (it != nodes_.end() && it->second == *n) return;
      nodes_[name] = std::move(*n);
    } else {
      if (!nodes_.erase(name)) return;
      // Removed (a tombstone comes in the same transaction) or lost: Relist decides.
      if (name == self_.name && set_up_) recheck_ = true;
    }
    *nodes_changed = true;
  } else if (StartsWith(key, kSubnetsPrefix)) {
    if (put) {
      holders_[key] = ev.kv.value;
    } else {
      holders_.erase(key);
    }
    if (set_up_ && key == SubnetKey(self_.subnet)) {
      if (!put) {
        recheck_ = true;
      } else if (ev.kv.value != self_.name) {
        Fence(HeldByOther(self_.subnet, ev.kv.value, self_.name));
      }
    }
  } else if (StartsWith(key, kRemovedPrefix)) {
    std::string name = key.substr(std::string_view(kRemovedPrefix).size());
    if (put) {
      tombstones_.insert(name);
    } else {
      tombstones_.erase(name);
    }
    if (put && set_up_ && name == self_.name) Fence(RemovedError(self_.name), /*removed=*/true);
  }
}

void Agent::Reprogram(bool full) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.fenced) return;
  }
  std::vector<NodeInfo> nodes;
  for (const auto& [name, n] : nodes_) nodes.push_back(n);
  if (std::chrono::steady_clock::now() >= stale_until_) stale_.clear();
  for (const auto& [name, n] : stale_) {
    // Until it is back, or its subnet went to another node, or it was removed.
    if (nodes_.count(name) || holders_.count(SubnetKey(n.subnet)) || tombstones_.count(name)) {
      continue;
    }
    nodes.push_back(n);
  }
  // The underlay's subnets are read once, not once per peer (auto backend).
  std::optional<Result<std::vector<Cidr>>> underlay;
  auto on_link = [&](const IpAddr& ip) -> Result<bool> {
    if (!underlay) underlay = net::LinkSubnets(underlay_dev_);
    if (!underlay->ok()) return underlay->error();
    return std::any_of((*underlay)->begin(), (*underlay)->end(),
                       [&](const Cidr& s) { return s.Contains(ip); });
  };
  std::vector<std::string> skipped;
  auto peers = PeersOf(self_.name, nodes, config_.backend, on_link, &skipped);
  if (!peers.ok()) {
    SetError(peers.error().Wrap("peers"));
    return;
  }
  std::unique_lock<std::mutex> apply_lock(apply_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.fenced) return;  // fenced meanwhile (by the repair thread's view: never)
  }
  // A node event writes only what changed since the last apply: applied_ is what the kernel
  // holds (changes by hand are the repair thread's), so the cost of one event does not grow
  // with the number of peers. A relist, and any failure of the short way (an entry changed
  // by hand meanwhile), run the full reconcile, which reads the kernel.
  Result<net::ApplyStats> stats = Error::Internal("not applied");
  if (!full && have_applied_) {
    stats = net::ApplyChanges(kVxlanDevice, applied_, *peers);
    if (!stats.ok()) {
      log::Info("cluster agent: programming the changed peers failed, reconciling them all",
                {{"error", stats.error().message()}});
    }
  }
  if (!stats.ok()) stats = net::Apply(kVxlanDevice, *peers);
  if (stats.ok()) {
    applied_ = *peers;
    have_applied_ = true;
  }
  apply_lock.unlock();
  std::lock_guard<std::mutex> lock(mu_);
  if (!stats.ok()) {
    status_.last_error = stats.error().Wrap("program peers").message();
    log::Error("cluster agent: " + status_.last_error);
    return;
  }
  status_.peers = static_cast<int>(peers->size());
  ++status_.applies;
  status_.nodes = nodes;
  if (stats->added || stats->replaced || stats->removed) {
    log::Info("cluster agent: peers programmed",
              {{"peers", std::to_string(peers->size())},
               {"added", std::to_string(stats->added)},
               {"replaced", std::to_string(stats->replaced)},
               {"removed", std::to_string(stats->removed)},
               {"unchanged", std::to_string(stats->unchanged)}});
  }
  for (const auto& s : skipped) log::Info("cluster agent: peer not programmed yet: " + s);
}

void Agent::Fence(const Error& e, bool removed) {
  if (removed) removed_ = true;
  if (!root_.empty()) {
    auto st = WriteFence(root_, FenceRecord{e.message(), removed});
    if (!st.ok()) log::Error("cluster agent: " + st.error().message());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.fenced) return;
    status_.fenced = true;
    status_.ready = false;
    status_.last_error = e.message();
  }
  log::Error("cluster agent: FENCED: " + e.message(), {{"details", e.details()}});
  // Stop serving: no routes to peers that would carry traffic from a subnet we may not own.
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  applied_.clear();
  have_applied_ = false;
  auto st = net::Apply(kVxlanDevice, {});
  if (!st.ok()) log::Error("cluster agent: withdraw peers: " + st.error().message());
}

void Agent::HeartbeatMain() {
  int64_t lease = 0;
  const std::string key = AliveKey(self_.name);
  while (!stop_) {
    int wait = kHeartbeatEveryMs;
    berth::Status st = Ok();
    if (removed_) {  // a removed node is not alive in the cluster: let the lease expire
      if (!SleepFor(1000)) break;
      continue;
    }
    if (lease != 0) {
      st = client_->KeepAlive(lease);
      if (!st.ok() && st.error().code() == Code::kNotFound) lease = 0;  // expired meanwhile
      // The value is the last heartbeat's time: `node ls` shows it as last_seen.
      if (st.ok()) {
        auto put = client_->Put(key, std::to_string(std::time(nullptr)), lease);
        if (!put.ok()) st = std::move(put).error();
      }
    }
    if (lease == 0) {
      auto granted = client_->Grant(kHeartbeatTtl);
      if (granted.ok()) {
        auto put = client_->Put(key, std::to_string(std::time(nullptr)), *granted);
        if (put.ok()) {
          lease = *granted;
          st = Ok();
        } else {
          (void)client_->Revoke(*granted);
          st = std::move(put).error();
        }
      } else {
        st = std::move(granted).error();
      }
    }
    if (!st.ok()) {
      wait = 1000;  // etcd is away: try again soon so the node is ready again soon after
      log::Debug("cluster agent: heartbeat: " + st.error().message());
    }
    std::unique_lock<std::mutex> lock(sleep_mu_);
    sleep_cv_.wait_for(lock, std::chrono::milliseconds(wait),
                       [this] { return stop_.load() || beat_now_; });
    beat_now_ = false;
    if (stop_) break;
  }
}

void Agent::RepairMain() {
  // Kernel notifications make a repair immediate; the periodic pass covers what they miss.
  auto events = net::KernelEvents::Open();
  if (!events.ok()) log::Warn("cluster agent: repair on kernel events: " + events.error().message());
  auto last = std::chrono::steady_clock::now();
  while (!stop_) {
    bool changed = false;
    if (events.ok()) {
      changed = events->Wait(kStopPollMs, kDebounceMs);
    } else if (!SleepFor(kStopPollMs)) {
      break;
    }
    if (stop_) break;
    auto now = std::chrono::steady_clock::now();
    if (!changed && now - last < std::chrono::milliseconds(kRepairEveryMs)) continue;
    last = now;
    std::lock_guard<std::mutex> apply_lock(apply_mu_);
    if (!have_applied_) continue;  // fenced, or nothing programmed yet
    if (vxlan_) {
      if (::if_nametoindex(kVxlanDevice) == 0) {  // the device went (ip link del): again
        auto mac = net::EnsureVxlan(*vxlan_);
        if (!mac.ok()) {
          log::Error("cluster agent: make " + std::string(kVxlanDevice) + " again: " +
                     mac.error().message());
          continue;
        }
        log::Warn("cluster agent: " + std::string(kVxlanDevice) + " was gone: made it again");
      }
    }
    auto stats = net::Apply(kVxlanDevice, applied_);
    std::vector<std::string> conflicts = RouteConflicts(applied_);
    if (!stats.ok()) conflicts.push_back("program peers: " + stats.error().message());
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (conflicts != status_.conflicts) {
        for (const auto& c : conflicts) log::Warn("cluster agent: route conflict: " + c);
        status_.conflicts = conflicts;
      }
    }
    if (!stats.ok()) continue;
    if (stats->added || stats->replaced || stats->removed) {
      log::Warn("cluster agent: kernel state changed by hand: programmed the peers again",
                {{"added", std::to_string(stats->added)},
                 {"replaced", std::to_string(stats->replaced)},
                 {"removed", std::to_string(stats->removed)}});
    }
  }
}

}  // namespace berth::cluster
