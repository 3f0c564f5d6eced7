// Engine: berth's operations (networks, containers, endpoints) over the store, IPAM, netlink and
// the namespace/process layer. The only module that sees all the others; front ends (CLI, CNI,
// berthd) parse input into the request types below and print the results.
//
// Every mutating operation validates first, then runs as one Operation (operation.h: the store
// write transaction, the LinkOps and the Rollback, in the order that makes undo safe), so it
// either completes or leaves kernel and state as they were.
// What the engine drives (kernel, firewall, who hears about changes) is chosen by the front end
// and passed in as a Wiring (wiring.h has the real one); the engine never picks it itself.
// Not thread-safe: one Engine per thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/model.h"
#include "core/rollback.h"
#include "engine/bridge_config.h"
#include "engine/dns.h"
#include "engine/endpoints.h"
#include "engine/external.h"
#include "engine/intents.h"
#include "engine/operation.h"
#include "engine/paths.h"
#include "engine/ports.h"
#include "engine/services.h"
#include "firewall/firewall.h"
#include "net/link_ops.h"
#include "store/store.h"
#include "sys/fd.h"

namespace berth::engine {

struct NetworkCreateRequest {
  std::string name;
  std::string driver = "bridge";
  std::optional<std::string> subnet, gateway, ip_range;
  std::optional<int> mtu;
  bool internal = false;
  bool force = false;  // --force: a subnet that is unusual but can work (ipam::CheckSubnetUsable)
  std::vector<std::string> options;  // "KEY=VALUE"
};

struct ContainerCreateRequest {
  std::string name;  // generated when empty
  std::string network = "bridge";  // none | host | bridge | container:NAME | a network name
  std::optional<std::string> ip;
  std::optional<std::string> mac;  // --mac-address of eth0; derived from the address when unset
  std::string hostname;
  std::vector<std::string> aliases;
  std::vector<PortRequest> ports;  // -p; ignored (with a warning) in host and none modes
  std::vector<std::string> command;
  bool auto_remove = false;
  /// --dns / --dns-search: replace the nameservers (the gateway on a DNS-enabled network, the
  /// host's otherwise) and the search list of the container's resolv.conf.
  std::vector<std::string> dns_servers;
  std::vector<std::string> dns_search;
  /// --label KEY=VALUE: what service selectors match.
  std::map<std::string, std::string> labels = {};
};

/// An endpoint with what the kernel says about it now (absent when the link is gone).
struct EndpointStatus {
  Endpoint endpoint;
  std::optional<int> ifindex;       // inside the container
  std::optional<int> host_ifindex;  // the host end of the veth
};

struct ContainerStatus {
  Container container;  // state is kExited once the process is gone, recorded or not
  bool running = false;
  /// Known once the exit has been recorded; nullopt while running, and for a process that died
  /// without its exit being recorded (yet: the monitor records it a moment after).
  std::optional<int> exit_code;
  std::string netns_path;  // what to nsenter: the bind mount, or /proc/PID/ns/net in host mode
  std::optional<uint64_t> netns_inode;
  std::vector<EndpointStatus> endpoints;
};

struct NetworkStatus {
  Network network;
  std::vector<std::pair<Endpoint, std::string>> endpoints;  // with the container's name
};

/// Builds the firewall backend, on first use.
using FirewallFactory = std::function<Result<std::unique_ptr<firewall::Firewall>>()>;

/// What an Engine drives. Front ends pass the real one (wiring.h: DefaultWiring); unit tests
/// pass fakes (tests/fakes).
struct Wiring {
  LinkOpsFactory links;        // required
  FirewallFactory firewall;    // required; firewall::NoneFirewall for "no firewall"
  std::unique_ptr<ChangeNotifier> notifier;  // null: nobody hears about changes
  /// Lets the forwarded traffic of `bridges` pass the host's other firewall managers (Docker's
  /// iptables chains, firewalld: src/coexist), `gone` being bridges just removed; returns what
  /// failed. Unset: nothing to do (the CNI plugin, whose runtime owns the host's firewall
  /// policy, and unit tests); berthd's reconcile covers it. A seam so that programs which do
  /// not need it never load libsystemd and libip4tc.
  std::function<std::vector<std::string>(const std::vector<std::string>& bridges,
                                         const std::vector<std::string>& gone)>
      other_firewalls;
  /// Test seam: runs just before an operation commits its transaction; an error makes the
  /// commit fail (as a full disk would), so tests can prove the kernel side is undone then.
  std::function<Status()> before_commit;
  /// "cli" or "cni": who attaches and detaches, for the operation log berthd's metrics read
  /// (op_log.h). Empty: nothing is logged (berthd itself, unit tests).
  std::string op_log_source;
};

/// What reconcile found and did (or, with dry_run, would do), one sentence each.
struct ReconcileReport {
  std::vector<std::string> repairs;
  std::vector<std::string> errors;
};

class Engine {
 public:
  /// Opens (creating) the state root.
  static Result<std::unique_ptr<Engine>> Open(const std::string& root, Wiring wiring);

