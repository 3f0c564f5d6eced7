#include "daemon/berthd.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>

#include "api/pid_file.h"
#include "api/server.h"
#include "cluster/agent.h"
#include "cluster/local.h"
#include "daemon/heartbeats.h"
#include "daemon/metrics.h"
#include "daemon/op_log_reader.h"
#include "daemon/prometheus.h"
#include "diagnose/events.h"
#include "daemon/upkeep.h"
#include "core/version.h"
#include "dns/forwarder.h"
#include "dns/server.h"
#include "engine/dns.h"
#include "engine/engine.h"
#include "coexist/coexist.h"
#include "engine/wiring.h"
#include "sys/fd.h"
#include "sys/proc.h"

namespace berth::daemon {

namespace {

using nlohmann::json;


struct FileStamp {
  bool exists = false;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  struct stat st;
  FileStamp s;
  if (::stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return s;
}

// systemd readiness protocol (sd_notify(3)), without linking libsystemd.
void SdNotify(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  sys::Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return;
  ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
           reinterpret_cast<sockaddr*>(&addr),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
}

class Daemon {
 public:
  explicit Daemon(const Options& opts) : opts_(opts), paths_{opts.root} {}

  // The kernel and the other firewall managers (its reconcile keeps Docker's and firewalld's
  // chains passing berth's traffic); never a notifier: berthd does not notify itself.
  engine::Wiring Wiring() const {
    engine::Wiring w = engine::KernelWiring(paths_.root);
    w.other_firewalls = coexist::SyncBridges;
    return w;
  }

  int Run() {
    ::umask(0077);
    // No notifier: berthd never notifies itself.
    auto engine = engine::Engine::Open(paths_.root, Wiring());
    if (!engine.ok()) return Fatal("open state root", engine.error());
    engine_ = std::move(*engine);
    auto pid_file = api::PidFile::Lock(paths_.berthd_pid());
    if (!pid_file.ok()) {
      if (pid_file.error().code() == Code::kInUse) {
        log::Error("another berthd already serves this state root",
                   {{"root", paths_.root}, {"detail", pid_file.error().message()}});
        return 1;
      }
      return Fatal("pid file", pid_file.error());
    }
    pid_file_ = std::move(*pid_file);
    if (pid_file_->previous() != 0) {
      // Its berthd died without cleaning up (kill -9, a crash): nobody held the lock.
      log::Info("took over a stale pid file",
                {{"path", paths_.berthd_pid()},
                 {"previous_pid", std::to_string(pid_file_->previous())}});
    }

    // Signals are taken through a signalfd; block them before any thread starts.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    signals_ = sys::Fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_.valid()) return Fatal("signalfd", Error::System("signalfd", errno));
    cluster_names_ = sys::Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!cluster_names_.valid()) return Fatal("eventfd", Error::System("eventfd", errno));

    dns::ServerOptions so;
    so.port = opts_.port;
    so.workers = opts_.workers;
    so.forwarder.attempt_timeout_ms = opts_.upstream_timeout_ms;
    if (opts_.busy_poll_us >= 0) so.busy_poll_us = opts_.busy_poll_us;
    auto server = dns::Server::Start(so);
    if (!server.ok()) return Fatal("start DNS server", server.error());
    server_ = std::move(*server);

