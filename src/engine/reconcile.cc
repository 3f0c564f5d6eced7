// Reconcile: the store and the kernel made to agree, both ways (engine.h). Two entry points:
//   RecoverKilledOperations, run before every operation: the intents (intents.h) of operations
//     whose process died are finished or undone. Cheap when there are none (one readdir).
//   Reconcile, run by `berth system reconcile` and by berthd at start and periodically: the
//     intents, and then everything else a crash, a reboot or another program can leave: kernel
//     objects and files no record explains, a bridge or a firewall table a record needs,
//     containers whose process is gone.
// What is berth's is known by name: host veths veth<hash of container and interface> on a
// bridge of a recorded network, network namespace files and container directories under the
// state root named by container id, and berth's own nftables table. A bridge is only ever
// deleted when an intent names it: Docker names its bridges br-<id> too.
#include <dirent.h>

#include <chrono>
#include <optional>
#include <ctime>
#include <regex>
#include <set>

#include "core/ids.h"
#include "core/log.h"
#include "engine/endpoints.h"
#include "engine/engine.h"
#include "engine/operation.h"
#include "net/apply.h"
#include "sys/netns.h"
#include "sys/proc.h"

namespace berth::engine {

namespace {

// A `created` container older than this with no process is a `run` that was killed before its
// command started (the monitor records the process within milliseconds).
constexpr int64_t kStartGraceSeconds = 30;
// What Docker reports for a container whose exit nobody saw (it died while nobody watched).
constexpr int kUnknownExit = 255;

bool IsRemoval(const std::string& kind) {
  return kind == "remove-container" || kind == "disconnect" || kind == "detach-external" ||
         kind == "remove-network" || kind == "release-endpoints";
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}

// What the store says exists, for matching kernel objects against.
struct Records {
  std::vector<Network> networks;
  std::vector<Container> containers;
  std::set<std::string> links;          // bridges and host veths with a record
  std::set<std::string> bridges;        // of recorded networks
  std::set<std::string> container_ids;
  std::set<std::string> netns_paths;
  std::set<std::string> endpoints;      // container_id/network_id
  std::set<std::string> networks_with_endpoints;
};

Result<Records> LoadRecords(store::Store& store) {
  Records r;
  BERTH_ASSIGN_OR_RETURN(r.networks, store.ListNetworks());
  BERTH_ASSIGN_OR_RETURN(r.containers, store.ListContainers());
  for (const Network& n : r.networks) {
    r.links.insert(n.bridge);
    r.bridges.insert(n.bridge);
    BERTH_ASSIGN_OR_RETURN(auto eps, store.EndpointsOfNetwork(n.id));
    for (const Endpoint& e : eps) {
      r.links.insert(e.host_veth);
      r.endpoints.insert(e.container_id + "/" + e.network_id);
      r.networks_with_endpoints.insert(n.id);
    }
  }
  for (const Container& c : r.containers) {
    r.container_ids.insert(c.id);
    if (!c.netns_path.empty()) r.netns_paths.insert(c.netns_path);
  }
  return r;
}

// One repair: what it does, in words, and how.
struct Repair {
  std::string what;
  std::function<Status()> apply;
};

// Removes a network namespace file berth made, with whatever still runs in it.
Status RemoveNamespace(const std::string& path) {
  if (auto inode = sys::ForeignNetnsInode(path)) BERTH_TRY(sys::KillProcessesInNetns(*inode));
  return sys::RemoveNetns(path);
}

}  // namespace

namespace {
struct FlagScope {
  bool& flag;
  explicit FlagScope(bool& f) : flag(f) { flag = true; }
  ~FlagScope() { flag = false; }
};
}  // namespace

Status Engine::RecoverKilledOperations(ReconcileReport* report) {
  if (recovering_) return Ok();
  BERTH_ASSIGN_OR_RETURN(auto orphans, intents_.Orphans());
  if (orphans.empty()) return Ok();
  recovering_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{recovering_};

  auto note = [&](const std::string& what) {
    log::Warn("recovered an interrupted operation: " + what);
    if (report) report->repairs.push_back(what);
  };
  std::vector<std::pair<Intent, std::string>> finish;  // with the intent file to forget after
  std::vector<std::string> forget;                      // forgotten once the repairs committed
  {
    BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
    // Again under the lock: another process may have recovered them meanwhile.
    BERTH_ASSIGN_OR_RETURN(orphans, intents_.Orphans());
    BERTH_ASSIGN_OR_RETURN(Records rec, LoadRecords(*store_));
    for (const IntentFile& f : orphans) {
      const Intent& in = f.intent;
      ErrorList errors;
      if (!in.kind.empty()) {
        const std::string who = in.kind + " (pid " + std::to_string(in.pid) + ")";
        for (const std::string& link : in.links) {
          if (rec.links.count(link)) continue;
          BERTH_ASSIGN_OR_RETURN(auto idx, op->links().Ifindex(net::Where::kHost, link));
          if (!idx) continue;
          note(who + ": deleted " + link + ", which no record explains");
          errors.Add(op->links().DeleteLink({net::Where::kHost, link}));
        }
        if (!in.netns_path.empty() && !rec.netns_paths.count(in.netns_path) &&
            ::access(in.netns_path.c_str(), F_OK) == 0) {
          note(who + ": removed network namespace " + in.netns_path);
          errors.Add(RemoveNamespace(in.netns_path));
        }
        if (!in.container_id.empty() && !rec.container_ids.count(in.container_id)) {
          std::string dir = paths_.container_dir(in.container_id);
          if (::access(dir.c_str(), F_OK) == 0) {
            note(who + ": removed " + dir);
            errors.Add(sys::RemoveTree(dir));
          }
        }
        if (IsRemoval(in.kind)) finish.push_back({in, f.path});
        if (in.kind == "start") {
          // Killed between the container's record and its process's: whatever it started was
          // never recorded, so it is stopped, and the container did not start.
          BERTH_ASSIGN_OR_RETURN(auto c, store_->GetContainer(in.container_id));
          if (c && c->state == ContainerState::kCreated) {
            if (c->netns_owner_id == c->id) {
              if (auto inode = sys::ForeignNetnsInode(c->netns_path)) {
                errors.Add(sys::KillProcessesInNetns(*inode));
              }
            }
            if (c->auto_remove) {
              finish.push_back({{"remove-container", c->id, "", {}, ""}, ""});
              note(who + ": container " + c->name + " never started; removed (--rm)");
            } else {
              errors.Add(store_->MarkExited(c->id, kUnknownExit));
              note(who + ": container " + c->name + " never started");
            }
          }
        }
      }
      if (errors.empty()) {
        if (!IsRemoval(in.kind)) forget.push_back(f.path);
      } else {
        log::Warn(errors.ToStatus("recovery of " + f.path).error().message());
      }
    }
    if (DirEntries(paths_.netns_dir()).empty()) {
      (void)sys::ReleaseSharedMountDir(paths_.netns_dir());
    }
    // Whatever elements the killed operations added or deleted: the table holds the store again.
    BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, Firewall());
    BERTH_ASSIGN_OR_RETURN(firewall::State state, FirewallState());
    auto diff = fw->Sync(state);
    if (!diff.ok()) {
      log::Warn("recovery: firewall: " + diff.error().message());  // reconcile retries it
    } else {
      for (const std::string& d : *diff) note("firewall: " + d);
    }
    BERTH_TRY(op->Commit());
  }
  for (const std::string& path : forget) (void)Intents::Forget(path);
  // A removal the user asked for is completed (each verb is idempotent); its intent goes only
  // once it is.
  for (const auto& [in, path] : finish) {
    Status st = Ok();
    if (in.kind == "remove-container") {
      BERTH_ASSIGN_OR_RETURN(auto c, store_->GetContainer(in.container_id));
      if (c) st = RemoveContainer(c->id);
    } else if (in.kind == "release-endpoints") {
      BERTH_ASSIGN_OR_RETURN(auto c, store_->GetContainer(in.container_id));
      if (c && !sys::IsAlive(c->pid, c->start_time)) st = ReleaseEndpoints(c->id);
    } else if (in.kind == "remove-network") {
      BERTH_ASSIGN_OR_RETURN(auto n, store_->FindNetwork(in.network_id));
      if (n) st = RemoveNetwork(n->id);
    } else if (in.kind == "disconnect") {
      BERTH_ASSIGN_OR_RETURN(auto c, store_->GetContainer(in.container_id));
      BERTH_ASSIGN_OR_RETURN(auto n, store_->FindNetwork(in.network_id));
      if (c && n) {
        auto eps = store_->EndpointsOfContainer(c->id);
        bool attached = false;
        if (eps.ok()) {
          for (const Endpoint& e : *eps) attached |= e.network_id == n->id;
        }
        if (attached) st = Disconnect(c->id, n->id);
      }
    } else if (in.kind == "detach-external") {
      BERTH_ASSIGN_OR_RETURN(auto c, store_->GetContainer(in.container_id));
      BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(in.container_id));
      for (const Endpoint& e : eps) {
        if (c && e.network_id == in.network_id) {
          Status one = DetachExternal(e.network_name, {c->id, e.ifname});
          if (!one.ok()) st = std::move(one);
        }
      }
    }
    if (!st.ok()) {
      log::Warn("could not finish an interrupted " + in.kind + ": " + st.error().message());
      if (report) report->errors.push_back(in.kind + ": " + st.error().message());
    } else {
      if (!path.empty()) (void)Intents::Forget(path);
      note("finished an interrupted " + in.kind + " of " +
           (in.container_id.empty() ? in.network_id : in.container_id).substr(0, 12));
    }
  }
  return Ok();
}