  const Paths& paths() const { return paths_; }
  store::Store& store() { return *store_; }

  // Networks (networks.cc).
  Result<Network> CreateNetwork(const NetworkCreateRequest& req);
  /// `with_services`: the network's services go in the same operation (a node leaving the
  /// cluster drops its copies of the cluster's services; a user's `network rm` never does).
  Status RemoveNetwork(const std::string& name_or_id, bool with_services = false);
  /// Removes every user network without endpoints; returns their names.
  Result<std::vector<std::string>> PruneNetworks();
  Result<std::vector<Network>> ListNetworks();
  Result<NetworkStatus> InspectNetwork(const std::string& name_or_id);
  /// The shell commands equivalent to attaching a container to `network` (--dry-run).
  Result<std::string> ExplainAttach(const std::string& network);

  /// Adds the container to another network as its next interface (eth1, ...). A stopped
  /// container only records it (no address yet) and gets it on start; its disconnect only
  /// forgets that record (Docker's).
  Result<Endpoint> Connect(const std::string& container, const std::string& network,
                           std::optional<std::string> ip, std::vector<std::string> aliases);
  Status Disconnect(const std::string& container, const std::string& network);
  /// Everything berth's nftables table must hold, from the store.
  Result<firewall::State> FirewallState();

  // Containers (containers.cc): state, namespace and networking, without a process.
  /// `warnings` receives what a user should be told but is not an error (Docker's "published
  /// ports are discarded when using host network mode"). With `undo_start`, the steps that
  /// take back what the call changed *besides* the container (the network's allocation
  /// cursor) are added to it: a caller whose command then cannot start runs them after
  /// RemoveContainer, so a failed `run` leaves nothing behind; otherwise it commits them.
  /// With `start_intent`, a "start" intent (intents.h) is recorded before the commit and its
  /// path returned: the caller holds it until the process is recorded (RecordProcess) or the
  /// start abandoned, then forgets it (Intents::Forget), so a `run` killed in between leaves a
  /// container that recovery marks as never started instead of one stuck in `created`.
  Result<Container> CreateContainer(const ContainerCreateRequest& req,
                                    std::vector<std::string>* warnings = nullptr,
                                    Rollback* undo_start = nullptr,
                                    std::string* start_intent = nullptr);
  /// Removes a container and everything it holds. A running one is refused: stopping a
  /// process is the runtime's work (runtime::Remove kills it first for `rm -f`).
  Status RemoveContainer(const std::string& name_or_id);
  /// Refuses a container whose network namespace others joined (container:NAME): they go
  /// first. RemoveContainer checks it too; runtime::Remove asks before killing anything.
  Status CheckRemovable(const Container& c);
  Result<ContainerStatus> InspectContainer(const std::string& name_or_id);
  Result<std::vector<ContainerStatus>> ListContainers();
  /// created -> running; kNotFound when the container was removed while it started (`rm`
  /// between create and start), so the caller can stop the process it has no record of.
  Status RecordProcess(const std::string& id, int pid, uint64_t start_time);
  Status RecordExit(const std::string& id, int exit_code);