    // Attaches before this start are history: the counters start at zero with us.
    op_log_.SkipToEnd();
    Status st = ReloadCoalesced("startup");
    if (!st.ok()) log::Error("initial load failed", {{"error", st.error().message()}});
    if (Status api = StartApi(); !api.ok()) {
      server_->Stop();
      return Fatal("open API socket", api.error());
    }
    log::Info("started", {{"version", kVersion},
                          {"pid", std::to_string(::getpid())},
                          {"root", paths_.root},
                          {"api", paths_.berthd_socket()},
                          {"workers", std::to_string(server_->workers())}});
    SdNotify("READY=1\nMAINPID=" + std::to_string(::getpid()));
    // After the API is up: a berth that started us waits for it, not for the reconcile.
    {
      std::lock_guard<std::mutex> lock(control_mu_);  // the API threads read its counters
      upkeep_.emplace(engine_.get(), std::chrono::seconds(opts_.reconcile_interval_s));
      upkeep_->Start();
    }
    int rc = Loop();
    SdNotify("STOPPING=1");
    {
      std::lock_guard<std::mutex> lock(control_mu_);
      heartbeats_.reset();
      agent_.reset();  // its routes stay: a restart must not blip traffic between hosts
    }
    api_->Stop();  // before the DNS server: its handlers use it
    if (metrics_api_) metrics_api_->Stop();
    server_->Stop();
    ::unlink(paths_.berthd_socket().c_str());
    ::unlink(paths_.berthd_pid().c_str());
    log::Info("stopped", {{"generation", std::to_string(generation_)}});
    return rc;
  }

 private:
  int Fatal(std::string_view what, const Error& e) {
    log::Error(what, {{"error", e.message()}});
    return 1;
  }

  Status StartApi() {
    BERTH_ASSIGN_OR_RETURN(sys::Fd fd, api::ListenUnix(paths_.berthd_socket(), 0600, 128));
    api::Routes routes;
    routes.Add("GET", "/v1/status", [this](const api::HttpRequest&) {
      return api::HttpResponse{200, StatusJson().dump() + "\n"};
    });
    routes.Add("POST", "/v1/reload", [this](const api::HttpRequest&) {
      Status st = ReloadCoalesced("api");
      if (!st.ok()) return api::JsonError(500, st.error().message());
      std::lock_guard<std::mutex> lock(control_mu_);
      json body = {{"generation", generation_}, {"records", server_->table()->record_count()}};
      return api::HttpResponse{200, body.dump() + "\n"};
    });
    routes.Add("GET", "/metrics", [this](const api::HttpRequest&) { return MetricsResponse(); });
    BERTH_ASSIGN_OR_RETURN(api_, api::Server::Start(std::move(fd), std::move(routes)));
    if (!opts_.metrics_listen.empty()) {
      BERTH_ASSIGN_OR_RETURN(sys::Fd tcp, ListenTcp(opts_.metrics_listen));
      api::Routes only;
      only.Add("GET", "/metrics", [this](const api::HttpRequest&) { return MetricsResponse(); });
      BERTH_ASSIGN_OR_RETURN(metrics_api_, api::Server::Start(std::move(tcp), std::move(only)));
    }
    return Ok();
  }

  api::HttpResponse MetricsResponse() {
    std::lock_guard<std::mutex> lock(control_mu_);
    MetricsInputs in;
    in.dns = server_->Stats();
    if (upkeep_) in.upkeep = upkeep_->stats();
    in.reloads = generation_;
    in.dns_records = server_->table()->record_count();
    auto usage = AddressUsage(engine_->store());
    if (usage.ok()) in.networks = std::move(*usage);
    metrics_.ObserveOps(op_log_.ReadNew());  // exact at the scrape, a failed attach included
    if (agent_) {
      cluster::AgentStatus a = agent_->Status();
      in.cluster = ClusterGauges{a.etcd_reachable, peers_ready_.value_or(a.peers), a.fenced};
    }
    api::HttpResponse r{200, metrics_.Render(in)};
    r.content_type = PromText::kContentType;
    return r;
  }

