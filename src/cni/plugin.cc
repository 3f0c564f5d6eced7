#include "cni/plugin.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "cni/config.h"
#include "cni/result.h"
#include "engine/engine.h"
#include "engine/wiring.h"

namespace berth::cni {

namespace {

using Args = std::map<std::string, std::string>;

/// A berth error as a CNI error; `fallback` for failures of the kernel or the store.
CniError FromBerth(const Error& e, int fallback) {
  switch (e.code()) {
    case Code::kInvalid:
      return {kInvalidConfig, e.message(), ""};
    case Code::kUnavailable:
      return {kTryAgainLater, e.message(), ""};
    case Code::kExists:
    case Code::kInUse:
      return {kBerthConflict, e.message(), ""};
    default:
      return {fallback, e.message(), ""};
  }
}

/// CNI_NETNS must name a network namespace (a bind mount of one, or /proc/PID/ns/net).
CniStatus CheckNetns(const std::string& path) {
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) {
    return CniError{kInvalidEnvironment,
                    "invalid environment: CNI_NETNS " + path + ": " + std::strerror(errno), ""};
  }
  if (static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC) {
    return CniError{kInvalidEnvironment,
                    "invalid environment: CNI_NETNS " + path + " is not a network namespace", ""};
  }
  return std::nullopt;
}

engine::NetworkCreateRequest NetworkRequest(const NetConf& c) {
  engine::NetworkCreateRequest n;
  n.name = c.name;
  if (c.ipam.subnet) n.subnet = c.ipam.subnet->ToString();
  if (c.ipam.gateway) n.gateway = c.ipam.gateway->ToString();
  n.mtu = c.mtu;
  n.internal = c.internal;
  n.options.push_back(std::string("masquerade=") + (c.ip_masq ? "true" : "false"));
  n.options.push_back(std::string("dns=") + (c.dns_enabled ? "true" : "false"));
  if (c.bridge) n.options.push_back("bridge_name=" + *c.bridge);
  return n;
}

std::optional<std::pair<IpAddr, IpAddr>> Range(const IpamConf& ipam) {
  if (!ipam.range_start && !ipam.range_end) return std::nullopt;
  // ParseNetConf guarantees a subnet with either end.
  return std::pair{ipam.range_start.value_or(ipam.subnet->Network()),
                   ipam.range_end.value_or(ipam.subnet->Last())};
}

/// Routes from an ipam section or an IPAM result: the default one becomes `default_route`.
void TakeRoutes(const std::vector<Route>& routes, engine::ExternalAttachRequest* req) {
  for (const Route& r : routes) {
    if (!r.dst.is_v4()) continue;
    if (r.is_default()) {
      req->default_route = true;
    } else {
      req->routes.push_back({r.dst, r.gw});
    }
  }
}

/// Whether a delegate's error means "this command is beyond me" (an older plugin asked for
/// STATUS or GC), which is not the delegate being unready.
bool Unsupported(const CniError& e) {
  return e.code == kIncompatibleVersion || e.code == kInvalidEnvironment;
}

class Invocation {
 public:
  Invocation(const Env& env, const Args& args, const NetConf& conf, std::string_view stdin_data,
             Delegator& delegator, engine::Engine& engine)
      : env_(env), args_(args), conf_(conf), stdin_(stdin_data), delegator_(delegator),
        engine_(engine) {}

  Expected<std::string> Add();
  CniStatus Del();
  CniStatus Check();
  CniStatus Ready();
  CniStatus Gc();

