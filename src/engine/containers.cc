// Container operations: create (state, namespace, networking), remove, inspect, list.
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <thread>

#include "core/ids.h"
#include "core/names.h"
#include "core/rollback.h"
#include "engine/container_files.h"
#include "engine/endpoints.h"
#include "engine/engine.h"
#include "engine/options.h"
#include "ipam/allocator.h"
#include "net/apply.h"
#include "sys/netns.h"
#include "sys/proc.h"

namespace berth::engine {

namespace {

Result<Container> RequireContainer(store::Store& store, const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto c, store.FindContainer(key));
  if (!c) return Error::NotFound("no such container: " + key);
  return std::move(*c);
}

bool OwnsNetns(const Container& c) { return !c.netns_path.empty() && c.netns_owner_id == c.id; }

std::string HostHostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof(buf) - 1);
  return buf;
}

// Validated form of a create request: everything that can be checked without state.
struct CreatePlan {
  NetworkMode mode;
  std::optional<IpAddr> ip;
};

// --mac-address: six hex octets separated by colons, unicast (the group bit clear).
Status ValidateMac(const std::string& mac) {
  bool ok = mac.size() == 17;
  for (size_t i = 0; ok && i < mac.size(); ++i) {
    ok = i % 3 == 2 ? mac[i] == ':' : std::isxdigit(static_cast<unsigned char>(mac[i])) != 0;
  }
  if (ok && (std::stoi(mac.substr(0, 2), nullptr, 16) & 1)) ok = false;
  if (!ok) return Error::Invalid(mac + " is not a valid unicast MAC address (xx:xx:xx:xx:xx:xx)");
  return Ok();
}

Result<CreatePlan> ValidateCreate(const ContainerCreateRequest& req) {
  CreatePlan p;
  if (req.command.empty()) {
    return Error::Invalid("no command given: berth run [OPTIONS] [--] COMMAND [ARG...]");
  }
  if (!req.name.empty()) BERTH_TRY(ValidateName("container", req.name));
  BERTH_ASSIGN_OR_RETURN(p.mode, ParseNetworkMode(req.network));
  if (req.ip) {
    if (p.mode.kind != NetworkMode::kNetwork) {
      return Error::Invalid("--ip cannot be used with --network " + req.network);
    }
    if (p.mode.target == kDefaultNetworkName) {
      return Error::Invalid(
          "--ip is supported on user-defined networks only, not on the default bridge network");
    }
    BERTH_ASSIGN_OR_RETURN(IpAddr ip, IpAddr::Parse(*req.ip));
    p.ip = ip;
  }
  if (!req.hostname.empty()) {
    BERTH_TRY(ValidateHostname(req.hostname));
    if (p.mode.kind == NetworkMode::kContainer) {
      return Error::Invalid("--hostname cannot be used with --network " + req.network +
                            ": the container shares that container's hostname");
    }
  }
  if (!req.ports.empty() && p.mode.kind == NetworkMode::kContainer) {
    return Error::Invalid("conflicting options: port publishing and the container type network "
                          "mode (publish on " + p.mode.target + " instead)");
  }
  for (const std::string& alias : req.aliases) {
    BERTH_TRY(ValidateName("alias", alias));
    if (p.mode.kind != NetworkMode::kNetwork || p.mode.target == kDefaultNetworkName) {
      return Error::Invalid("--alias is supported on user-defined networks only");
    }
  }
  for (const std::string& ns : req.dns_servers) BERTH_TRY_CTX(IpAddr::Parse(ns), "--dns");
  if (req.mac) BERTH_TRY(ValidateMac(*req.mac));
  for (const std::string& d : req.dns_search) BERTH_TRY_CTX(ValidateHostname(d), "--dns-search");
  return p;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Open(const std::string& root, Wiring wiring) {
  if (!wiring.links || !wiring.firewall) {
    return Error::Internal("engine wiring without LinkOps or firewall (see engine/wiring.h)");
  }
  Paths paths{root};
  BERTH_TRY_CTX(sys::MakeDirs(root, 0700), "state root");
  BERTH_ASSIGN_OR_RETURN(auto store, store::Store::Open(paths.db()));
  // Made once here, so an operation's intent (intents.h) is one file write.
  BERTH_TRY_CTX(sys::MakeDirs(paths.intents_dir(), 0700), "state root");
  BERTH_ASSIGN_OR_RETURN(BridgeConfig config, LoadBridgeConfig(paths.config()));
  std::unique_ptr<Engine> e(new Engine(paths, std::move(store), std::move(wiring)));
  e->bridge_config_ = std::move(config);
  BERTH_TRY(e->ApplyBridgeConfig());
  return e;
}

Status Engine::ApplyBridgeConfig() {
  const BridgeConfig& want = bridge_config_;
  auto differs = [&](const Network& n) {
    return n.subnet != want.subnet || n.gateway != want.gateway || n.mtu != want.mtu;
  };
  BERTH_ASSIGN_OR_RETURN(auto def, store_->GetNetworkByName(kDefaultNetworkName));
  if (!def || !def->is_default || !differs(*def)) return Ok();  // the common case: no lock
  BERTH_ASSIGN_OR_RETURN(auto op, BeginUnbound());
  BERTH_ASSIGN_OR_RETURN(def, store_->GetNetworkByName(kDefaultNetworkName));
  if (!def || !differs(*def)) return Ok();
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfNetwork(def->id));
  std::string change = "config.json changes the default network " + std::string(kDefaultNetworkName) +
                       " (" + def->gateway.ToString() + "/" + std::to_string(def->subnet.prefix()) +
                       " mtu " + std::to_string(def->mtu) + " -> bip " + want.gateway.ToString() +
                       "/" + std::to_string(want.subnet.prefix()) + " mtu " +
                       std::to_string(want.mtu) + ")";
  if (!eps.empty()) {
    bridge_config_error_ =
        Error::InUse(change + " but " + std::to_string(eps.size()) +
                     " container(s) are attached to it: stop or remove them first, or undo "
                     "the change");
    return Ok();  // everything else still works; attaching to the default network does not
  }
  BERTH_ASSIGN_OR_RETURN(auto all, store_->ListNetworks());
  for (const Network& n : all) {
    if (!n.is_default && n.subnet.Overlaps(want.subnet)) {
      bridge_config_error_ = Error::InUse(change + ", but network " + n.name + " uses " +
                                          n.subnet.ToString());
      return Ok();
    }
  }
  BERTH_TRY(store_->UpdateNetworkAddressing(def->id, want.subnet, want.gateway, want.mtu));
  return op->Commit();
}