  int Loop() {
    for (;;) {
      pollfd fds[3] = {{signals_.get(), POLLIN, 0}, {upkeep_->fd(), POLLIN, 0},
                       {cluster_names_.get(), POLLIN, 0}};
      int n = ::poll(fds, 3, upkeep_->MsUntilDue(kPollMs));
      if (n > 0 && (fds[2].revents & POLLIN)) {
        uint64_t count;
        (void)!::read(cluster_names_.get(), &count, sizeof(count));
        (void)ReloadCoalesced("cluster names");
      }
      if (n < 0 && errno != EINTR) {
        log::Error("poll failed", {{"error", std::strerror(errno)}});
        return 1;
      }
      if (n > 0 && (fds[0].revents & POLLIN)) {
        signalfd_siginfo si;
        while (::read(signals_.get(), &si, sizeof(si)) == sizeof(si)) {
          if (si.ssi_signo == SIGHUP) {
            {
              std::lock_guard<std::mutex> lock(control_mu_);
              resolv_stamp_ = {};  // re-read it too
            }
            (void)ReloadCoalesced("SIGHUP");
            continue;
          }
          log::Info("stopping", {{"signal", strsignal(static_cast<int>(si.ssi_signo))}});
          return 0;
        }
      }
      // Reconcile and firewall restores take the store's write lock; under control_mu_ as
      // every other use of the engine here.
      {
        std::lock_guard<std::mutex> lock(control_mu_);
        if (n > 0 && (fds[1].revents & (POLLIN | POLLERR))) upkeep_->OnEvents();
        upkeep_->RunDue();
        if (upkeep_->stats().firewall_restores > restores_seen_) {
          restores_seen_ = upkeep_->stats().firewall_restores;
          (void)events_.Record({0, "firewall", "restore", "berth", {}});
        }
      }
      // Safety net: changes committed without a reload request (a berth that could not reach
      // us, a crash between commit and notify), a new resolv.conf, listeners still missing.
      bool changed;
      {
        std::lock_guard<std::mutex> lock(control_mu_);
        SyncAgent();
        ObserveCluster();
        changed = DbStamp() != db_stamp_;
        if (!changed && (Stamp(opts_.resolv_conf) != resolv_stamp_ || !failed_listeners_.empty())) {
          RefreshUpstreams();
          if (!failed_listeners_.empty()) ApplyListeners(false);
        }
      }
      if (changed) (void)ReloadCoalesced("store changed");
    }
  }

  // Reload requests arrive on the API threads and the main loop, often in bursts (a container
  // start notifies, a second berth too). Each caller waits for a reload that started after it
  // asked, so it sees its change live; callers that asked while one ran share the next one: a
  // burst costs one or two rebuilds, not one per request.
  Status ReloadCoalesced(std::string_view why) {
    std::unique_lock<std::mutex> lock(reload_mu_);
    uint64_t ticket = ++reload_requested_;
    for (;;) {
      if (reload_done_ >= ticket) return reload_status_;
      if (reloading_) {
        reload_cv_.wait(lock);
        continue;
      }
      reloading_ = true;
      uint64_t covers = reload_requested_;
      lock.unlock();
      Status st = Ok();
      {
        std::lock_guard<std::mutex> control(control_mu_);
        st = Reload(why);
      }
      lock.lock();
      reloading_ = false;
      reload_done_ = covers;
      reload_status_ = st;
      reload_cv_.notify_all();
    }
  }

  // Guarded by control_mu_.
  Status Reload(std::string_view why) {
    auto start = std::chrono::steady_clock::now();
    SyncAgent();
    ClusterServices();
    db_stamp_ = DbStamp();
    auto spec = engine::DnsRecords(engine_->store());
    if (!spec.ok()) {
      log::Error("reload failed", {{"reason", std::string(why)}, {"error", spec.error().message()}});
      return std::move(spec).error();
    }
    ClusterNames(*spec);
    auto table = dns::Table::Build(*spec);
    size_t records = table->record_count();
    size_t networks = table->networks().size();
    server_->Publish(std::move(table));
    metrics_.ObserveOps(op_log_.ReadNew());
    if (Status ev = events_.Observe(engine_->store()); !ev.ok()) {
      log::Warn("event log", {{"error", ev.error().message()}});
    }
    ApplyListeners(true);
    RefreshUpstreams();
    ++generation_;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    log::Info("reloaded", {{"reason", std::string(why)},
                           {"generation", std::to_string(generation_)},
                           {"networks", std::to_string(networks)},
                           {"records", std::to_string(records)},
                           {"listening", std::to_string(server_->Listening().size())},
                           {"us", std::to_string(us)}});
    return Ok();
  }