  // Stopped containers (release.cc). As with Docker, a container whose process has exited
  // lets go of its networks: each endpoint is detached (its name stops resolving, its address
  // is freed unless it was given with --ip, its ports are unpublished, its veth goes) and what
  // it was (network, interface, MAC, static address, aliases, published ports) is kept in the
  // store. Its namespace stays. Both are idempotent; host and container:NAME modes have none.
  Status ReleaseEndpoints(const std::string& name_or_id);
  /// Attaches the released endpoints again (before its process starts): the same interface
  /// names, MACs, aliases, host ports and static addresses; a dynamic address may change.
  /// All or nothing; kNotFound when a network was removed meanwhile.
  Status RestoreEndpoints(const std::string& name_or_id);

  // Services (service_ops.cc, services.h). Bad input is refused before anything changes.
  /// `before_commit` (the cluster's etcd write) runs once the service is in place, before
  /// the operation commits; its error undoes everything.
  Result<ServiceStatus> CreateService(const ServiceCreateRequest& req,
                                      const ServiceHook& before_commit = {});
  Status RemoveService(const std::string& name_or_id, const ServiceHook& before_commit = {});
  /// Clustered (cluster_services.cc): the services of the cluster network and the other
  /// nodes' containers on it made to match `state`, the firewall of the services that changed
  /// in one transaction. Writes nothing when nothing changed.
  Status SyncClusterServices(const ClusterServiceState& state);
  Result<std::vector<ServiceStatus>> ListServices();
  Result<ServiceStatus> InspectService(const std::string& name_or_id);
  /// The service's chains and map elements as nft commands.
  Result<std::string> ExplainService(const std::string& name_or_id);

  // Reconcile (reconcile.cc): the store and the kernel made to agree after crashes, reboots and
  // other people's changes.
  /// Finishes or undoes operations killed mid-way, deletes kernel objects and files no record
  /// explains, restores what a record needs (bridges, berth's nftables table, the rules that
  /// let berth's traffic pass Docker's and firewalld's), and records the exit of containers
  /// whose process is gone. With `dry_run`, says what it would do and changes nothing.
  Result<ReconcileReport> Reconcile(bool dry_run);
  /// The firewall alone (berthd, when nftables events show berth's table was damaged): berth's
  /// table made to match the store; returns what differed (empty: nothing was written).
  Result<std::vector<std::string>> SyncFirewall();
  /// After the store started over (`system reconcile --rebuild-state`): a network record for
  /// each bridge berth's nftables table still lists and the store does not, named after the
  /// bridge, with the bridge's address as gateway. Containers cannot be recovered: reconcile
  /// then removes what is left of them.
  Status AdoptNetworks(ReconcileReport* report);

  // External attachments (external.cc, see external.h): the CNI plugin's operations.
  /// Attaches, creating the container record and (from `net`) the network when missing.
  /// All or nothing: on failure no endpoint, veth, record or newly made network is left.
  Result<ExternalAttachment> AttachExternal(const ExternalAttachRequest& req,
                                            const NetworkCreateRequest& net);
  /// Idempotent: an attachment, network or namespace that is gone already counts as removed.
  Status DetachExternal(const std::string& network, const ExternalKey& key);
  /// An error naming the first thing that differs from what the runtime was told.
  Status CheckExternal(const ExternalCheckRequest& req);
  /// Detaches every external attachment of `network` whose key is not in `keep`; returns
  /// the keys removed.
  Result<std::vector<ExternalKey>> CollectExternal(const std::string& network,
                                                   const std::vector<ExternalKey>& keep);
  /// Whether an attachment to `net` could be made now (kUnavailable: not, and why).
  Status ExternalReady(const NetworkCreateRequest& net,
                       const std::optional<std::pair<IpAddr, IpAddr>>& range);