Result<Container> Engine::CreateContainer(const ContainerCreateRequest& req,
                                          std::vector<std::string>* warnings,
                                          Rollback* undo_start, std::string* start_intent) {
  BERTH_ASSIGN_OR_RETURN(CreatePlan plan, ValidateCreate(req));
  std::vector<PortRequest> ports = req.ports;
  if (!ports.empty() && (plan.mode.kind == NetworkMode::kHost || plan.mode.kind == NetworkMode::kNone)) {
    if (warnings) {
      warnings->push_back("Published ports are discarded when using " + req.network +
                          " network mode");
    }
    ports.clear();
  }
  Container c;
  c.id = NewId();
  c.mode = req.network.empty() ? std::string(kDefaultNetworkName) : req.network;
  c.command = req.command;
  c.auto_remove = req.auto_remove;
  c.created = static_cast<int64_t>(std::time(nullptr));
  c.hostname = !req.hostname.empty()                       ? req.hostname
               : plan.mode.kind == NetworkMode::kHost      ? HostHostname()
                                                           : c.id.substr(0, 12);

  // The namespace, its mount directory and the files are made under the lock, and undone under
  // it (operation.h): nobody may start using a bridge or directory this call is taking away.
  BERTH_ASSIGN_OR_RETURN(auto op, BeginUnbound());
  Rollback& rollback = op->rollback();
  if (req.name.empty()) {
    uint64_t salt = Fnv1a(c.id);
    for (int i = 0; i < 256 && c.name.empty(); ++i, salt = Fnv1a(c.id, salt)) {
      std::string candidate = GeneratedName(salt);
      BERTH_ASSIGN_OR_RETURN(auto taken, store_->GetContainerByName(candidate));
      if (!taken) c.name = candidate;
    }
    if (c.name.empty()) c.name = GeneratedName(salt) + "_" + c.id.substr(0, 6);
  } else {
    BERTH_ASSIGN_OR_RETURN(auto taken, store_->GetContainerByName(req.name));
    if (taken) {
      return Error::Exists("container name " + req.name + " is already in use by container " +
                           taken->id.substr(0, 12));
    }
    c.name = req.name;
  }

  std::optional<Network> network;
  switch (plan.mode.kind) {
    case NetworkMode::kHost:
      c.netns_owner_id = "";
      break;
    case NetworkMode::kContainer: {
      BERTH_ASSIGN_OR_RETURN(Container owner, RequireContainer(*store_, plan.mode.target));
      if (owner.netns_path.empty()) {
        return Error::Invalid("container " + owner.name +
                              " uses the host's network namespace: use --network host");
      }
      if (!owner.netns_owner_id.empty() && owner.netns_owner_id != owner.id) {
        BERTH_ASSIGN_OR_RETURN(owner, RequireContainer(*store_, owner.netns_owner_id));
      }
      if (!sys::IsAlive(owner.pid, owner.start_time)) {
        return Error::Invalid("cannot join the network namespace of container " + owner.name +
                              ": it is not running");
      }
      c.netns_path = owner.netns_path;
      c.netns_owner_id = owner.id;
      c.hostname = owner.hostname;
      break;
    }
    case NetworkMode::kNetwork: {
      BERTH_ASSIGN_OR_RETURN(auto n, store_->FindNetwork(plan.mode.target));
      if (!n) return Error::NotFound("network " + plan.mode.target + " not found");
      network = std::move(*n);
      BERTH_TRY(CheckBridgeConfig(*network));
      if (plan.ip) {
        // Checked again when the address is taken; here so a bad --ip fails before the
        // namespace, its mount directory or the container's files exist.
        BERTH_TRY(ipam::CheckStatic(*network, *plan.ip, [&](const IpAddr& ip) {
          return store_->IpInUse(network->id, ip);
        }));
      }
      [[fallthrough]];
    }
    case NetworkMode::kNone:
      c.netns_path = paths_.netns(c.id);
      c.netns_owner_id = c.id;
      break;
  }
  BERTH_TRY(store_->InsertContainer(c));
  BERTH_TRY(store_->SetLabels(c.id, req.labels));
  if (OwnsNetns(c)) {
    Intent intent{"create-container", c.id, "", {}, c.netns_path};
    if (network) intent = AttachIntent("create-container", c.id, *network, "eth0");
    intent.netns_path = c.netns_path;
    BERTH_TRY(op->Intend(std::move(intent)));
  }

  std::string dir = paths_.container_dir(c.id);
  BERTH_TRY(sys::MakeDirs(dir, 0700));
  rollback.Add("remove " + dir, [dir] { return sys::RemoveTree(dir); });
  if (!OwnsNetns(c)) {
    BERTH_TRY(RecordStartIntent(c, start_intent));
    BERTH_TRY(op->Commit());
    return c;
  }

  BERTH_ASSIGN_OR_RETURN(bool mounted_dir, sys::EnsureSharedMountDir(paths_.netns_dir()));
  auto release_dir = [dir = paths_.netns_dir()] { return sys::ReleaseSharedMountDir(dir); };
  if (mounted_dir) rollback.Add("release " + paths_.netns_dir(), release_dir);
  BERTH_TRY_CTX(sys::CreateNetns(c.netns_path), "create network namespace");
  rollback.Add("remove network namespace",
               [path = c.netns_path] { return sys::RemoveNetns(path); });
  BERTH_ASSIGN_OR_RETURN(sys::Fd netns, sys::OpenNetns(c.netns_path));
  BERTH_TRY(op->BindNamespace(std::move(netns)));
  BERTH_TRY(net::Apply(net::NewNamespacePlan(), op->links(), rollback));
  std::vector<IpAddr> ips;
  std::function<Status()> undo_network;
  if (network) {
    // The allocation cursor before: put back if the command then cannot start.
    std::optional<IpAddr> cursor_before;
    if (undo_start) {
      BERTH_ASSIGN_OR_RETURN(cursor_before, store_->IpCursor(network->id));
    }
    AttachSpec spec{&c, &*network, plan.ip, req.aliases, ports, "eth0", true, req.mac};
    EndpointDeps deps = Deps(*op);
    BERTH_ASSIGN_OR_RETURN(Endpoint ep, AttachEndpoint(deps, rollback, spec));
    ips.push_back(ep.ip);
    if (undo_start && !plan.ip) {
      undo_network = [this, id = network->id, allocated = ep.ip, cursor_before] {
        return RestoreIpCursor(id, allocated, cursor_before);
      };
    }
  }
  // The embedded DNS server answers on the gateway of a DNS-enabled network (engine/dns.h).
  ResolvSettings resolv{req.dns_servers, req.dns_search};
  bool dns = network && DnsEnabled(*network);
  if (resolv.nameservers.empty() && dns) resolv.nameservers = {network->gateway.ToString()};
  BERTH_TRY(WriteContainerFiles(dir, c.hostname, c.name, ips, resolv));
  BERTH_TRY(RecordStartIntent(c, start_intent));
  BERTH_TRY(op->Commit());
  op.reset();  // the lock: undo_start's step below takes it again when it runs
  if (undo_start && mounted_dir) {
    // Under the lock, as every namespace file is made and removed under it.
    undo_start->Add("release " + paths_.netns_dir(), [this, release_dir]() -> Status {
      BERTH_ASSIGN_OR_RETURN(auto op, BeginUnbound());
      BERTH_TRY(release_dir());
      return op->Commit();
    });
  }
  if (undo_network) undo_start->Add("undo attaching to " + c.mode, std::move(undo_network));
  if (network) Notify({Change::kEndpointsAdded, dns});
  return c;
}