  // The cluster agent runs while ROOT/cluster.json exists (berth cluster join writes it, leave
  // deletes it), so a restarted berthd or a rebooted host rejoins with no command. Guarded by
  // control_mu_; a stat per call.
  void SyncAgent() {
    FileStamp st = Stamp(paths_.cluster());
    if (st == cluster_stamp_) return;
    cluster_stamp_ = st;
    std::optional<cluster::LocalState> local;
    if (st.exists) {
      auto l = cluster::ReadLocalState(paths_.root);
      if (!l.ok()) {
        log::Error("cluster: cannot read " + paths_.cluster(), {{"error", l.error().message()}});
      } else {
        local = std::move(*l);
      }
    }
    if (agent_ && local && cluster::ToJson(agent_->local()) == cluster::ToJson(*local)) return;
    if (agent_) {
      log::Info("cluster agent: stopping", {{"node", agent_->local().node}});
      heartbeats_.reset();
      agent_.reset();
    }
    if (local) {
      log::Info("cluster agent: starting",
                {{"node", local->node}, {"subnet", local->subnet.ToString()}});
      // Names from other nodes wake the main loop, which rebuilds the DNS table (never from
      // the agent's thread: stopping the agent waits for that thread).
      int fd = cluster_names_.get();
      heartbeats_ = Heartbeats::Start(local->etcd, [fd] {
        uint64_t one = 1;
        (void)!::write(fd, &one, sizeof(one));
      });
      agent_ = cluster::Agent::Start(std::move(*local), [fd] {
        uint64_t one = 1;
        (void)!::write(fd, &one, sizeof(one));
      }, paths_.root);
    }
  }

  // The cluster's nodes as the agent knows them and their heartbeats say: node events and the
  // peers-ready gauge. Guarded by control_mu_; a copy of the agent's status per call.
  void ObserveCluster() {
    if (!agent_) {
      events_.ForgetNodes();
      peers_ready_.reset();
      return;
    }
    cluster::AgentStatus a = agent_->Status();
    std::optional<std::set<std::string>> alive;
    if (heartbeats_) alive = heartbeats_->Alive();
    std::vector<diagnose::NodeView> nodes;
    int ready_peers = 0;
    for (const cluster::NodeInfo& n : a.nodes) {
      std::optional<bool> ready;
      if (alive) ready = alive->count(n.name) > 0;
      if (ready.value_or(false) && n.name != a.node) ++ready_peers;
      nodes.push_back({n.name, ready});
    }
    if (alive) peers_ready_ = ready_peers;
    if (Status st = events_.ObserveNodes(nodes); !st.ok()) {
      log::Warn("event log", {{"error", st.error().message()}});
    }
  }

  // Names across hosts: this node's containers on the `cluster` network go to etcd (through
  // the agent), the other nodes' come from the agent's memory into the same DNS network.
  // Guarded by control_mu_.
  void ClusterNames(dns::TableSpec& spec) {
    if (!agent_) return;
    uint32_t index = 0;
    for (; index < spec.networks.size(); ++index) {
      if (spec.networks[index].name == cluster::kNetworkName) break;
    }
    if (index == spec.networks.size()) return;
    std::vector<cluster::NameRecord> mine;
    for (const auto& e : spec.endpoints) {
      // Services are every node's own (ClusterServices): only containers are registered,
      // with their labels, so other nodes' services can pick them as backends.
      if (e.network != index || e.owner.starts_with("service:")) continue;
      auto labels = engine_->store().LabelsOf(e.owner);
      mine.push_back({agent_->local().node, e.ip, e.names,
                      labels.ok() ? std::move(*labels) : std::map<std::string, std::string>{}});
    }
    agent_->SetLocalNames(std::move(mine));
    for (cluster::NameRecord& r : agent_->RemoteNames()) {
      std::string owner = "node:" + r.node + "/" + r.ip.ToString();
      spec.endpoints.push_back({index, r.ip, std::move(r.names), std::move(owner)});
    }
  }