Result<std::vector<std::string>> Engine::SyncFirewall() {
  FlagScope syncing(syncing_firewall_);
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
  BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, Firewall());
  BERTH_ASSIGN_OR_RETURN(firewall::State state, FirewallState());
  BERTH_ASSIGN_OR_RETURN(auto diff, fw->Sync(state));
  BERTH_TRY(op->Commit());
  return diff;
}

Status Engine::AdoptNetworks(ReconcileReport* report) {
  FlagScope syncing(syncing_firewall_);  // the table must still list the old bridges
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
  BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, Firewall());
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> listed, fw->Bridges());
  BERTH_ASSIGN_OR_RETURN(Records rec, LoadRecords(*store_));
  BERTH_ASSIGN_OR_RETURN(net::NamespaceView host, op->links().Observe(net::Where::kHost));
  for (const std::string& bridge : listed) {
    if (rec.bridges.count(bridge)) continue;
    const net::LinkInfo* l = host.Link(bridge);
    if (!l || l->kind != "bridge") continue;
    for (const net::AddrInfo& a : host.addrs) {
      if (a.ifindex != l->ifindex || !a.address.is_v4()) continue;
      Network n;
      n.id = NewId();
      n.name = bridge;
      n.bridge = bridge;
      n.subnet = Cidr(a.address.Network(), a.address.prefix());
      n.gateway = a.address.addr();
      n.mtu = l->mtu > 0 ? l->mtu : 1500;
      n.created = static_cast<int64_t>(std::time(nullptr));
      BERTH_TRY(store_->InsertNetwork(n));
      if (report) {
        report->repairs.push_back("recovered network " + n.name + " (" + n.subnet.ToString() +
                                  ", gateway " + n.gateway.ToString() + ") from bridge " + bridge);
      }
      break;
    }
  }
  return op->Commit();
}

