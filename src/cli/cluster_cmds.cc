// berth cluster init | join | leave, berth node ls | rm: the multi-host front end. The control
// plane is cluster/ (etcd keys, claims, the agent berthd runs); this file joins it to the
// engine (the local `cluster` network) and to berthd (which runs the agent).
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/render.h"
#include "core/ids.h"
#include "cluster/config.h"
#include "cluster/local.h"
#include "cluster/peers.h"
#include "cluster/subnets.h"
#include "engine/berthd.h"
#include "engine/paths.h"
#include "etcd/client.h"
#include "net/nl_link_ops.h"
#include "net/overlay.h"

namespace berth::cli {

namespace {

Result<etcd::Options> EtcdOptions(const EtcdFlags& f) {
  etcd::Options o;
  BERTH_ASSIGN_OR_RETURN(o.endpoints, etcd::ParseEndpoints(f.endpoints));
  o.prefix = f.prefix.empty() ? "/berth" : f.prefix;
  o.cacert = f.cacert;
  o.cert = f.cert;
  o.key = f.key;
  if (o.cert.empty() != o.key.empty()) {
    return Error::Invalid("--etcd-cert and --etcd-key go together: give both or neither");
  }
  for (const auto& [flag, path] : {std::pair{"--etcd-cacert", &o.cacert},
                                   std::pair{"--etcd-cert", &o.cert},
                                   std::pair{"--etcd-key", &o.key}}) {
    if (!path->empty() && ::access(path->c_str(), R_OK) != 0) {
      return Error::Invalid(std::string(flag) + " " + *path + ": cannot read it (" +
                            std::strerror(errno) + ")");
    }
  }
  return o;
}

// The etcd options of this node's membership, or of the flags when it is not in a cluster.
Result<etcd::Options> EtcdOf(const Globals& g, const EtcdFlags& f) {
  if (!f.endpoints.empty()) return EtcdOptions(f);
  auto local = cluster::ReadLocalState(g.root);
  if (!local.ok()) {
    return std::move(local).error().Wrap("no --etcd given and this host is not in a cluster");
  }
  return local->etcd;
}

Error Unreachable(const etcd::Options& o, const Error& e) {
  std::string list;
  for (const auto& ep : o.endpoints) list += (list.empty() ? "" : ",") + ep;
  return Error(e.code(), "etcd is unreachable at " + list + ": " + e.message());
}

std::string Ago(int64_t unix_s) {
  if (unix_s <= 0) return "never";
  int64_t d = static_cast<int64_t>(std::time(nullptr)) - unix_s;
  if (d < 0) d = 0;
  if (d < 120) return std::to_string(d) + "s ago";
  if (d < 7200) return std::to_string(d / 60) + "m ago";
  return std::to_string(d / 3600) + "h ago";
}

std::string Rfc3339(int64_t unix_s) {
  if (unix_s <= 0) return "";
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int ClusterInit(const Globals& g, const EtcdFlags& ef, const ClusterInitFlags& f) {
  (void)g;
  auto opts = EtcdOptions(ef);
  if (!opts.ok()) return Fail(opts.error(), 125);
  cluster::ClusterConfig c;
  auto cidr = Cidr::ParseNetwork(f.cidr);
  if (!cidr.ok()) return Fail(cidr.error().Wrap("--cidr"), 125);
  c.cidr = *cidr;
  c.subnet_len = f.subnet_len;
  auto backend = cluster::ParseBackend(f.backend);
  if (!backend.ok()) return Fail(backend.error().Wrap("--backend"), 125);
  c.backend = *backend;
  c.vni = f.vni;
  c.port = f.port;
  if (Status st = cluster::Validate(c); !st.ok()) return Fail(st.error(), 125);
  auto client = etcd::Client::Open(*opts);
  if (!client.ok()) return Fail(client.error());
  auto written = cluster::Init(**client, c);
  if (!written.ok()) {
    if (written.error().code() == Code::kUnavailable) return Fail(Unreachable(*opts, written.error()));
    return Fail(written.error());
  }
  std::printf("%s cluster %s: subnets of /%d, backend %s, vni %u, port %u\n",
              *written ? "initialised" : "already initialised with the same config:",
              c.cidr.ToString().c_str(), c.subnet_len, cluster::BackendName(c.backend), c.vni,
              static_cast<unsigned>(c.port));
  return 0;
}

int ClusterJoin(const Globals& g, const EtcdFlags& ef, const ClusterJoinFlags& f) {
  auto opts = EtcdOptions(ef);
  if (!opts.ok()) return Fail(opts.error(), 125);
  if (Status st = cluster::ValidateNodeName(f.node); !st.ok()) return Fail(st.error(), 125);
  auto node_ip = IpAddr::Parse(f.node_ip);
  if (!node_ip.ok() || !node_ip->is_v4()) {
    return Fail(Error::Invalid("--node-ip " + f.node_ip + ": expected an IPv4 address"), 125);
  }
  if (f.mtu != 0 && (f.mtu < 576 || f.mtu > 65535)) {
    return Fail(Error::Invalid("--mtu " + std::to_string(f.mtu) + ": must be 576-65535"), 125);
  }
  cluster::LocalState local;
  local.etcd = *opts;
  local.node = f.node;
  local.node_ip = *node_ip;
  local.iface = f.iface;
  local.mtu = f.mtu;
  // A host that joined before keeps its subnet: joining again is a no-op, another name is not.
  auto before = cluster::ReadLocalState(g.root);
  if (before.ok()) {
    if (before->node != f.node) {
      return Fail(Error::Exists("this host already joined the cluster as node " + before->node +
                                ": run `berth cluster leave` first"));
    }
    local.subnet = before->subnet;
    local.host_id = before->host_id;
  }
  if (local.host_id.empty()) local.host_id = NewId();

  auto client = etcd::Client::Open(*opts);
  if (!client.ok()) return Fail(client.error());
  auto config = cluster::Load(**client);
  if (!config.ok()) {
    if (config.error().code() == Code::kUnavailable) return Fail(Unreachable(*opts, config.error()));
    return Fail(config.error());
  }
  auto underlay = net::FindUnderlay(local.node_ip);
  if (!underlay.ok()) return Fail(underlay.error().Wrap("--node-ip " + f.node_ip));
  std::string dev = f.iface.empty() ? underlay->dev : f.iface;
  // Everything that can be checked before the claim is: a failed join leaves nothing behind.
  if (!f.iface.empty() && ::if_nametoindex(f.iface.c_str()) == 0) {
    return Fail(Error::Invalid("--iface " + f.iface + ": no such device on this host"), 125);
  }
  if (config->cidr.Contains(local.node_ip)) {
    return Fail(Error::Invalid("the cluster CIDR " + config->cidr.ToString() +
                               " contains this node's IP " + f.node_ip +
                               ": container subnets would shadow the underlay"), 125);
  }
  const bool vxlan_backend = config->backend != cluster::Backend::kHostGw;
  const int max_mtu = vxlan_backend ? underlay->mtu - net::kVxlanOverhead : underlay->mtu;
  if (f.mtu > max_mtu) {
    return Fail(Error::Invalid("--mtu " + std::to_string(f.mtu) + " is larger than the " +
                               std::to_string(max_mtu) + " the underlay " + underlay->dev +
                               " (MTU " + std::to_string(underlay->mtu) + ") carries" +
                               (vxlan_backend ? " with VXLAN's 50 bytes" : "")),
                125);
  }

  cluster::NodeInfo self;
  self.name = f.node;
  self.node_ip = local.node_ip;
  self.subnet = local.subnet;
  self.backend = cluster::BackendName(config->backend);
  bool vxlan = config->backend != cluster::Backend::kHostGw;
  int bridge_mtu = vxlan ? underlay->mtu - net::kVxlanOverhead : underlay->mtu;
  if (f.mtu) bridge_mtu = f.mtu;
  self.mtu = bridge_mtu;
  self.host_id = local.host_id;
  // Another host with this node name: refused while it is alive; a dead one is replaced.
  bool take_over = false;
  {
    auto theirs = (*client)->Get(cluster::NodeKey(f.node));
    if (!theirs.ok()) return Fail(Unreachable(*opts, theirs.error()));
    auto other = theirs->kvs.empty() ? Result<cluster::NodeInfo>(Error::NotFound(""))
                                      : cluster::ParseNode(theirs->kvs[0].value);
    if (other.ok() && !other->host_id.empty() && other->host_id != local.host_id) {
      auto alive = (*client)->Get(cluster::AliveKey(f.node));
      if (!alive.ok()) return Fail(Unreachable(*opts, alive.error()));
      if (!alive->kvs.empty()) {
        return Fail(Error::Exists("node name " + f.node + " is in use by the live node at " +
                                  other->node_ip.ToString() + ": choose another --node"));
      }
      take_over = true;
    }
  }

  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  // A `cluster` network made by an earlier join that lost its cluster.json: its subnet is ours.
  auto existing = (*engine)->InspectNetwork(cluster::kNetworkName);
  if (existing.ok() && local.subnet.prefix() == 0) local.subnet = self.subnet = existing->network.subnet;

  // A new subnet overlaps none of this host's networks and routes.
  std::vector<Cidr> avoid;
  if (auto nets = (*engine)->ListNetworks(); nets.ok()) {
    for (const auto& n : *nets) {
      if (n.name != cluster::kNetworkName) avoid.push_back(n.subnet);
    }
  }
  if (auto ops = net::NlLinkOps::Open(); ops.ok()) {
    if (auto host = (*ops)->HostRoutes(); host.ok()) {
      for (const Cidr& c : *host) {
        if (c.is_v4() && !config->cidr.Contains(c)) avoid.push_back(c);
      }
    }
  }
  auto claimed = cluster::Claim(**client, *config, self, take_over, avoid);
  if (!claimed.ok()) {
    if (claimed.error().code() == Code::kUnavailable) return Fail(Unreachable(*opts, claimed.error()));
    return Fail(claimed.error());
  }
  self = *claimed;
  local.subnet = self.subnet;
  // From here on a failure gives the claim back (a fresh join only) and removes the device.
  const bool fresh = !before.ok() && !existing.ok() && !take_over;
  bool made_device = false;
  auto undo = [&](Error e) {
    if (fresh) {
      if (Status st = cluster::Unclaim(**client, self); !st.ok()) {
        std::fprintf(stderr, "berth: warning: give the subnet back: %s\n",
                     st.error().message().c_str());
      }
    }
    if (made_device) (void)net::DeleteVxlan(cluster::kVxlanDevice);
    return Fail(e);
  };

  // The VXLAN device now, so peers learn this node's VTEP MAC with its record.
  if (vxlan) {
    net::VxlanSpec spec;
    spec.name = cluster::kVxlanDevice;
    spec.vni = config->vni;
    spec.port = config->port;
    spec.local = local.node_ip;
    spec.underlay_dev = dev;
    spec.mtu = underlay->mtu - net::kVxlanOverhead;
    spec.vtep_address = Cidr(self.subnet.Network(), 32);
    made_device = fresh && ::if_nametoindex(cluster::kVxlanDevice) == 0;
    auto mac = net::EnsureVxlan(spec);
    if (!mac.ok()) return undo(mac.error().Wrap("create the VXLAN device"));
    self.vtep_mac = *mac;
    if (Status st = cluster::Publish(**client, self); !st.ok()) return undo(st.error());
  }

  if (existing.ok()) {
    if (existing->network.subnet != self.subnet) {
      return undo(Error::Exists("network " + std::string(cluster::kNetworkName) + " exists with subnet " +
                                existing->network.subnet.ToString() + ", but this node's subnet is " +
                                self.subnet.ToString() + ": remove the network first"));
    }
  } else {
    engine::NetworkCreateRequest req;
    req.name = cluster::kNetworkName;
    req.subnet = self.subnet.ToString();
    req.gateway = self.subnet.Network().Plus(1).ToString();
    req.mtu = bridge_mtu;
    req.options = {"cluster_cidr=" + config->cidr.ToString()};
    auto net = (*engine)->CreateNetwork(req);
    if (!net.ok()) return undo(net.error().Wrap("create network cluster"));
  }
  (void)cluster::RemoveFence(g.root);
  if (Status st = cluster::WriteLocalState(g.root, local); !st.ok()) return undo(st.error());

  // berthd runs the agent (and brings it back after a restart or reboot: cluster.json).
  engine::Paths paths{g.root};
  if (Status st = engine::EnsureBerthd(paths); !st.ok()) {
    return Fail(st.error().Wrap("start berthd (the cluster agent)"));
  }
  if (Status st = engine::ReloadBerthd(paths); !st.ok()) {
    std::fprintf(stderr, "berth: warning: berthd: %s\n", st.error().message().c_str());
  }
  std::printf("joined as node %s: subnet %s, backend %s, mtu %d\n", self.name.c_str(),
              self.subnet.ToString().c_str(), cluster::BackendName(config->backend), bridge_mtu);
  return 0;
}

int ClusterLeave(const Globals& g, bool force) {
  auto local = cluster::ReadLocalState(g.root);
  if (!local.ok()) return Fail(local.error());
  // etcd first: leaving without giving the subnet back would strand it (unless --force).
  auto client = etcd::Client::Open(local->etcd);
  if (!client.ok()) return Fail(client.error());
  bool reachable = true;
  if (auto r = (*client)->Get(cluster::NodeKey(local->node)); !r.ok()) {
    Error e = Unreachable(local->etcd, r.error());
    if (!force) {
      return Fail(e.Wrap("cannot give the subnet back (`berth cluster leave --force` leaves "
                         "this host anyway; the subnet stays held until `berth node rm " +
                         local->node + "` is run from a node that reaches etcd)"));
    }
    reachable = false;
    std::fprintf(stderr, "berth: warning: %s: leaving this host only (--force)\n",
                 e.message().c_str());
  }
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  // Refused while containers are attached, as `network rm` is. The cluster's services stay in
  // etcd for the other nodes; this node's copies go with the network, in the same operation,
  // so a refused leave keeps them and berthd cannot put one back in between.
  if (Status st = (*engine)->RemoveNetwork(cluster::kNetworkName, /*with_services=*/true);
      !st.ok() && st.error().code() != Code::kNotFound) {
    return Fail(st.error());
  }
  // berthd stops its agent when cluster.json is gone (routes stay until we withdraw them).
  if (Status st = cluster::RemoveLocalState(g.root); !st.ok()) return Fail(st.error());
  (void)cluster::RemoveFence(g.root);  // a removed node is free to join again
  engine::Paths paths{g.root};
  (void)engine::ReloadBerthd(paths);
  ErrorList errors;
  auto applied = net::Apply(cluster::kVxlanDevice, {});
  if (!applied.ok()) errors.Add(std::move(applied).error());
  errors.Add(net::DeleteVxlan(cluster::kVxlanDevice));
  if (reachable) {
    Status removed = cluster::RemoveNode(**client, local->node);
    if (!removed.ok() && removed.error().code() != Code::kNotFound) errors.Add(removed);
  }
  if (Status st = errors.ToStatus("leave"); !st.ok()) return Fail(st.error());
  if (!reachable) {
    std::printf("node %s left the cluster on this host only: subnet %s stays held in etcd until "
                "`berth node rm %s` is run from a node that reaches etcd\n",
                local->node.c_str(), local->subnet.ToString().c_str(), local->node.c_str());
    return 0;
  }
  std::printf("node %s left the cluster: subnet %s given back\n", local->node.c_str(),
              local->subnet.ToString().c_str());
  return 0;
}

// The nodes berthd's agent knew last: what `node ls` shows while etcd is unreachable.
std::vector<cluster::NodeInfo> NodesFromAgent(const Globals& g) {
  std::vector<cluster::NodeInfo> nodes;
  engine::Paths paths{g.root};
  auto body = engine::BerthdRequest(paths, "GET", "/v1/status", 1000);
  if (!body.ok()) return nodes;
  nlohmann::json j = nlohmann::json::parse(*body, nullptr, false);
  if (!j.is_object() || !j.contains("cluster") || !j["cluster"].is_object()) return nodes;
  for (const auto& n : j["cluster"].value("nodes", nlohmann::json::array())) {
    if (auto info = cluster::ParseNode(n.dump()); info.ok()) nodes.push_back(*info);
  }
  return nodes;
}

int NodeList(const Globals& g, const EtcdFlags& ef) {
  auto opts = EtcdOf(g, ef);
  if (!opts.ok()) return Fail(opts.error());
  auto local = cluster::ReadLocalState(g.root);
  auto client = etcd::Client::Open(*opts);
  if (!client.ok()) return Fail(client.error());
  auto all = (*client)->GetPrefix("");
  std::optional<cluster::ClusterConfig> config;
  std::vector<cluster::NodeInfo> nodes;
  std::map<std::string, int64_t> alive;
  const bool reachable = all.ok();
  if (!reachable && all.error().code() != Code::kUnavailable) return Fail(all.error());
  if (reachable) {
    for (const auto& kv : all->kvs) {
      if (kv.key == cluster::kConfigKey) {
        auto c = cluster::ParseConfig(kv.value);
        if (c.ok()) config = *c;
      } else if (kv.key.rfind(cluster::kNodesPrefix, 0) == 0) {
        auto n = cluster::ParseNode(kv.value);
        if (n.ok()) nodes.push_back(*n);
      } else if (kv.key.rfind(cluster::kAlivePrefix, 0) == 0) {
        alive[kv.key.substr(std::string_view(cluster::kAlivePrefix).size())] =
            std::atoll(kv.value.c_str());
      }
    }
    if (!config) return Fail(Error::NotFound("no cluster config under " + opts->prefix));
  } else {
    nodes = NodesFromAgent(g);  // as this node's agent knew them last
  }
  // The path from this node (when it is one) to each other node.
  std::string dev;
  if (local.ok()) {
    dev = local->iface;
    if (dev.empty()) {
      auto u = net::FindUnderlay(local->node_ip);
      if (u.ok()) dev = u->dev;
    }
  }
  cluster::OnLinkFn on_link = [&](const IpAddr& ip) -> Result<bool> {
    if (dev.empty()) return false;
    return net::OnLink(dev, ip);
  };
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : nodes) {
    bool self = local.ok() && local->node == n.name;
    // The path this node uses to reach it; itself: the backend it joined with.
    std::string path = n.backend.empty() ? "-" : n.backend;
    if (!self && config) {
      auto p = cluster::PathTo(config->backend, n, on_link);
      path = p.ok() ? cluster::PathName(*p) : "?";
    }
    auto a = alive.find(n.name);
    bool ready = a != alive.end();
    int64_t seen = ready ? a->second : 0;
    out.push_back({{"name", n.name},
                   {"node_ip", n.node_ip.ToString()},
                   {"subnet", n.subnet.ToString()},
                   {"backend", path},
                   {"vtep_mac", n.vtep_mac},
                   {"ready", ready},
                   {"last_seen", Rfc3339(seen)},
                   {"mtu", n.mtu},
                   {"self", self}});
    rows.push_back({n.name + (self ? " (this node)" : ""), n.node_ip.ToString(), n.subnet.ToString(),
                    path, n.vtep_mac.empty() ? "-" : n.vtep_mac,
                    !reachable ? "Unknown" : ready ? "Ready" : "NotReady",
                    !reachable ? "-" : ready ? Ago(seen) : "expired"});
  }
  if (g.format == "json") {
    std::cout << nlohmann::json{{"etcd_reachable", reachable}, {"nodes", out}}.dump(2) << "\n";
    return 0;
  }
  std::cout << Table({"NAME", "NODE IP", "SUBNET", "BACKEND", "VTEP MAC", "STATUS", "LAST SEEN"},
                     rows);
  std::string list;
  for (const auto& ep : opts->endpoints) list += (list.empty() ? "" : ",") + ep;
  if (!reachable) {
    std::printf("etcd: UNREACHABLE at %s (%s): nodes as this node's agent knew them last\n",
                list.c_str(), all.error().message().c_str());
    return 0;
  }
  std::printf("etcd: reachable at %s (revision %lld); cluster %s, backend %s\n", list.c_str(),
              static_cast<long long>(all->revision), config->cidr.ToString().c_str(),
              cluster::BackendName(config->backend));
  return 0;
}

Result<std::string> ExplainCluster(const Globals& g) {
  BERTH_ASSIGN_OR_RETURN(cluster::LocalState local, cluster::ReadLocalState(g.root));
  std::string dev = local.iface;
  int underlay_mtu = 0;
  if (auto u = net::FindUnderlay(local.node_ip); u.ok()) {
    if (dev.empty()) dev = u->dev;
    underlay_mtu = u->mtu;
  }
  std::string out = "\n# Multi-host: node " + local.node + ", subnet " + local.subnet.ToString() +
                    ", underlay " + dev + " " + local.node_ip.ToString() + "\n";
  std::vector<net::Peer> peers;
  auto client = etcd::Client::Open(local.etcd);
  std::optional<cluster::ClusterConfig> config;
  Result<etcd::RangeResult> all = Error::Unavailable("no client");
  if (client.ok()) all = (*client)->GetPrefix("");
  if (all.ok()) {
    std::vector<cluster::NodeInfo> nodes;
    for (const auto& kv : all->kvs) {
      if (kv.key == cluster::kConfigKey) {
        if (auto c = cluster::ParseConfig(kv.value); c.ok()) config = *c;
      } else if (kv.key.rfind(cluster::kNodesPrefix, 0) == 0) {
        if (auto n = cluster::ParseNode(kv.value); n.ok()) nodes.push_back(*n);
      }
    }
    if (!config) return Error::NotFound("no cluster config in etcd");
    auto p = cluster::PeersOf(
        local.node, nodes, config->backend,
        [&](const IpAddr& ip) { return net::OnLink(dev, ip); });
    if (!p.ok()) return std::move(p).error();
    peers = *p;
  } else {
    // etcd away: what the kernel holds is what the agent programmed last.
    out += "# etcd is unreachable (" + all.error().message() + "): peers as programmed now\n";
    BERTH_ASSIGN_OR_RETURN(peers, net::Programmed(cluster::kVxlanDevice));
  }
  const std::string vx = cluster::kVxlanDevice;
  bool any_vxlan = false;
  for (const auto& p : peers) any_vxlan |= p.path == net::PeerPath::kVxlan;
  if (config ? config->backend != cluster::Backend::kHostGw : any_vxlan) {
    out += "ip link add " + vx + " type vxlan id " + std::to_string(config ? config->vni : 1) +
           " local " + local.node_ip.ToString() + " dev " + dev + " dstport " +
           std::to_string(config ? config->port : 8472) + " nolearning\n";
    if (underlay_mtu) {
      out += "ip link set " + vx + " mtu " + std::to_string(underlay_mtu - net::kVxlanOverhead) +
             "\n";
    }
    out += "ip addr add " + local.subnet.Network().ToString() + "/32 dev " + vx + "\n";
    out += "ip link set " + vx + " up\n";
  }
  for (const auto& p : peers) {
    out += "# peer " + (p.node.empty() ? p.subnet.ToString() : p.node) + " (" +
           cluster::PathName(p.path) + ")\n";
    if (p.path == net::PeerPath::kHostGw) {
      out += "ip route replace " + p.subnet.ToString() + " via " + p.node_ip.ToString() +
             " proto " + std::to_string(net::kRouteProtocol) + "\n";
      continue;
    }
    std::string vtep = p.subnet.Network().ToString();
    out += "bridge fdb append " + p.vtep_mac + " dev " + vx + " dst " + p.node_ip.ToString() +
           " self permanent\n";
    out += "ip neigh replace " + vtep + " lladdr " + p.vtep_mac + " dev " + vx +
           " nud permanent\n";
    out += "ip route replace " + p.subnet.ToString() + " via " + vtep + " dev " + vx +
           " onlink proto " + std::to_string(net::kRouteProtocol) + "\n";
  }
  if (peers.empty()) out += "# no peers yet\n";
  return out;
}

int NodeRemove(const Globals& g, const EtcdFlags& ef, const std::vector<std::string>& names) {
  auto opts = EtcdOf(g, ef);
  if (!opts.ok()) return Fail(opts.error());
  auto client = etcd::Client::Open(*opts);
  if (!client.ok()) return Fail(client.error());
  int rc = 0;
  for (const auto& name : names) {
    Status st = cluster::RemoveNode(**client, name);
    if (!st.ok()) {
      rc = Fail(st.error().code() == Code::kUnavailable ? Unreachable(*opts, st.error())
                                                        : st.error());
      continue;
    }
    std::printf("%s\n", name.c_str());
  }
  return rc;
}

}  // namespace berth::cli