  // Services across hosts: the cluster's services (etcd, through the agent) and the other
  // nodes' containers on the cluster network programmed here, so a VIP reaches backends on
  // every node. Guarded by control_mu_.
  void ClusterServices() {
    if (!agent_) return;
    engine::ClusterServiceState state;
    state.network = cluster::kNetworkName;
    state.node = agent_->local().node;
    // The revision first, then the services (the agent updates them in that order): until the
    // agent has seen this node's own last service write, its list would undo that write.
    const int64_t seen = agent_->Status().revision;
    state.services = agent_->ClusterServices();
    if (auto mine = engine::ClusterServicesRevision(engine_->store()); !mine.ok() || *mine > seen) {
      state.services.reset();  // local services left alone: the watch brings the rest
    }
    // A node whose heartbeat expired keeps its records (names outlive it, as its subnet does)
    // but its containers are no backends: traffic to them would go nowhere. Unknown liveness
    // (etcd away) takes nobody out.
    std::optional<std::set<std::string>> alive;
    if (heartbeats_) alive = heartbeats_->Alive();
    for (cluster::NameRecord& r : agent_->RemoteNames()) {
      if (r.names.empty()) continue;
      if (alive && !alive->count(r.node)) continue;
      state.remote.push_back({"", r.node, r.names.front(), r.ip, std::move(r.labels)});
    }
    if (Status st = engine_->SyncClusterServices(state); !st.ok()) {
      log::Error("cluster services", {{"error", st.error().message()}});
    }
  }

  json ClusterJson() {
    if (!agent_) return nullptr;
    cluster::AgentStatus a = agent_->Status();
    return {{"node", a.node},          {"subnet", a.subnet},     {"etcd_reachable", a.etcd_reachable},
            {"ready", a.ready},        {"fenced", a.fenced},     {"last_error", a.last_error},
            {"peers", a.peers},        {"revision", a.revision}, {"applies", a.applies},
            {"conflicts", a.conflicts},
            {"nodes", [&] {
               json nodes = json::array();
               for (const auto& n : a.nodes) nodes.push_back(json::parse(cluster::ToJson(n)));
               return nodes;
             }()}};
  }

  // The store is in WAL mode: a commit changes the -wal file, a checkpoint the database.
  std::pair<FileStamp, FileStamp> DbStamp() const {
    return {Stamp(paths_.db()), Stamp(paths_.db() + "-wal")};
  }

  void ApplyListeners(bool log_failures_again) {
    auto failed = server_->SetListeners(server_->table()->ListenAddresses());
    std::set<IpAddr> now;
    for (const auto& [addr, err] : failed) {
      now.insert(addr);
      if (log_failures_again || !failed_listeners_.count(addr)) {
        log::Error("cannot listen", {{"addr", addr.ToString()}, {"error", err.message()}});
      }
    }
    failed_listeners_ = std::move(now);
  }

  void RefreshUpstreams() {
    FileStamp st = Stamp(opts_.resolv_conf);
    if (st == resolv_stamp_) return;
    resolv_stamp_ = st;
    auto text = sys::ReadFile(opts_.resolv_conf);
    std::vector<IpAddr> ns = dns::ParseResolvConfNameservers(text.ok() ? *text : "");
    // Never forward to ourselves: that would loop.
    std::vector<IpAddr> ours = server_->table()->ListenAddresses();
    std::vector<std::pair<IpAddr, uint16_t>> upstreams;
    std::string list;
    for (const IpAddr& ip : ns) {
      if (std::find(ours.begin(), ours.end(), ip) != ours.end()) continue;
      upstreams.emplace_back(ip, 53);
      list += (list.empty() ? "" : ",") + ip.ToString();
    }
    server_->forwarder().SetUpstreams(std::move(upstreams));
    log::Info("upstreams", {{"resolv_conf", opts_.resolv_conf}, {"servers", list}});
  }