Status Engine::RecordStartIntent(const Container& c, std::string* path) {
  if (!path) return Ok();
  BERTH_ASSIGN_OR_RETURN(*path, intents_.Record({"start", c.id, "", {}, ""}));
  return Ok();
}

Status Engine::RestoreIpCursor(const std::string& network_id, const IpAddr& allocated,
                               std::optional<IpAddr> before) {
  BERTH_ASSIGN_OR_RETURN(auto op, BeginUnbound());
  BERTH_ASSIGN_OR_RETURN(auto cursor, store_->IpCursor(network_id));
  if (cursor != allocated) return Ok();  // someone allocated since: theirs stays
  BERTH_TRY(store_->SetIpCursor(network_id, before));
  return op->Commit();
}

namespace {

// A container whose namespace others joined (container:NAME) goes after them.
Status CheckNoSharers(store::Store& store, const Container& c) {
  BERTH_ASSIGN_OR_RETURN(auto sharers, store.NetnsSharers(c.id));
  if (sharers.empty()) return Ok();
  return Error::InUse("container " + c.name + " shares its network namespace with " +
                      sharers[0].name + " (--network container:" + c.name +
                      "): remove that container first");
}

}  // namespace

Status Engine::CheckRemovable(const Container& c) { return CheckNoSharers(*store_, c); }