 private:
  const Env& env_;
  const Args& args_;
  const NetConf& conf_;
  std::string_view stdin_;
  Delegator& delegator_;
  engine::Engine& engine_;
};

Expected<std::string> Invocation::Add() {
  if (auto e = CheckNetns(env_.netns)) return *e;
  engine::NetworkCreateRequest net = NetworkRequest(conf_);
  engine::ExternalAttachRequest req;
  req.network = conf_.name;
  req.key = {env_.container_id, env_.ifname};
  req.netns_path = env_.netns;
  if (auto it = args_.find("K8S_POD_NAME"); it != args_.end()) req.name = it->second;
  if (auto it = conf_.runtime.aliases.find(conf_.name); it != conf_.runtime.aliases.end()) {
    req.aliases = it->second;
  }
  req.ports = conf_.runtime.ports;
  req.mac = conf_.runtime.mac;
  if (auto it = args_.find("MAC"); !req.mac && it != args_.end()) req.mac = it->second;
  req.default_route = conf_.is_default_gateway;
  TakeRoutes(conf_.ipam.routes, &req);
  const bool delegated = conf_.ipam.delegated();
  Dns dns;

  if (!delegated) {
    if (conf_.runtime.ips.size() > 1) {
      return CniError{kInvalidConfig,
                      "runtimeConfig.ips: berth gives one IPv4 address per attachment", ""};
    }
    if (!conf_.runtime.ips.empty()) {
      req.ip = conf_.runtime.ips[0].addr();
    } else if (auto it = args_.find("IP"); it != args_.end()) {
      auto ip = IpAddr::Parse(it->second);
      if (!ip.ok()) {
        return CniError{kInvalidEnvironment,
                        "invalid environment: CNI_ARGS IP: " + ip.error().message(), ""};
      }
      req.ip = *ip;
    }
    req.range = Range(conf_.ipam);
  } else {
    // The IPAM plugin reads the same configuration (runtimeConfig.ips included) and answers
    // with the address; berth builds everything else around it.
    auto got = DelegateAdd(delegator_, conf_.ipam.type, stdin_);
    if (!got.ok()) return got.error();
    const IpConfig* v4 = nullptr;
    for (const IpConfig& ip : got->ips) {
      if (ip.address.is_v4() && !v4) v4 = &ip;
    }
    if (!v4) {
      (void)Delegate(delegator_, conf_.ipam.type, "DEL", stdin_);
      return CniError{kInvalidConfig,
                      conf_.ipam.type + " gave no IPv4 address: berth networks are IPv4", ""};
    }
    req.ip = v4->address.addr();
    net.subnet = Cidr(v4->address.Network(), v4->address.prefix()).ToString();
    if (v4->gateway) net.gateway = v4->gateway->ToString();
    TakeRoutes(got->routes, &req);
    dns.Merge(got->dns);
  }

  auto attached = engine_.AttachExternal(req, net);
  if (!attached.ok()) {
    // All or nothing: give back what the IPAM plugin handed out.
    if (delegated) (void)Delegate(delegator_, conf_.ipam.type, "DEL", stdin_);
    return FromBerth(attached.error(), kBerthFailure);
  }
  const engine::ExternalAttachment& a = *attached;

  AddResult result;
  if (conf_.prev_result) {
    // Not first in a chain: keep what came before and add ours.
    auto prev = ParseResult(*conf_.prev_result);
    if (prev.ok()) result = *prev;
  }
  const int base = static_cast<int>(result.interfaces.size());
  result.interfaces.push_back({a.network.bridge, a.bridge_mac, "", std::nullopt});
  result.interfaces.push_back({a.endpoint.host_veth, a.host_veth_mac, "", std::nullopt});
  result.interfaces.push_back({a.endpoint.ifname, a.endpoint.mac, env_.netns, a.network.mtu});
  result.ips.push_back({Cidr(a.endpoint.ip, a.endpoint.prefix_len), a.network.gateway, base + 2});
  if (a.default_route) {
    result.routes.push_back({Cidr(IpAddr::V4(0), 0), a.network.gateway});
  }
  for (const engine::ExternalRoute& r : a.routes) result.routes.push_back({*r.dst, r.via});
  Dns ours;
  // Nameservers the configuration or the runtime names (podman --dns) replace berth's own
  // resolver, as `berth run --dns` does; search domains and options add up.
  if (conf_.dns.nameservers.empty() && conf_.runtime.dns.nameservers.empty()) {
    for (const IpAddr& s : a.dns_servers) ours.nameservers.push_back(s.ToString());
  }
  ours.Merge(dns);
  ours.Merge(conf_.dns);
  ours.Merge(conf_.runtime.dns);
  result.dns.Merge(ours);
  return RenderResult(result, conf_.cni_version).dump(4);
}

CniStatus Invocation::Del() {
  Status st = engine_.DetachExternal(conf_.name, {env_.container_id, env_.ifname});
  if (!st.ok()) return FromBerth(st.error(), kBerthFailure);
  if (conf_.ipam.delegated()) return Delegate(delegator_, conf_.ipam.type, "DEL", stdin_);
  return std::nullopt;
}

CniStatus Invocation::Check() {
  if (!conf_.prev_result) {
    return CniError{kInvalidConfig, "invalid network configuration: CHECK needs prevResult", ""};
  }
  auto prev = ParseResult(*conf_.prev_result);
  if (!prev.ok()) return prev.error();
  if (auto e = CheckNetns(env_.netns)) return e;
  std::optional<int> index;
  for (size_t i = 0; i < prev->interfaces.size(); ++i) {
    const Interface& itf = prev->interfaces[i];
    if (itf.name == env_.ifname && !itf.sandbox.empty() && (!index || itf.sandbox == env_.netns)) {
      index = static_cast<int>(i);
    }
  }
  auto failed = [&](const std::string& what) {
    return CniError{kBerthCheckFailed, "CHECK: " + what, ""};
  };
  if (!index) return failed("prevResult lists no interface " + env_.ifname + " in a sandbox");
  engine::ExternalCheckRequest chk;
  chk.network = conf_.name;
  chk.key = {env_.container_id, env_.ifname};
  chk.netns_path = env_.netns;
  for (const IpConfig& ip : prev->ips) {
    if (ip.address.is_v4() && ip.interface == index) chk.address = ip.address;
  }
  if (!chk.address) return failed("prevResult has no IPv4 address for " + env_.ifname);
  if (!prev->interfaces[*index].mac.empty()) chk.mac = prev->interfaces[*index].mac;
  for (const Route& r : prev->routes) {
    if (!r.dst.is_v4()) continue;
    chk.routes.push_back({r.is_default() ? std::nullopt : std::optional<Cidr>(r.dst), r.gw});
  }
  Status st = engine_.CheckExternal(chk);
  if (!st.ok()) {
    if (st.error().code() == Code::kUnavailable) return FromBerth(st.error(), kBerthFailure);
    return failed(st.error().message());
  }
  if (conf_.ipam.delegated()) return Delegate(delegator_, conf_.ipam.type, "CHECK", stdin_);
  return std::nullopt;
}

CniStatus Invocation::Ready() {
  if (conf_.ipam.delegated()) {
    CniStatus st = Delegate(delegator_, conf_.ipam.type, "STATUS", stdin_);
    if (st && !Unsupported(*st)) return st;
    return std::nullopt;
  }
  Status ready = engine_.ExternalReady(NetworkRequest(conf_), Range(conf_.ipam));
  if (!ready.ok()) {
    return CniError{kNotAvailable, "berth cannot add containers to network " + conf_.name,
                    ready.error().message()};
  }
  return std::nullopt;
}

CniStatus Invocation::Gc() {
  if (!conf_.valid_attachments) {
    return CniError{kInvalidConfig,
                    "invalid network configuration: GC needs cni.dev/valid-attachments", ""};
  }
  std::vector<engine::ExternalKey> keep;
  for (const Attachment& a : *conf_.valid_attachments) keep.push_back({a.container_id, a.ifname});
  auto removed = engine_.CollectExternal(conf_.name, keep);
  if (!removed.ok()) return FromBerth(removed.error(), kBerthFailure);
  if (conf_.ipam.delegated()) {
    CniStatus st = Delegate(delegator_, conf_.ipam.type, "GC", stdin_);
    if (st && !Unsupported(*st)) return st;
  }
  return std::nullopt;
}

}  // namespace