 private:
  Engine(Paths paths, std::unique_ptr<store::Store> store, Wiring wiring)
      : paths_(std::move(paths)),
        store_(std::move(store)),
        links_(std::move(wiring.links)),
        firewall_factory_(std::move(wiring.firewall)),
        notifier_(std::move(wiring.notifier)),
        before_commit_(std::move(wiring.before_commit)),
        other_firewalls_(std::move(wiring.other_firewalls)),
        op_log_(paths_.op_log(), std::move(wiring.op_log_source)) {}

  /// Begins a mutating operation (operation.h): takes the write lock, then opens the LinkOps
  /// for `netns` (an empty Fd: the host only). The one place an operation starts.
  Result<std::unique_ptr<Operation>> Begin(sys::Fd netns);
  /// The same without a LinkOps yet: `run` binds it to the namespace it makes under the lock.
  Result<std::unique_ptr<Operation>> BeginUnbound();

  Result<ContainerStatus> Describe(const Container& c);
  /// Brings the default network's subnet, gateway and MTU in line with config.json when no
  /// container is attached to it; otherwise remembers why not (bridge_config_error_).
  Status ApplyBridgeConfig();
  /// The error for attaching to `n` while config.json's change of it is pending.
  /// ... and the cluster network while the cluster agent fenced this node (cluster.fenced).
  Status CheckBridgeConfig(const Network& n) const {
    if (n.is_default && bridge_config_error_) return *bridge_config_error_;
    return CheckClusterFence(n);
  }
  Status CheckClusterFence(const Network& n) const;
  void Notify(const Change& change) {
    if (notifier_) notifier_->Changed(change);
  }
  EndpointDeps Deps(net::LinkOps& links);
  /// The same, counting the endpoints attached and detached in `op` (the operation log).
  EndpointDeps Deps(Operation& op);
  Result<firewall::Firewall*> Firewall();
  /// Rewrites the container's /etc/hosts from its endpoints (in place: it is bind-mounted).
  Status RefreshHosts(const Container& c);
  /// Connect of a stopped container (release.cc): recorded as a released endpoint, attached
  /// when it starts (Docker's), under the lock `op` holds.
  Result<Endpoint> RecordConnect(Operation& op, const Container& c, const Network& n,
                                 std::optional<IpAddr> ip, std::vector<std::string> aliases);
  /// CreateContainer's start intent, when the caller asked for one (`path`).
  Status RecordStartIntent(const Container& c, std::string* path);
  /// CreateContainer's undo_start step for a network: puts the allocation cursor back to
  /// `before` if it still points at `allocated` (nobody allocated since).
  Status RestoreIpCursor(const std::string& network_id, const IpAddr& allocated,
                         std::optional<IpAddr> before);

  /// Recovers the intents of operations whose process died (reconcile.cc); cheap when there
  /// are none. `report`, when given, receives what was done.
  Status RecoverKilledOperations(ReconcileReport* report);

  Paths paths_;
  Intents intents_{paths_.intents_dir()};
  bool recovering_ = false;  // RecoverKilledOperations runs verbs, which begin operations
  /// SyncFirewall/Reconcile compare the table themselves (and report what differed): their
  /// operation skips the generation check that would repair it first, unreported.
  bool syncing_firewall_ = false;
  std::unique_ptr<store::Store> store_;
  LinkOpsFactory links_;
  FirewallFactory firewall_factory_;
  std::unique_ptr<firewall::Firewall> firewall_;
  std::unique_ptr<ChangeNotifier> notifier_;
  std::function<Status()> before_commit_;
  decltype(Wiring::other_firewalls) other_firewalls_;
  /// other_firewalls_ when set; failures are logged (the network operation has succeeded).
  void SyncOtherFirewalls(const std::vector<Network>& networks,
                          const std::vector<std::string>& gone = {});
  BridgeConfig bridge_config_;
  std::optional<Error> bridge_config_error_;
  OpLog op_log_;
};

}  // namespace berth::engine