Status Engine::RemoveContainer(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(Container c, RequireContainer(*store_, key));
  BERTH_TRY(CheckNoSharers(*store_, c));
  if (sys::IsAlive(c.pid, c.start_time)) {
    return Error::InUse("container " + c.name +
                        " is running: stop it first or remove it with rm -f");
  }

  if (OwnsNetns(c)) {
    // What else runs in the namespace (children the command left behind, say) belongs to the
    // container and goes with it, as a PID namespace would take it along. Nobody else is in
    // there: containers that joined it are refused above.
    if (auto inode = sys::ForeignNetnsInode(c.netns_path)) {
      BERTH_TRY_CTX(sys::KillProcessesInNetns(*inode), "remove container " + c.name);
    }
  }
  // Host side only: detaching releases host veths, and removing the namespace takes the
  // container ends with it.
  BERTH_ASSIGN_OR_RETURN(auto op, Begin(sys::Fd()));
  BERTH_ASSIGN_OR_RETURN(auto again, store_->FindContainer(c.id));
  if (!again) return Ok();  // removed meanwhile (its monitor, for --rm)
  // Started again while we waited for the lock (a restart policy): refused, as above.
  if (sys::IsAlive(again->pid, again->start_time)) {
    return Error::InUse("container " + c.name + " is running again: stop it first");
  }
  BERTH_TRY(CheckNoSharers(*store_, c));  // again, under the lock: one may have joined since
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(c.id));
  {
    Intent intent{"remove-container", c.id, "", {}, OwnsNetns(c) ? c.netns_path : ""};
    for (const Endpoint& ep : eps) intent.links.push_back(ep.host_veth);
    BERTH_TRY(op->Intend(std::move(intent)));
  }
  // Best effort: try every step, report everything that failed, keep state if anything did
  // (every step is idempotent, so `rm` can simply be retried).
  ErrorList errors;
  EndpointDeps deps = Deps(*op);
  for (const Endpoint& ep : eps) errors.Add(DetachEndpoint(deps, ep));
  if (OwnsNetns(c)) {
    errors.Add(sys::RemoveNetns(c.netns_path));
    // The last namespace gone: no mount of berth's is left (made again on next use).
    errors.Add(sys::ReleaseSharedMountDir(paths_.netns_dir()));
  }
  errors.Add(sys::RemoveTree(paths_.container_dir(c.id)));
  errors.Add(store_->DeleteLabels(c.id));
  errors.Add(store_->DeleteContainer(c.id));
  BERTH_TRY(errors.ToStatus("remove container " + c.name));
  BERTH_ASSIGN_OR_RETURN(bool dns, OnDnsNetwork(*store_, eps));
  BERTH_TRY(op->Commit());
  if (!eps.empty()) Notify({Change::kEndpointsRemoved, dns});
  return Ok();
}