Result<ReconcileReport> Engine::Reconcile(bool dry_run) {
  ReconcileReport report;
  if (dry_run) {
    BERTH_ASSIGN_OR_RETURN(auto orphans, intents_.Orphans());
    for (const IntentFile& f : orphans) {
      report.repairs.push_back("would recover an interrupted " +
                               (f.intent.kind.empty() ? "operation" : f.intent.kind) + " (pid " +
                               std::to_string(f.intent.pid) + ")");
    }
  } else {
    BERTH_TRY(RecoverKilledOperations(&report));
  }

  std::vector<Repair> repairs;
  std::vector<std::string> auto_remove;  // failed starts of --rm containers: removed after
  std::vector<std::string> release;      // exits recorded here: their network released after
  std::optional<FlagScope> syncing(syncing_firewall_);
  // A dry run begins without recovering anything either: it only looks.
  std::optional<FlagScope> looking;
  if (dry_run) looking.emplace(recovering_);
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
  syncing.reset();
  looking.reset();
  std::set<std::string> starting;  // containers whose `run` is alive and still starting them
  if (auto all = intents_.All(); all.ok()) {
    for (const IntentFile& f : *all) {
      if (f.intent.kind == "start" && sys::IsAlive(f.intent.pid, f.intent.start_time)) {
        starting.insert(f.intent.container_id);
      }
    }
  }
  BERTH_ASSIGN_OR_RETURN(Records rec, LoadRecords(*store_));
  net::LinkOps& links = op->links();
  BERTH_ASSIGN_OR_RETURN(net::NamespaceView host, links.Observe(net::Where::kHost));

  // Host veths of berth's naming on a recorded bridge that no endpoint records.
  static const std::regex kVeth("veth[0-9a-f]{11}");
  for (const net::LinkInfo& l : host.links) {
    if (l.kind != "veth" || !std::regex_match(l.name, kVeth)) continue;
    if (!rec.bridges.count(l.master) || rec.links.count(l.name)) continue;
    repairs.push_back({"delete " + l.name + " on " + l.master + ": no endpoint records it",
                       [&links, name = l.name] {
                         return links.DeleteLink({net::Where::kHost, name});
                       }});
  }
  // Bridges a record needs (after a reboot): every user network's, the default network's while
  // it has endpoints. The default bridge without endpoints goes, as after its last `rm`.
  for (const Network& n : rec.networks) {
    bool needed = !n.is_default || rec.networks_with_endpoints.count(n.id);
    const net::LinkInfo* l = host.Link(n.bridge);
    if (needed && (!l || !host.HasAddress(l->ifindex, Cidr(n.gateway, n.subnet.prefix())))) {
      repairs.push_back({(l ? "restore the address of bridge " : "recreate bridge ") + n.bridge +
                             " of network " + n.name,
                         [this, &links, n]() -> Status {
                           Rollback none;
                           BERTH_TRY(net::Apply(net::BridgePlan(n), links, none));
                           none.Commit();
                           return Ok();
                         }});
    } else if (!needed && l && n.is_default) {
      repairs.push_back({"delete bridge " + n.bridge + " of the default network: no endpoints",
                         [&links, name = n.bridge] {
                           return links.DeleteLink({net::Where::kHost, name});
                         }});
    }
  }
  // Namespace files and container directories no container records.
  for (const std::string& id : DirEntries(paths_.netns_dir())) {
    std::string path = paths_.netns(id);
    if (rec.netns_paths.count(path)) continue;
    repairs.push_back({"remove network namespace " + path + ": no container records it",
                       [path] { return RemoveNamespace(path); }});
  }
  for (const std::string& id : DirEntries(paths_.root + "/containers")) {
    if (rec.container_ids.count(id)) continue;
    repairs.push_back({"remove " + paths_.container_dir(id) + ": no container records it",
                       [dir = paths_.container_dir(id)] { return sys::RemoveTree(dir); }});
  }
  // Containers whose process is gone without its exit recorded (a killed monitor, a reboot),
  // and runs killed before their command started.
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const Container& c : rec.containers) {
    if (c.is_cni()) continue;
    bool alive = sys::IsAlive(c.pid, c.start_time);
    if (c.state == ContainerState::kRunning && !alive) {
      repairs.push_back({"record the exit of container " + c.name + ": its process is gone",
                         [this, &release, id = c.id] {
                           release.push_back(id);  // as a stopped container, after the commit
                           return store_->MarkExited(id, kUnknownExit);
                         }});
    } else if (c.state == ContainerState::kCreated && c.created + kStartGraceSeconds < now &&
               !starting.count(c.id)) {
      if (c.auto_remove) {
        repairs.push_back({"remove container " + c.name + " (--rm): its command never started",
                           [&auto_remove, id = c.id] {
                             auto_remove.push_back(id);
                             return Ok();
                           }});
      } else {
        repairs.push_back({"record that container " + c.name + " never started",
                           [this, c]() -> Status {
                             if (auto inode = sys::ForeignNetnsInode(c.netns_path)) {
                               if (c.netns_owner_id == c.id) {
                                 BERTH_TRY(sys::KillProcessesInNetns(*inode));
                               }
                             }
                             return store_->MarkExited(c.id, kUnknownExit);
                           }});
      }
    }
  }

  ErrorList errors;
  for (Repair& r : repairs) {
    report.repairs.push_back(dry_run ? "would " + r.what : r.what);
    if (dry_run) continue;
    Status st = r.apply();
    if (!st.ok()) report.errors.push_back(r.what + ": " + st.error().message());
  }
  // The firewall and the other firewall managers, last: they follow the records.
  BERTH_ASSIGN_OR_RETURN(firewall::State state, FirewallState());
  BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, Firewall());
  if (!dry_run) {
    auto diff = fw->Sync(state);
    if (!diff.ok()) {
      report.errors.push_back("firewall: " + diff.error().message());
    } else {
      for (const std::string& d : *diff) report.repairs.push_back("firewall: restored " + d);
    }
    std::vector<Network> with_bridges;
    for (const Network& n : rec.networks) {
      if (!n.is_default || rec.networks_with_endpoints.count(n.id)) with_bridges.push_back(n);
    }
    if (other_firewalls_) {
      std::vector<std::string> bridges;
      for (const Network& n : with_bridges) bridges.push_back(n.bridge);
      for (std::string& e : other_firewalls_(bridges, {})) report.errors.push_back(std::move(e));
    }
    BERTH_TRY(op->Commit());
  }
  op.reset();
  for (const std::string& id : auto_remove) {
    Status st = RemoveContainer(id);
    if (!st.ok()) report.errors.push_back(st.error().message());
  }
  for (const std::string& id : release) {
    Status st = ReleaseEndpoints(id);
    if (!st.ok()) report.errors.push_back(st.error().message());
  }
  return report;
}

}  // namespace berth::engine
