#include "cni/plugin.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

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

/// CNI_NETNS must name a network namespace (a bind mount of one, or /proc/PID/ns/net); for
/// ADD, not the plugin's own (the host's): the container's eth0 would be made on the host.
Status CheckNetns(const std::string& path, bool refuse_own = false) {
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) {
    return BadInput(kInvalidEnvironment,
                    "invalid environment: CNI_NETNS " + path + ": " + std::strerror(errno));
  }
  if (static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC) {
    return BadInput(kInvalidEnvironment,
                    "invalid environment: CNI_NETNS " + path + " is not a network namespace");
  }
  // nsfs holds every kind of namespace (/proc/self/ns/mnt too): ask the kernel which kind.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  int type = fd < 0 ? -1 : ::ioctl(fd, NS_GET_NSTYPE);
  if (fd >= 0) ::close(fd);
  if (type >= 0 && type != CLONE_NEWNET) {
    return BadInput(kInvalidEnvironment,
                    "invalid environment: CNI_NETNS " + path +
                        " is a namespace of another kind, not a network namespace");
  }
  struct stat want, own;
  if (refuse_own && ::stat(path.c_str(), &want) == 0 && ::stat("/proc/self/ns/net", &own) == 0 &&
      want.st_ino == own.st_ino && want.st_dev == own.st_dev) {
    return BadInput(kInvalidEnvironment,
                    "invalid environment: CNI_NETNS " + path +
                        " is the host's own network namespace (the plugin's): refusing to "
                        "attach the host as a container");
  }
  return Ok();
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
bool Unsupported(const Error& e) {
  int code = ToCniError(e).code;
  return code == kIncompatibleVersion || code == kInvalidEnvironment;
}

class Invocation {
 public:
  Invocation(const Env& env, const Args& args, const NetConf& conf, std::string_view stdin_data,
             Delegator& delegator, engine::Engine& engine)
      : env_(env), args_(args), conf_(conf), stdin_(stdin_data), delegator_(delegator),
        engine_(engine) {}

  Result<std::string> Add();
  Status Del();
  Status Check();
  Status Ready();
  Status Gc();

 private:
  const Env& env_;
  const Args& args_;
  const NetConf& conf_;
  std::string_view stdin_;
  Delegator& delegator_;
  engine::Engine& engine_;
};

Result<std::string> Invocation::Add() {
  BERTH_TRY(CheckNetns(env_.netns, /*refuse_own=*/true));
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
      return Error::Invalid("runtimeConfig.ips: berth gives one IPv4 address per attachment");
    }
    if (!conf_.runtime.ips.empty()) {
      req.ip = conf_.runtime.ips[0].addr();
    } else if (auto it = args_.find("IP"); it != args_.end()) {
      auto ip = IpAddr::Parse(it->second);
      if (!ip.ok()) {
        return BadInput(kInvalidEnvironment,
                        "invalid environment: CNI_ARGS IP: " + ip.error().message());
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
      return Error::Invalid(conf_.ipam.type + " gave no IPv4 address: berth networks are IPv4");
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
    return std::move(attached).error();
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

Status Invocation::Del() {
  BERTH_TRY(engine_.DetachExternal(conf_.name, {env_.container_id, env_.ifname}));
  if (conf_.ipam.delegated()) return Delegate(delegator_, conf_.ipam.type, "DEL", stdin_);
  return Ok();
}

Status Invocation::Check() {
  if (!conf_.prev_result) {
    return Error::Invalid("invalid network configuration: CHECK needs prevResult");
  }
  BERTH_ASSIGN_OR_RETURN(AddResult prev, ParseResult(*conf_.prev_result));
  BERTH_TRY(CheckNetns(env_.netns));
  std::optional<int> index;
  for (size_t i = 0; i < prev.interfaces.size(); ++i) {
    const Interface& itf = prev.interfaces[i];
    if (itf.name == env_.ifname && !itf.sandbox.empty() && (!index || itf.sandbox == env_.netns)) {
      index = static_cast<int>(i);
    }
  }
  // The attachment is not what the runtime was told: 102, whatever the category.
  auto failed = [&](const std::string& what) {
    return Error::Invalid("CHECK: " + what).WithCniCode(kBerthCheckFailed);
  };
  if (!index) return failed("prevResult lists no interface " + env_.ifname + " in a sandbox");
  engine::ExternalCheckRequest chk;
  chk.network = conf_.name;
  chk.key = {env_.container_id, env_.ifname};
  chk.netns_path = env_.netns;
  for (const IpConfig& ip : prev.ips) {
    if (ip.address.is_v4() && ip.interface == index) chk.address = ip.address;
  }
  if (!chk.address) return failed("prevResult has no IPv4 address for " + env_.ifname);
  if (!prev.interfaces[*index].mac.empty()) chk.mac = prev.interfaces[*index].mac;
  for (const Route& r : prev.routes) {
    if (!r.dst.is_v4()) continue;
    chk.routes.push_back({r.is_default() ? std::nullopt : std::optional<Cidr>(r.dst), r.gw});
  }
  Status st = engine_.CheckExternal(chk);
  if (!st.ok()) {
    if (st.error().code() == Code::kUnavailable) return st;
    return std::move(st).error().Wrap("CHECK").WithCniCode(kBerthCheckFailed);
  }
  if (conf_.ipam.delegated()) return Delegate(delegator_, conf_.ipam.type, "CHECK", stdin_);
  return Ok();
}

Status Invocation::Ready() {
  if (conf_.ipam.delegated()) {
    Status st = Delegate(delegator_, conf_.ipam.type, "STATUS", stdin_);
    if (!st.ok() && !Unsupported(st.error())) return st;
    return Ok();
  }
  Status ready = engine_.ExternalReady(NetworkRequest(conf_), Range(conf_.ipam));
  if (!ready.ok()) {
    // Whatever the reason, STATUS reports it as "cannot serve ADD now".
    Error e = std::move(ready).error();
    e.Wrap("berth cannot add containers to network " + conf_.name).WithCniCode(kNotAvailable);
    return e;
  }
  return Ok();
}

Status Invocation::Gc() {
  if (!conf_.valid_attachments) {
    return Error::Invalid("invalid network configuration: GC needs cni.dev/valid-attachments");
  }
  std::vector<engine::ExternalKey> keep;
  for (const Attachment& a : *conf_.valid_attachments) keep.push_back({a.container_id, a.ifname});
  auto removed = engine_.CollectExternal(conf_.name, keep);
  if (!removed.ok()) return std::move(removed).error();
  if (conf_.ipam.delegated()) {
    Status st = Delegate(delegator_, conf_.ipam.type, "GC", stdin_);
    if (!st.ok() && !Unsupported(st.error())) return st;
  }
  return Ok();
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
  auto fail = [&](const Error& e) { return Response{1, ErrorJson(e, version)}; };

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
  if (Status st = CheckVersion(*cmd, *requested); !st.ok()) return fail(st.error());
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
  engine::Wiring wiring = engine::DefaultWiring(root);
  wiring.op_log_source = "cni";
  auto engine = engine::Engine::Open(root, std::move(wiring));
  if (!engine.ok()) return fail(engine.error());

  Invocation inv(env, *args, *conf, stdin_data, delegator, **engine);
  Status st;
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
  if (!st.ok()) return fail(st.error());
  return Response{0, ""};
}

}  // namespace berth::cni