Result<ContainerStatus> Engine::Describe(const Container& c) {
  ContainerStatus s;
  s.container = c;
  s.running = sys::IsAlive(c.pid, c.start_time);
  if (c.state == ContainerState::kExited) s.exit_code = c.exit_code;
  if (c.state == ContainerState::kRunning && !s.running) s.container.state = ContainerState::kExited;
  s.netns_path = c.netns_path.empty() && s.running ? "/proc/" + std::to_string(c.pid) + "/ns/net"
                                                   : c.netns_path;
  if (!s.netns_path.empty()) {
    auto inode = sys::NetnsInode(s.netns_path);
    if (inode.ok()) s.netns_inode = *inode;
  }
  BERTH_ASSIGN_OR_RETURN(auto eps, store_->EndpointsOfContainer(c.id));
  for (Endpoint& e : eps) {
    BERTH_ASSIGN_OR_RETURN(e.ports, store_->PortsOf(e.container_id, e.network_id));
    s.endpoints.push_back({std::move(e), std::nullopt, std::nullopt});
  }
  return s;
}

Result<ContainerStatus> Engine::InspectContainer(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(Container c, RequireContainer(*store_, key));
  BERTH_ASSIGN_OR_RETURN(ContainerStatus s, Describe(c));
  if (s.endpoints.empty()) return s;
  // Live interface indexes: the pairing of host veth and container eth0 (seed 000's question).
  auto fd = sys::OpenNetns(c.netns_path);
  auto ops = links_(fd.ok() ? fd->get() : -1);
  if (!ops.ok()) return s;
  for (EndpointStatus& e : s.endpoints) {
    auto host = (*ops)->Ifindex(net::Where::kHost, e.endpoint.host_veth);
    if (host.ok()) e.host_ifindex = *host;
    if (fd.ok()) {
      auto inner = (*ops)->Ifindex(net::Where::kContainer, e.endpoint.ifname);
      if (inner.ok()) e.ifindex = *inner;
    }
  }
  return s;
}

Result<std::vector<ContainerStatus>> Engine::ListContainers() {
  BERTH_ASSIGN_OR_RETURN(auto all, store_->ListContainers());
  std::vector<ContainerStatus> out;
  for (const Container& c : all) {
    BERTH_ASSIGN_OR_RETURN(ContainerStatus s, Describe(c));
    out.push_back(std::move(s));
  }
  return out;
}

Status Engine::RecordProcess(const std::string& id, int pid, uint64_t start_time) {
  BERTH_ASSIGN_OR_RETURN(bool marked, store_->MarkRunning(id, pid, start_time));
  if (marked) return Ok();
  BERTH_ASSIGN_OR_RETURN(auto c, store_->FindContainer(id));  // exited already, or gone?
  if (!c || c->id != id) return Error::NotFound("the container was removed while it started");
  return Ok();
}

Status Engine::RecordExit(const std::string& id, int exit_code) {
  return store_->MarkExited(id, exit_code);  // a removed container: no row, nothing to do
}

}  // namespace berth::engine