  json StatusJson() {
    std::lock_guard<std::mutex> lock(control_mu_);
    dns::ServerStats s = server_->Stats();
    json listening = json::array();
    for (const IpAddr& a : server_->Listening()) listening.push_back(a.ToString());
    json upstreams = json::array();
    for (const auto& [ip, port] : server_->forwarder().upstreams()) {
      upstreams.push_back(ip.ToString());
    }
    json networks = json::array();
    auto table = server_->table();
    for (const auto& n : table->networks()) networks.push_back(n.name);
    return {{"version", kVersion},
            {"pid", ::getpid()},
            {"root", paths_.root},
            {"generation", generation_},
            {"firewall_restores", upkeep_ ? upkeep_->stats().firewall_restores : 0},
            {"firewall_monitor", upkeep_ && upkeep_->stats().monitoring},
            {"reconcile_runs", upkeep_ ? upkeep_->stats().reconcile_runs : 0},
            {"last_reconcile_repairs", upkeep_ ? upkeep_->stats().last_reconcile_repairs : 0},
            {"cluster", ClusterJson()},
            {"dns",
             {{"networks", networks},
              {"records", table->record_count()},
              {"listening", listening},
              {"upstreams", upstreams},
              {"workers", server_->workers()},
              {"udp_queries", s.udp_queries},
              {"tcp_queries", s.tcp_queries},
              {"answered", s.answered},
              {"refused", s.refused},
              {"formerr", s.formerr},
              {"truncated", s.truncated},
              {"send_errors", s.send_errors},
              {"tcp_rejected", s.tcp_rejected},
              {"tcp_timeouts", s.tcp_timeouts},
              {"forwarded", s.forwarder.forwarded},
              {"forward_answered", s.forwarder.answered},
              {"forward_tcp_retries", s.forwarder.tcp_retries},
              {"forward_failed", s.forwarder.failed}}}};
  }

  Options opts_;
  engine::Paths paths_;
  std::optional<api::PidFile> pid_file_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<dns::Server> server_;
  std::unique_ptr<api::Server> api_;
  std::unique_ptr<api::Server> metrics_api_;  // --metrics-listen
  sys::Fd signals_;
  sys::Fd cluster_names_;  // eventfd: the agent saw other nodes' names change

  // The store, the DNS server's control calls and what follows are used by the main loop and
  // the API threads: one at a time.
  std::mutex control_mu_;
  std::pair<FileStamp, FileStamp> db_stamp_;
  FileStamp resolv_stamp_;
  std::set<IpAddr> failed_listeners_;
  uint64_t generation_ = 0;
  std::optional<Upkeep> upkeep_;  // set before the main loop starts
  FileStamp cluster_stamp_;
  std::unique_ptr<cluster::Agent> agent_;
  std::unique_ptr<Heartbeats> heartbeats_;  // while agent_ runs
  std::optional<int> peers_ready_;  // other nodes alive at the last heartbeat read
  Metrics metrics_;
  OpLogReader op_log_{paths_.op_log()};
  diagnose::EventRecorder events_{paths_.root};
  uint64_t restores_seen_ = 0;

  std::mutex reload_mu_;
  std::condition_variable reload_cv_;
  uint64_t reload_requested_ = 0, reload_done_ = 0;  // guarded by reload_mu_
  bool reloading_ = false;
  Status reload_status_;
};

}  // namespace

int Run(const Options& opts) {
  log::SetLevel(opts.log_level);
  return Daemon(opts).Run();
}

}  // namespace berth::daemon
