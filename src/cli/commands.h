// The CLI's command handlers: each takes parsed arguments, calls the engine, prints, and
// returns the process exit code. Parsing lives in app.cc (the only file that sees CLI11).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "runtime/exec.h"

namespace berth::cli {

/// The engine as the CLI drives it: the kernel, berthd notified, and the host's other firewall
/// managers kept passing berth's traffic (coexist).
engine::Wiring CliWiring(const std::string& root);

struct Globals {
  std::string root;    // state root after --root / BERTH_ROOT / default
  std::string format;  // "" (table), "json", or a template (cli/format.h)
};

/// `mtu`: the text of --mtu, parsed here so a non-number gets berth's message and exit code.
int NetworkCreate(const Globals& g, engine::NetworkCreateRequest req,
                  const std::optional<std::string>& mtu);
int NetworkList(const Globals& g);
int NetworkInspect(const Globals& g, const std::vector<std::string>& names);
int NetworkRemove(const Globals& g, const std::vector<std::string>& names);
int NetworkPrune(const Globals& g);
int NetworkExplain(const Globals& g, const std::string& name);
int NetworkConnect(const Globals& g, const std::string& network, const std::string& container,
                   const std::optional<std::string>& ip, const std::vector<std::string>& aliases);
int NetworkDisconnect(const Globals& g, const std::string& network, const std::string& container);

/// `run`'s flags about the process rather than the network (runtime/config.h).
struct RunFlags {
  std::vector<std::string> env, env_files, add_hosts, expose, labels;
  std::string workdir, user, restart = "no", pid, ipc;
  bool interactive = false, tty = false, publish_all = false, init = false;
};

/// `publish`: the -p specs, parsed here so a bad one fails before anything is created.
int Run(const Globals& g, engine::ContainerCreateRequest req,
        const std::vector<std::string>& publish, bool detach, const RunFlags& flags);
int Exec(const Globals& g, const std::string& name, const std::vector<std::string>& cmd,
         runtime::ExecOptions options, const std::vector<std::string>& env_files);
/// `filters`: Docker's --filter KEY=VALUE (name, network, label, status, id).
int Ps(const Globals& g, bool all, bool quiet, const std::vector<std::string>& filters);

// Services (service_cmds.cc).
int ServiceCreate(const Globals& g, const engine::ServiceCreateRequest& req);
int ServiceList(const Globals& g);
/// `explain`: the nft commands of each service instead of its JSON.
int ServiceInspect(const Globals& g, const std::vector<std::string>& names, bool explain);
int ServiceRemove(const Globals& g, const std::vector<std::string>& names);

// Lifecycle (lifecycle_cmds.cc).
int Start(const Globals& g, const std::vector<std::string>& names, bool attach);
int Stop(const Globals& g, const std::vector<std::string>& names, int timeout);
int Restart(const Globals& g, const std::vector<std::string>& names, int timeout);
int Kill(const Globals& g, const std::vector<std::string>& names, const std::string& signal);
int Logs(const Globals& g, const std::string& name, bool follow, int tail, bool timestamps);
int Port(const Globals& g, const std::string& name, const std::string& port);
int Top(const Globals& g, const std::string& name);
int WaitFor(const Globals& g, const std::vector<std::string>& names);
int Version(const Globals& g);
int Remove(const Globals& g, const std::vector<std::string>& names, bool force);
int Inspect(const Globals& g, const std::vector<std::string>& names);
/// The monitor's hook (runtime::kContainerExitedVerb): record the exit, honour --rm.
int ContainerExited(const Globals& g, const std::string& id, int exit_code, int pid);

/// `berth info` (info_cmd.cc): what docker info tells, for berth, and the other firewall
/// managers found with what berth does about each. Reads only.
int Info(const Globals& g);
/// Internal `berth system firewall-sync` (berthd's reconcile runs it): makes the traffic of
/// every network's bridge pass the other firewall managers again, e.g. after Docker restarted.
int FirewallSync(const Globals& g);
/// berth system reconcile [--dry-run] [--rebuild-state].
int SystemReconcile(const Globals& g, bool dry_run, bool rebuild_state);

// Multi-host (cluster_cmds.cc).
struct EtcdFlags {
  std::string endpoints;  // --etcd URL[,URL...]
  std::string prefix = "/berth";
  std::string cacert, cert, key;
};
struct ClusterInitFlags {
  std::string cidr;
  int subnet_len = 24;
  std::string backend = "vxlan";
  uint32_t vni = 1;
  uint16_t port = 8472;
};
struct ClusterJoinFlags {
  std::string node, node_ip, iface;
  int mtu = 0;
};
int ClusterInit(const Globals& g, const EtcdFlags& etcd, const ClusterInitFlags& f);
int ClusterJoin(const Globals& g, const EtcdFlags& etcd, const ClusterJoinFlags& f);
/// `force`: leave this host even when etcd is unreachable (the subnet stays held there).
int ClusterLeave(const Globals& g, bool force);
/// `etcd`: used when this host is not in a cluster (its cluster.json names the etcd otherwise).
int NodeList(const Globals& g, const EtcdFlags& etcd);
/// The ip(8)/bridge(8) commands equivalent to this node's overlay, per peer (network explain).
Result<std::string> ExplainCluster(const Globals& g);
int NodeRemove(const Globals& g, const EtcdFlags& etcd, const std::vector<std::string>& names);

/// `berth why SRC DST[:PORT][/udp]` (why_cmd.cc): can SRC reach DST, and if not, why.
int Why(const Globals& g, const std::string& src, const std::string& dst);

/// `berth topo [--format text|json|dot]` (topo_cmd.cc).
int Topo(const Globals& g, const std::string& format);

/// `berth events [--since DURATION] [--follow]` (events_cmd.cc): what berthd recorded, oldest
/// first; with `follow`, then what it records from now on, until killed.
int Events(const Globals& g, const std::string& since, bool follow);

/// `berth trace SRC DST[:PORT][/udp|/icmp] [--watch SECONDS]` (trace_cmd.cc).
int Trace(const Globals& g, const std::string& src, const std::string& dst, int watch);

/// Builds seed 001's topology in throwaway namespaces and narrates it.
int Demo();

/// Prints "berth: error: ..." and returns `exit_code`.
int Fail(const Error& e, int exit_code = 1);

}  // namespace berth::cli
