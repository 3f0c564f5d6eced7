#include "cluster/agent.h"

#include <algorithm>
#include <ctime>

#include "cluster/peers.h"
#include "core/log.h"

namespace berth::cluster {

namespace {

constexpr int kBackoffFirstMs = 200;
constexpr int kBackoffMaxMs = 5000;

bool StartsWith(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

std::unique_ptr<Agent> Agent::Start(LocalState local, std::function<void()> names_changed) {
  std::unique_ptr<Agent> a(new Agent(std::move(local)));
  a->names_changed_ = std::move(names_changed);
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
  if (e.code() == Code::kUnavailable) status_.etcd_reachable = false;
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
    BERTH_ASSIGN_OR_RETURN(client_, etcd::Client::Open(local_.etcd));
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
  berth::Status st = client_->Watch(
      "", from,
      [this](int64_t revision, const std::vector<etcd::WatchEvent>& events) {
        bool nodes_changed = false, names_changed = false;
        for (const auto& ev : events) OnEvent(ev, &nodes_changed, &names_changed);
        if (names_changed && names_changed_) names_changed_();
        {
          std::lock_guard<std::mutex> lock(mu_);
          status_.revision = revision;
          status_.etcd_reachable = true;
        }
        if (nodes_changed) Reprogram();
        std::lock_guard<std::mutex> lock(mu_);
        return !stop_ && !status_.fenced;
      },
      stop_);
  if (!st.ok() && st.error().code() == Code::kNotFound) {
    log::Info("cluster agent: watch compacted, listing again",
              {{"compact_revision", std::to_string(client_->CompactRevision())}});
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
  } else {
    self.mtu = underlay.mtu;
  }
  if (local_.mtu > 0) self.mtu = local_.mtu;
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
  return Ok();
}

berth::Status Agent::Relist() {
  BERTH_ASSIGN_OR_RETURN(etcd::RangeResult all, client_->GetPrefix(""));
  nodes_.clear();
  holders_.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    remote_names_.clear();
  }
  for (const auto& kv : all.kvs) {
    bool ignored, names;
    OnEvent(etcd::WatchEvent{etcd::WatchEvent::Type::kPut, kv}, &ignored, &names);
  }
  if (names_changed_) names_changed_();
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.revision = all.revision;
    status_.etcd_reachable = true;
  }
  // Fencing on every (re)connect: the store may have been restored from a backup meanwhile.
  auto held = holders_.find(SubnetKey(self_.subnet));
  if (held == holders_.end() || held->second != self_.name || !nodes_.count(self_.name)) {
    berth::Status st = CheckHeld(*client_, self_);
    if (st.ok()) st = Publish(*client_, self_);  // our record was deleted: put it back
    if (!st.ok()) {
      Fence(st.error());
      return Ok();
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.ready = true;
    status_.last_error.clear();
    if (status_.fenced) {
      // Someone repaired etcd (the subnet names this node again): serve again.
      status_.fenced = false;
      log::Warn("cluster agent: subnet " + self_.subnet.ToString() +
                " is this node's again: serving the cluster network");
    }
  }
  Reprogram();
  return Ok();
}

void Agent::OnEvent(const etcd::WatchEvent& ev, bool* nodes_changed, bool* names_changed) {
  const std::string& key = ev.kv.key;
  bool put = ev.type == etcd::WatchEvent::Type::kPut;
  if (StartsWith(key, kNamesPrefix)) {
    OnNameEvent(ev, names_changed);
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
      auto it = nodes_.find(name);
      if (it != nodes_.end() && it->second == *n) return;
      nodes_[name] = std::move(*n);
    } else {
      if (!nodes_.erase(name)) return;
      if (name == self_.name && set_up_) {
        Fence(Error::NotFound("node " + self_.name +
                              " was removed from the cluster (berth node rm): not serving the "
                              "cluster network"));
      }
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
        Fence(Error::NotFound("subnet " + self_.subnet.ToString() + " of node " + self_.name +
                              " was freed in etcd: not serving the cluster network"));
      } else if (ev.kv.value != self_.name) {
        Fence(HeldByOther(self_.subnet, ev.kv.value, self_.name));
      }
    }
  }
}

void Agent::Reprogram() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.fenced) return;
  }
  std::vector<NodeInfo> nodes;
  for (const auto& [name, n] : nodes_) nodes.push_back(n);
  std::vector<std::string> skipped;
  auto peers = PeersOf(
      self_.name, nodes, config_.backend,
      [this](const IpAddr& ip) { return net::OnLink(underlay_dev_, ip); }, &skipped);
  if (!peers.ok()) {
    SetError(peers.error().Wrap("peers"));
    return;
  }
  auto stats = net::Apply(kVxlanDevice, *peers);
  std::lock_guard<std::mutex> lock(mu_);
  if (!stats.ok()) {
    status_.last_error = stats.error().Wrap("program peers").message();
    log::Error("cluster agent: " + status_.last_error);
    return;
  }
  status_.peers = static_cast<int>(peers->size());
  ++status_.applies;
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

void Agent::Fence(const Error& e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.fenced) return;
    status_.fenced = true;
    status_.ready = false;
    status_.last_error = e.message();
  }
  log::Error("cluster agent: FENCED: " + e.message(), {{"details", e.details()}});
  // Stop serving: no routes to peers that would carry traffic from a subnet we may not own.
  auto st = net::Apply(kVxlanDevice, {});
  if (!st.ok()) log::Error("cluster agent: withdraw peers: " + st.error().message());
}

void Agent::HeartbeatMain() {
  int64_t lease = 0;
  const std::string key = AliveKey(self_.name);
  while (!stop_) {
    int wait = kHeartbeatEveryMs;
    berth::Status st = Ok();
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
    if (!SleepFor(wait)) break;
  }
}

}  // namespace berth::cluster