Response Run(const Env& env, std::string_view stdin_data, Delegator& delegator,
             const Getenv& getenv) {
  // The version errors are reported in: the config's when it is one berth speaks.
  std::string version = kLatestVersion;
  auto decoded = Decode(stdin_data);
  if (decoded.ok()) {
    auto v = ConfigVersion(*decoded);
    if (v.ok() && IsSupported(*v)) version = *v;
  }
  auto fail = [&](const CniError& e) { return Response{1, ErrorJson(e, version)}; };

  auto cmd = ValidateEnv(env);
  if (!cmd.ok()) return fail(cmd.error());
  if (*cmd == Command::kVersion) {
    std::string requested;
    if (!stdin_data.empty()) {
      if (!decoded.ok()) return fail(decoded.error());
      auto v = ConfigVersion(*decoded);
      if (!v.ok()) return fail(v.error());
      requested = *v;
    }
    return Response{0, VersionJson(requested)};
  }
  if (!decoded.ok()) return fail(decoded.error());
  auto requested = ConfigVersion(*decoded);
  if (!requested.ok()) return fail(requested.error());
  if (auto e = CheckVersion(*cmd, *requested)) return fail(*e);
  auto conf = ParseNetConf(*decoded);
  if (!conf.ok()) return fail(conf.error());
  auto args = ParseCniArgs(env.args);
  if (!args.ok()) return fail(args.error());

  std::string root = engine::kDefaultRoot;
  if (conf->root) {
    root = *conf->root;
  } else if (const char* r = getenv("BERTH_ROOT"); r && *r) {
    root = r;
  }
  auto engine = engine::Engine::Open(root, engine::DefaultWiring(root));
  if (!engine.ok()) return fail(FromBerth(engine.error(), kBerthFailure));

  Invocation inv(env, *args, *conf, stdin_data, delegator, **engine);
  CniStatus st;
  switch (*cmd) {
    case Command::kAdd: {
      auto out = inv.Add();
      if (!out.ok()) return fail(out.error());
      return Response{0, *out};
    }
    case Command::kDel:
      st = inv.Del();
      break;
    case Command::kCheck:
      st = inv.Check();
      break;
    case Command::kStatus:
      st = inv.Ready();
      break;
    case Command::kGc:
      st = inv.Gc();
      break;
    case Command::kVersion:
      break;
  }
  if (st) return fail(*st);
  return Response{0, ""};
}

}  // namespace berth::cni
