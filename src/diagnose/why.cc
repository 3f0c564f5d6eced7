#include "diagnose/why.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "core/resolv_conf.h"
#include "diagnose/probe.h"
#include "diagnose/user_rules.h"
#include "engine/services.h"
#include "sys/sockaddr.h"

namespace berth::diagnose {

namespace {

using engine::ContainerStatus;
using std::chrono::milliseconds;

// Issue 14: `why` answers within 1 s whatever the cause, a probe timeout included. Everything
// slow (DNS queries, the probe, the listener scans of every container) runs under one deadline
// taken when the question arrives; the reserve is what explaining still needs once the probe
// has timed out (reading a few namespaces' listeners, the user chain).
constexpr milliseconds kAnswerWithin{1000};
constexpr milliseconds kProbeTimeout{400};
constexpr milliseconds kDnsTimeout{250};
constexpr milliseconds kExplainReserve{250};
constexpr milliseconds kWrapUp{100};  // what printing the answer needs: scans stop before it

std::string ProtoName(Protocol p) { return p == Protocol::kUdp ? "udp" : "tcp"; }

bool IsLoopback(const IpAddr& ip) {
  return ip.is_v4() ? (ip.v4() >> 24) == 127 : ip.ToU128() == 1;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// The store and the kernel as `why` reads them, once per call.
struct Model {
  std::vector<ContainerStatus> containers;
  std::vector<Network> networks;
  std::vector<engine::ServiceStatus> services;

  const engine::ServiceStatus* Service(const std::string& name) const {
    for (const engine::ServiceStatus& s : services) {
      if (s.service.name == name) return &s;
    }
    return nullptr;
  }
  const engine::ServiceStatus* ServiceAt(const IpAddr& vip) const {
    for (const engine::ServiceStatus& s : services) {
      if (s.service.vip == vip) return &s;
    }
    return nullptr;
  }

  const Network* Net(const std::string& id) const {
    for (const Network& n : networks) {
      if (n.id == id) return &n;
    }
    return nullptr;
  }
  // By exact name, then alias, then unique id prefix.
  const ContainerStatus* Find(const std::string& name) const {
    for (const ContainerStatus& c : containers) {
      if (c.container.name == name) return &c;
    }
    for (const ContainerStatus& c : containers) {
      for (const engine::EndpointStatus& e : c.endpoints) {
        if (std::find(e.endpoint.aliases.begin(), e.endpoint.aliases.end(), name) !=
            e.endpoint.aliases.end()) {
          return &c;
        }
      }
    }
    const ContainerStatus* found = nullptr;
    for (const ContainerStatus& c : containers) {
      if (name.size() >= 4 && c.container.id.starts_with(name)) {
        if (found) return nullptr;
        found = &c;
      }
    }
    return found;
  }
  std::pair<const ContainerStatus*, const Endpoint*> ByIp(const IpAddr& ip) const {
    for (const ContainerStatus& c : containers) {
      for (const engine::EndpointStatus& e : c.endpoints) {
        if (e.endpoint.ip == ip) return {&c, &e.endpoint};
      }
    }
    return {nullptr, nullptr};
  }
};

std::vector<std::string> NetworkNames(const Model& m, const ContainerStatus& c) {
  std::vector<std::string> out;
  for (const engine::EndpointStatus& e : c.endpoints) {
    const Network* n = m.Net(e.endpoint.network_id);
    out.push_back(n ? n->name : e.endpoint.network_name);
  }
  return out;
}

const Endpoint* On(const ContainerStatus& c, const std::string& network_id) {
  for (const engine::EndpointStatus& e : c.endpoints) {
    if (e.endpoint.network_id == network_id) return &e.endpoint;
  }
  return nullptr;
}

// Every address of the host's own interfaces (the caller's namespace: the CLI runs in it).
std::vector<IpAddr> HostAddresses() {
  std::vector<IpAddr> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    int f = i->ifa_addr->sa_family;
    if (f != AF_INET && f != AF_INET6) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, i->ifa_addr, f == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    out.push_back(sys::FromSockaddr(ss));
  }
  ::freeifaddrs(list);
  return out;
}

std::string ReadFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

// The first IPv4 address /etc/hosts-style `text` gives `name`.
std::optional<IpAddr> FromHosts(const std::string& text, const std::string& name) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::vector<std::string> fields;
    size_t p = 0;
    while (p < line.size()) {
      size_t b = line.find_first_not_of(" \t", p);
      if (b == std::string::npos) break;
      size_t e = line.find_first_of(" \t", b);
      if (e == std::string::npos) e = line.size();
      fields.push_back(line.substr(b, e - b));
      p = e;
    }
    for (size_t i = 1; i < fields.size(); ++i) {
      if (fields[i] != name) continue;
      auto ip = IpAddr::Parse(fields[0]);
      if (ip.ok() && ip->is_v4()) return *ip;
    }
  }
  return std::nullopt;
}

struct Resolution {
  std::optional<IpAddr> ip;
  std::string how;  // "from /etc/hosts", "from DNS server 172.18.0.1", or why it failed
};

// `name` as the container `c` resolves it: its /etc/hosts, then its resolv.conf's servers,
// asked from inside its namespace.
Resolution ResolveInContainer(const engine::Paths& paths, const ContainerStatus& c,
                              const std::string& name, const Deadline& budget) {
  std::string dir = paths.container_dir(c.container.id);
  if (auto ip = FromHosts(ReadFile(dir + "/hosts"), name)) return {ip, "from its /etc/hosts"};
  std::vector<std::string> failures;
  int asked = 0;
  for (const ResolvLine& l : ParseResolvConf(ReadFile(dir + "/resolv.conf"))) {
    if (l.keyword != "nameserver" || asked == 2) continue;
    auto server = IpAddr::Parse(l.value);
    if (!server.ok()) continue;
    ++asked;
    auto ips = QueryA(c.netns_path, *server, name,
                      budget.Slice(kDnsTimeout, kProbeTimeout / 2 + kExplainReserve));
    if (!ips.ok()) {
      bool gateway = false;
      for (const engine::EndpointStatus& e : c.endpoints) gateway |= e.endpoint.gateway == *server;
      failures.push_back(ips.error().message() +
                         (gateway ? " (berthd answers there: is it running? berth starts it "
                                    "with the next container, or run berthd)"
                                  : ""));
      continue;
    }
    if (ips->empty()) return {std::nullopt, "its DNS server " + server->ToString() + " has no address for it"};
    return {ips->front(), "from its DNS server " + server->ToString()};
  }
  if (asked == 0) return {std::nullopt, "its resolv.conf names no DNS server"};
  return {std::nullopt, Join(failures, "; ")};
}

std::string ListenerList(const std::vector<sys::Listener>& ls) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const sys::Listener& l : ls) {
    std::string s = (l.ip.IsUnspecified() ? std::string("*") : l.ip.ToString()) + ":" +
                    std::to_string(l.port) + "/" + ProtoName(l.protocol);
    if (seen.insert(s).second) out.push_back(s);
    if (out.size() == 8) break;
  }
  return out.empty() ? "nothing at all" : Join(out);
}

// A published mapping of `c` whose container port range holds `port`.
std::optional<std::pair<PortMapping, const Endpoint*>> PublishedContainerPort(
    const ContainerStatus& c, uint16_t port, Protocol proto) {
  for (const engine::EndpointStatus& e : c.endpoints) {
    for (const PortMapping& p : e.endpoint.ports) {
      if (p.protocol == proto && port >= p.container_port && port < p.container_port + p.count) {
        return std::make_pair(p, &e.endpoint);
      }
    }
  }
  return std::nullopt;
}

// A published mapping reached at host address `ip`:`port`, with the container behind it.
struct Dnat {
  const ContainerStatus* container;
  const Endpoint* endpoint;
  uint16_t container_port;
};
std::optional<Dnat> PublishedHostPort(const Model& m, const IpAddr& ip, uint16_t port,
                                      Protocol proto) {
  for (const ContainerStatus& c : m.containers) {
    for (const engine::EndpointStatus& e : c.endpoints) {
      for (const PortMapping& p : e.endpoint.ports) {
        if (p.protocol != proto || port < p.host_port || port >= p.host_port + p.count) continue;
        if (!p.host_ip.IsUnspecified() && p.host_ip != ip) continue;
        return Dnat{&c, &e.endpoint, static_cast<uint16_t>(p.container_port + (port - p.host_port))};
      }
    }
  }
  return std::nullopt;
}

WhyAnswer Say(const char* cause, std::string explanation, std::string fix = "") {
  WhyAnswer a;
  a.reachable = std::string(cause) == "ok";
  a.cause = cause;
  a.explanation = std::move(explanation);
  a.fix = std::move(fix);
  return a;
}

// What `why` knows about the destination once DST is resolved.
struct Target {
  std::optional<IpAddr> ip;           // what SRC connects to
  std::optional<uint16_t> probe_port;  // the port SRC connects to
  const ContainerStatus* container = nullptr;  // where the connection ends (after DNAT)
  const Endpoint* endpoint = nullptr;          // the container's endpoint with that address
  std::optional<uint16_t> port;                // the port inside the container (after DNAT)
  bool host_local = false;                     // ip is one of the host's own addresses
  std::string via;                             // "via the published port 8080" ...
};

class Reasoner {
 public:
  Reasoner(engine::Engine& engine, const WhyRequest& req) : engine_(engine), req_(req) {}

  Result<WhyAnswer> Run();
  Result<ProbePlan> Plan();

 private:
  std::string Dst() const {
    return req_.dst + (req_.port ? ":" + std::to_string(*req_.port) : "") +
           (req_.protocol == Protocol::kUdp ? "/udp" : "");
  }
  std::string SrcName() const {
    return src_ ? src_->container.name : lan_ ? "namespace " + req_.src : "the host";
  }
  std::string PortText(uint16_t port) const {
    return std::to_string(port) + "/" + ProtoName(req_.protocol);
  }
  WhyAnswer Stopped(const ContainerStatus& c) const {
    return Say("container-stopped",
               c.container.name + " is not running (" + ToString(c.container.state) +
                   (c.exit_code ? ", exit code " + std::to_string(*c.exit_code) : "") +
                   "): nothing answers for it and its name does not resolve.",
               "berth start " + c.container.name);
  }
  Status Load();
  Status FindSrc();
  Result<std::optional<WhyAnswer>> ResolveTarget();
  WhyAnswer NameNotResolvable(const std::string& how) const;
  std::optional<WhyAnswer> Explain(const ProbeResult& probe);
  std::optional<WhyAnswer> Loopback();
  std::optional<WhyAnswer> StoppedByAddress();
  std::optional<WhyAnswer> Isolation();
  std::optional<WhyAnswer> NotPublished();
  std::optional<WhyAnswer> Listeners();
  std::optional<WhyAnswer> UserRule();
  std::optional<WhyAnswer> ServiceNoBackends();
  std::optional<WhyAnswer> ServicePortMissing();
  void AimAtBackend();
  std::string ServiceNetwork() const;
  std::vector<const ContainerStatus*> RunningBackends() const;
  /// Backends on other cluster nodes ("name@node"): running there, as their node registered.
  std::vector<std::string> RemoteBackends() const;
  std::string BackendsText() const;
  /// The first running container other than SRC with a listener on `port` (not on loopback),
  /// among those the deadline leaves time to look at.
  const ContainerStatus* ListeningContainer(uint16_t port);

  engine::Engine& engine_;
  const WhyRequest& req_;
  Model m_;
  const ContainerStatus* src_ = nullptr;  // null: the host
  std::string src_ns_;                    // "" : the host's namespace
  bool lan_ = false;                      // SRC is a namespace file: a client outside berth
  bool by_name_ = false;
  const ContainerStatus* named_ = nullptr;  // DST given as a container's name or alias
  Target t_;
  std::vector<IpAddr> host_addrs_;
  std::vector<std::string> checked_;
  std::vector<sys::Listener> dst_listeners_;
  bool listeners_known_ = false;
  const engine::ServiceStatus* service_ = nullptr;  // DST is this service's VIP
  Deadline budget_{kAnswerWithin};  // from the moment the question came
};

Status Reasoner::Load() {
  BERTH_ASSIGN_OR_RETURN(m_.containers, engine_.ListContainers());
  BERTH_ASSIGN_OR_RETURN(m_.networks, engine_.ListNetworks());
  BERTH_ASSIGN_OR_RETURN(m_.services, engine_.ListServices());
  host_addrs_ = HostAddresses();
  return FindSrc();
}

Result<ProbePlan> Reasoner::Plan() {
  BERTH_TRY(Load());
  BERTH_ASSIGN_OR_RETURN(auto early, ResolveTarget());
  if (early) return Error::Invalid("cannot trace: " + early->cause + ": " + early->explanation);
  ProbePlan p;
  p.src_netns = src_ns_;
  p.ip = *t_.ip;
  p.port = t_.probe_port;
  p.protocol = req_.protocol;
  if (service_) p.service = service_->service.name;
  if (src_) {
    const Endpoint* from = t_.endpoint ? On(*src_, t_.endpoint->network_id) : nullptr;
    if (!from && !src_->endpoints.empty()) from = &src_->endpoints.front().endpoint;
    if (from) p.src_ip = from->ip;
  }
  return p;
}

Status Reasoner::FindSrc() {
  if (req_.src.starts_with("/")) {
    lan_ = true;
    src_ns_ = req_.src;
    return Ok();
  }
  if (req_.src != "host") {
    src_ = m_.Find(req_.src);
    if (!src_) return Error::NotFound("no such container: " + req_.src);
    if (!src_->running) {
      return Error::Invalid(src_->container.name + " is not running: start it first (berth start " +
                            src_->container.name + ")");
    }
    src_ns_ = src_->container.mode == "host" ? "" : src_->netns_path;
  }
  return Ok();
}

Result<WhyAnswer> Reasoner::Run() {
  BERTH_TRY(Load());
  BERTH_ASSIGN_OR_RETURN(auto early, ResolveTarget());
  if (early) return *early;

  WhyAnswer answer;
  ProbeResult probe = Probe(src_ns_, *t_.ip, t_.probe_port, req_.protocol,
                            budget_.Slice(kProbeTimeout, kExplainReserve));
  std::string to = t_.ip->ToString() + (t_.probe_port ? ":" + PortText(*t_.probe_port) : " (ICMP echo)");
  if (probe.outcome == ProbeOutcome::kConnected) {
    std::string note;
    if (!src_ && !lan_ && t_.container && t_.via.empty() && req_.port &&
        !PublishedContainerPort(*t_.container, *req_.port, req_.protocol)) {
      note = " The port is not published: only the host reaches it this way, not the LAN.";
    }
    if (service_) note += " " + BackendsText();
    answer = Say("ok", SrcName() + " reached " + to + t_.via +
                           (t_.container ? ", which is " + t_.container->container.name : "") +
                           "." + note);
  } else {
    checked_.push_back("the probe to " + to + ": " + ToString(probe.outcome) +
                       (probe.detail.empty() ? "" : " (" + probe.detail + ")"));
    auto why = Explain(probe);
    answer = why ? *why
                 : Say("unknown", SrcName() + " cannot reach " + to + t_.via +
                                      " and berth's model does not explain it. Checked: " +
                                      Join(checked_, "; ") + ".");
  }
  answer.probe = ToString(probe.outcome);
  return answer;
}

Result<std::optional<WhyAnswer>> Reasoner::ResolveTarget() {
  auto literal = IpAddr::Parse(req_.dst);
  if (literal.ok()) {
    t_.ip = *literal;
  } else if (req_.dst == "localhost") {
    t_.ip = IpAddr::V4(0x7f000001);
  } else {
    by_name_ = true;
    named_ = m_.Find(req_.dst);
    if (named_ && !named_->running) return std::optional(Stopped(*named_));
    if (lan_) {
      return Error::Invalid("from a namespace, give an address (the host's, for a published "
                            "port): " + req_.dst);
    }
    if (!src_) {
      if (named_) {
        // The host (and the LAN) reach a container's service through its published port.
        t_.container = named_;
        if (!req_.port) {
          if (named_->endpoints.empty()) return std::optional(NameNotResolvable("it has no network"));
          t_.endpoint = &named_->endpoints.front().endpoint;
          t_.ip = t_.endpoint->ip;
          return std::optional<WhyAnswer>();
        }
        auto pub = PublishedContainerPort(*named_, *req_.port, req_.protocol);
        if (!pub) {
          std::string direct =
              named_->endpoints.empty()
                  ? ""
                  : " (the host itself can reach it directly at " +
                        named_->endpoints.front().endpoint.ip.ToString() + ":" +
                        std::to_string(*req_.port) + ")";
          std::string net = named_->endpoints.empty()
                                ? std::string()
                                : NetworkNames(m_, *named_).front();
          return std::optional(Say(
              "not-published",
              "Port " + PortText(*req_.port) + " of " + named_->container.name +
                  " is not published: from the host's addresses and the LAN nothing leads to it" +
                  direct + ".",
              "recreate it with the port published: berth rm -f " + named_->container.name +
                  " && berth run -d --name " + named_->container.name +
                  (net.empty() ? "" : " --network " + net) + " -p " +
                  std::to_string(*req_.port) + ":" + std::to_string(*req_.port) +
                  (req_.protocol == Protocol::kUdp ? "/udp" : "") + " ..."));
        }
        t_.endpoint = pub->second;
        t_.ip = pub->first.host_ip.IsUnspecified() ? IpAddr::V4(0x7f000001) : pub->first.host_ip;
        t_.probe_port = static_cast<uint16_t>(pub->first.host_port + (*req_.port - pub->first.container_port));
        t_.port = req_.port;
        t_.host_local = true;
        t_.via = " (published port " + std::to_string(*t_.probe_port) + " -> " +
                 named_->container.name + ":" + std::to_string(*req_.port) + ")";
        return std::optional<WhyAnswer>();
      }
      // The host has no berth DNS of its own: a service's name is its VIP.
      const engine::ServiceStatus* svc = m_.Service(req_.dst);
      auto ip = svc ? std::optional(svc->service.vip) : FromHosts(ReadFile("/etc/hosts"), req_.dst);
      if (!ip) {
        return std::optional(Say("name-not-resolvable",
                                 req_.dst + " is neither a container nor in the host's /etc/hosts.",
                                 "berth ps -a"));
      }
      t_.ip = *ip;
    } else {
      Resolution r = ResolveInContainer(engine_.paths(), *src_, req_.dst, budget_);
      if (!r.ip) return std::optional(NameNotResolvable(r.how));
      checked_.push_back(req_.dst + " resolved to " + r.ip->ToString() + " " + r.how);
      t_.ip = *r.ip;
    }
  }
  t_.probe_port = req_.port;
  t_.port = req_.port;
  // Whose address is it?
  if ((service_ = m_.ServiceAt(*t_.ip))) {
    t_.via = " (service " + service_->service.name + ")";
  }
  auto [c, ep] = m_.ByIp(*t_.ip);
  if (c) {
    t_.container = c;
    t_.endpoint = ep;
  }
  bool loop = IsLoopback(*t_.ip);
  if (lan_) {
    t_.host_local = !loop && std::find(host_addrs_.begin(), host_addrs_.end(), *t_.ip) != host_addrs_.end();
  } else if (!src_) {
    t_.host_local = loop || std::find(host_addrs_.begin(), host_addrs_.end(), *t_.ip) != host_addrs_.end();
  } else if (!loop && !c) {
    t_.host_local = std::find(host_addrs_.begin(), host_addrs_.end(), *t_.ip) != host_addrs_.end();
  }
  if (t_.host_local && req_.port && !t_.container) {
    if (auto d = PublishedHostPort(m_, *t_.ip, *req_.port, req_.protocol)) {
      t_.container = d->container;
      t_.endpoint = d->endpoint;
      t_.port = d->container_port;
      t_.via = " (published port " + std::to_string(*req_.port) + " -> " +
               d->container->container.name + ":" + std::to_string(d->container_port) + ")";
    }
  }
  return std::optional<WhyAnswer>();
}

WhyAnswer Reasoner::NameNotResolvable(const std::string& how) const {
  std::string text = SrcName() + " cannot resolve " + req_.dst + ": " + how + ".";
  std::string fix;
  if (named_ && src_) {
    std::vector<std::string> dst_nets = NetworkNames(m_, *named_);
    std::vector<std::string> user_nets;
    for (const engine::EndpointStatus& e : named_->endpoints) {
      const Network* n = m_.Net(e.endpoint.network_id);
      if (n && !n->is_default) user_nets.push_back(n->name);
    }
    if (user_nets.empty()) {
      text += " " + named_->container.name + " is only on the default network " +
              std::string(kDefaultNetworkName) + ", which has no names (as with Docker).";
      fix = "berth network create appnet && berth network connect appnet " +
            src_->container.name + " && berth network connect appnet " + named_->container.name;
    } else {
      bool shared = false;
      for (const std::string& n : user_nets) {
        for (const std::string& s : NetworkNames(m_, *src_)) shared |= s == n;
      }
      if (!shared) {
        text += " Names resolve only on networks both are on: " + named_->container.name +
                " is on " + Join(dst_nets) + ", " + src_->container.name + " is not.";
        fix = "berth network connect " + user_nets.front() + " " + src_->container.name;
      }
    }
  }
  return Say("name-not-resolvable", text, fix);
}

std::optional<WhyAnswer> Reasoner::Explain(const ProbeResult& probe) {
  if (auto a = Loopback()) return a;
  if (auto a = StoppedByAddress()) return a;
  if (auto a = Isolation()) return a;
  if (auto a = NotPublished()) return a;
  // A service: a port it lacks, or no backend at all, stops the packet before any backend's
  // listeners or the user chain (in forward, after the DNAT) could; with backends, the rest of
  // the checks look at one of them.
  if (auto a = ServicePortMissing()) return a;
  if (auto a = ServiceNoBackends()) return a;
  AimAtBackend();
  if (auto a = Listeners()) return a;
  if (auto a = UserRule()) return a;
  if (req_.protocol == Protocol::kUdp && probe.outcome == ProbeOutcome::kTimeout &&
      listeners_known_ && !dst_listeners_.empty()) {
    return Say("ok", "A datagram to " + t_.ip->ToString() + ":" + PortText(*req_.port) +
                         " met no error and " +
                         (t_.container ? t_.container->container.name : std::string("the host")) +
                         " listens there (UDP gives no other sign of delivery).");
  }
  return std::nullopt;
}

std::optional<WhyAnswer> Reasoner::Loopback() {
  if (!src_ || !IsLoopback(*t_.ip)) return std::nullopt;
  std::string where = req_.port ? " on " + PortText(*req_.port) : "";
  std::string text = t_.ip->ToString() + " inside a container is the container itself: " +
                     src_->container.name + " has nothing listening" + where + " on its loopback.";
  std::string fix;
  if (req_.port) {
    if (const ContainerStatus* other = ListeningContainer(*req_.port)) {
      const std::string& name = other->container.name;
      text += " " + name + " listens on " + PortText(*req_.port) + ": use " + name + ":" +
              std::to_string(*req_.port) + ".";
      fix = "point " + src_->container.name + " at " + name + ":" + std::to_string(*req_.port) +
            " instead of " + req_.dst + ":" + std::to_string(*req_.port);
    } else if (auto d = PublishedHostPort(m_, IpAddr::V4(0), *req_.port, req_.protocol)) {
      text += " The host publishes " + std::to_string(*req_.port) + " for " +
              d->container->container.name + ".";
      fix = "point " + src_->container.name + " at " + d->container->container.name + ":" +
            std::to_string(d->container_port);
    }
  }
  return Say("loopback", text, fix);
}

std::optional<WhyAnswer> Reasoner::StoppedByAddress() {
  if (t_.container || by_name_) return std::nullopt;
  std::string quoted = "\"" + t_.ip->ToString() + "\"";
  for (const ContainerStatus& c : m_.containers) {
    if (c.running) continue;
    auto released = engine_.store().ReleasedOf(c.container.id);
    if (!released.ok()) continue;
    for (const auto& [net, spec] : *released) {
      if (spec.find(quoted) != std::string::npos) return Stopped(c);
    }
  }
  return std::nullopt;
}

std::optional<WhyAnswer> Reasoner::Isolation() {
  if (!src_) return std::nullopt;
  checked_.push_back(src_->container.name + "'s networks: " + Join(NetworkNames(m_, *src_)));
  if (t_.container && t_.endpoint && t_.via.empty() && t_.container != src_) {
    const Network* n = m_.Net(t_.endpoint->network_id);
    std::string name = n ? n->name : t_.endpoint->network_name;
    if (!On(*src_, t_.endpoint->network_id)) {
      return Say("no-shared-network",
                 t_.container->container.name + "'s address " + t_.ip->ToString() +
                     " is on network " + name + ", and " + src_->container.name + " is on " +
                     Join(NetworkNames(m_, *src_)) +
                     ": berth keeps networks apart, so they share no network.",
                 "berth network connect " + name + " " + src_->container.name);
    }
    if (n && !n->icc()) {
      return Say("icc-disabled",
                 "Both are on " + name + ", which was created with -o icc=false: containers on it "
                 "cannot talk to each other.",
                 "berth network create " + name + "-icc && berth network connect " + name +
                     "-icc " + src_->container.name + " && berth network connect " + name +
                     "-icc " + t_.container->container.name);
    }
    return std::nullopt;
  }
  // Outside the container's own networks: the host, another host, the internet.
  bool all_internal = !src_->endpoints.empty();
  std::string fallback;
  for (const engine::EndpointStatus& e : src_->endpoints) {
    const Network* n = m_.Net(e.endpoint.network_id);
    if (!n || !n->internal) all_internal = false;
    if (n && n->internal && (*t_.ip == n->gateway || n->subnet.Contains(*t_.ip))) return std::nullopt;
  }
  if (!all_internal) return std::nullopt;
  for (const Network& n : m_.networks) {
    if (!n.internal && fallback.empty()) fallback = n.name;
  }
  return Say("internal-network",
             src_->container.name + " is only on internal network(s) " +
                 Join(NetworkNames(m_, *src_)) + ": nothing leaves their bridge, so " +
                 t_.ip->ToString() + " is out of reach.",
             fallback.empty() ? "" : "berth network connect " + fallback + " " + src_->container.name);
}

std::optional<WhyAnswer> Reasoner::NotPublished() {
  // The named-container case was answered before probing; here: a host address and a port
  // nothing on the host serves, while a container listens on it unpublished.
  if (src_ || !t_.host_local || !req_.port || t_.container) return std::nullopt;
  auto host = ListenersIn("");
  if (host.ok()) {
    for (const sys::Listener& l : *host) {
      if (l.port == *req_.port && l.protocol == req_.protocol) return std::nullopt;
    }
  }
  const ContainerStatus* c = ListeningContainer(*req_.port);
  if (!c) return std::nullopt;
  const std::string& name = c->container.name;
  return Say("not-published",
             name + " listens on " + PortText(*req_.port) +
                 " but the port is not published, so nothing on the host's addresses leads to it.",
             "recreate it with the port published: berth rm -f " + name +
                 " && berth run -d --name " + name + " --network " + NetworkNames(m_, *c).front() +
                 " -p " + std::to_string(*req_.port) + ":" + std::to_string(*req_.port) +
                 (req_.protocol == Protocol::kUdp ? "/udp" : "") + " ...");
}

const ContainerStatus* Reasoner::ListeningContainer(uint16_t port) {
  size_t looked = 0, candidates = 0;
  for (const ContainerStatus& c : m_.containers) {
    if (&c == src_ || !c.running || c.endpoints.empty() || c.container.mode == "host") continue;
    ++candidates;
  }
  for (const ContainerStatus& c : m_.containers) {
    if (&c == src_ || !c.running || c.endpoints.empty() || c.container.mode == "host") continue;
    if (budget_.Left() < kWrapUp) {
      // A host with many containers: answer in time with what was seen (issue 14's 1 s).
      checked_.push_back("the listeners of " + std::to_string(looked) + " of " +
                         std::to_string(candidates) + " containers (the rest would take longer "
                         "than why's 1 s)");
      return nullptr;
    }
    ++looked;
    auto ls = ListenersIn(c.netns_path);
    if (!ls.ok()) continue;
    for (const sys::Listener& l : *ls) {
      if (l.port == port && l.protocol == req_.protocol && !IsLoopback(l.ip)) return &c;
    }
  }
  return nullptr;
}

std::optional<WhyAnswer> Reasoner::Listeners() {
  if (!t_.port) return std::nullopt;
  std::string ns, who;
  if (t_.container) {
    ns = t_.container->container.mode == "host" ? "" : t_.container->netns_path;
    who = t_.container->container.name;
  } else if (t_.host_local || (src_ && src_->container.mode == "host" && IsLoopback(*t_.ip))) {
    who = "the host";
  } else {
    return std::nullopt;  // another host: its sockets are not ours to see
  }
  auto ls = ListenersIn(ns);
  if (!ls.ok()) {
    checked_.push_back("the listeners of " + who + ": " + ls.error().message());
    return std::nullopt;
  }
  listeners_known_ = true;
  std::vector<sys::Listener> on_port, loopback_only;
  for (const sys::Listener& l : *ls) {
    if (l.port != *t_.port || l.protocol != req_.protocol) continue;
    (IsLoopback(l.ip) ? loopback_only : on_port).push_back(l);
  }
  dst_listeners_ = on_port;
  checked_.push_back(who + " listens on " + ListenerList(*ls));
  if (!on_port.empty()) return std::nullopt;
  std::string at = who + ":" + PortText(*t_.port);
  if (!loopback_only.empty()) {
    return Say("listening-on-loopback",
               "Inside " + who + " the program on " + PortText(*t_.port) + " listens only on " +
                   loopback_only.front().ip.ToString() +
                   ", which nothing outside its namespace can reach.",
               "make it listen on 0.0.0.0 (or ::) instead of " + loopback_only.front().ip.ToString());
  }
  return Say("no-listener",
             "Nothing listens on " + at + "; " +
                 (ls->empty() ? "nothing listens in " + who + " at all."
                              : who + " listens on " + ListenerList(*ls) + "."),
             t_.container ? "berth logs " + t_.container->container.name : "");
}

std::optional<WhyAnswer> Reasoner::UserRule() {
  if (!src_) return std::nullopt;  // the user chain sits in forward: traffic of containers
  auto rules = ReadUserChain();
  if (!rules.ok()) {
    checked_.push_back("berth's user chain: " + rules.error().message());
    return std::nullopt;
  }
  checked_.push_back("berth's user chain (" + std::to_string(rules->size()) + " rules)");
  Flow f;
  f.protocol = req_.protocol;
  f.dport = t_.port;
  f.daddr = t_.endpoint ? t_.endpoint->ip : *t_.ip;
  const Endpoint* from = t_.endpoint ? On(*src_, t_.endpoint->network_id) : nullptr;
  if (!from && !src_->endpoints.empty()) from = &src_->endpoints.front().endpoint;
  if (from) f.saddr = from->ip;
  auto hit = FirstDrop(*rules, f);
  if (!hit) return std::nullopt;
  return Say("user-rule",
             "A rule in berth's user chain stops it: `" + hit->text + "` (handle " +
                 std::to_string(hit->handle) + ").",
             "nft delete rule inet berth user handle " + std::to_string(hit->handle));
}

std::string Reasoner::ServiceNetwork() const {
  const Network* n = m_.Net(service_->service.network_id);
  return n ? n->name : service_->service.network_name;
}

std::vector<const ContainerStatus*> Reasoner::RunningBackends() const {
  std::vector<const ContainerStatus*> out;
  for (const engine::ServiceBackend& b : service_->backends) {
    auto [c, ep] = m_.ByIp(b.ip);
    if (c && c->running && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  return out;
}

std::vector<std::string> Reasoner::RemoteBackends() const {
  std::vector<std::string> out;
  for (const engine::ServiceBackend& b : service_->backends) {
    if (b.node.empty() || m_.ByIp(b.ip).first) continue;
    std::string name = b.container + "@" + b.node;
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return out;
}

std::string Reasoner::BackendsText() const {
  std::vector<std::string> names;
  for (const ContainerStatus* c : RunningBackends()) names.push_back(c->container.name);
  for (std::string& r : RemoteBackends()) names.push_back(std::move(r));
  return "The service DNATs each new connection to one of its " + std::to_string(names.size()) +
         " backend(s): " + Join(names) + ".";
}

std::optional<WhyAnswer> Reasoner::ServicePortMissing() {
  if (!service_ || !req_.port) return std::nullopt;
  std::vector<std::string> ports;
  for (const ServicePort& p : service_->service.ports) {
    if (p.port == *req_.port && p.protocol == req_.protocol) return std::nullopt;
    ports.push_back(std::to_string(p.port) + "/" + ProtoName(p.protocol));
  }
  const std::string& name = service_->service.name;
  return Say("no-listener",
             name + " is a service (VIP " + service_->service.vip.ToString() + ") with port(s) " +
                 Join(ports) + ": nothing answers on " + PortText(*req_.port) + " at its VIP.",
             "berth service inspect " + name);
}

std::optional<WhyAnswer> Reasoner::ServiceNoBackends() {
  if (!service_ || !RunningBackends().empty() || !RemoteBackends().empty()) return std::nullopt;
  const Service& s = service_->service;
  std::string net = ServiceNetwork();
  std::vector<std::string> selector, labels;
  for (const auto& [k, v] : s.selector) {
    selector.push_back(k + "=" + v);
    labels.push_back("--label " + k + "=" + v);
  }
  std::string text = s.name + " is a service (VIP " + s.vip.ToString() + " on " + net +
                     ") with no running backend: no running container on " + net +
                     " matches its selector " + Join(selector) +
                     ", so connections to it are refused at once.";
  std::string fix = "berth run -d --network " + net + " " + Join(labels, " ") + " ...";
  // Containers with the labels that are stopped, or running on another network, are the
  // likely intended backends: name them and the shorter fix.
  for (const ContainerStatus& c : m_.containers) {
    auto own = engine_.store().LabelsOf(c.container.id);
    if (!own.ok() || !engine::SelectorMatches(s.selector, *own)) continue;
    if (!c.running) {
      text += " " + c.container.name + " matches but is not running.";
      fix = "berth start " + c.container.name;
      break;
    }
    if (!On(c, s.network_id)) {
      text += " " + c.container.name + " matches but is not on " + net + ".";
      fix = "berth network connect " + net + " " + c.container.name;
      break;
    }
  }
  return Say("service-no-backends", text, fix);
}

void Reasoner::AimAtBackend() {
  if (!service_ || !req_.port || t_.container) return;
  for (const ServicePort& p : service_->service.ports) {
    if (p.port != *req_.port || p.protocol != req_.protocol) continue;
    for (const engine::ServiceBackend& b : service_->backends) {
      if (b.protocol != p.protocol || b.port != p.target_port) continue;
      auto [c, ep] = m_.ByIp(b.ip);
      if (!c || !c->running) continue;
      t_.container = c;
      t_.endpoint = ep;
      t_.port = p.target_port;
      t_.via = " (service " + service_->service.name + ", DNATed to a backend such as " +
               c->container.name + ":" + std::to_string(p.target_port) + ")";
      return;
    }
  }
}

}  // namespace

Result<WhyRequest> ParseWhy(const std::string& src, const std::string& target) {
  WhyRequest r;
  r.src = src;
  std::string t = target;
  if (auto slash = t.rfind('/'); slash != std::string::npos) {
    std::string p = t.substr(slash + 1);
    if (p == "udp") {
      r.protocol = Protocol::kUdp;
    } else if (p != "tcp") {
      return Error::Invalid("bad protocol in " + target + ": expected /tcp or /udp");
    }
    t.resize(slash);
  }
  std::string port;
  if (t.starts_with("[")) {
    size_t close = t.find(']');
    if (close == std::string::npos) return Error::Invalid("bad address " + target);
    if (close + 1 < t.size()) {
      if (t[close + 1] != ':') return Error::Invalid("bad address " + target);
      port = t.substr(close + 2);
    }
    t = t.substr(1, close - 1);
  } else if (std::count(t.begin(), t.end(), ':') == 1) {
    port = t.substr(t.find(':') + 1);
    t.resize(t.find(':'));
  }
  if (!port.empty()) {
    char* end = nullptr;
    long v = std::strtol(port.c_str(), &end, 10);
    if (*end || v < 1 || v > 65535) return Error::Invalid("bad port in " + target);
    r.port = static_cast<uint16_t>(v);
  }
  if (t.empty()) return Error::Invalid("no destination in " + target);
  if (r.protocol == Protocol::kUdp && !r.port) return Error::Invalid("/udp needs a port: " + target);
  r.dst = t;
  return r;
}

Result<WhyAnswer> Why(engine::Engine& engine, const WhyRequest& req) {
  Reasoner r(engine, req);
  return r.Run();
}

Result<ProbePlan> PlanProbe(engine::Engine& engine, const WhyRequest& req) {
  Reasoner r(engine, req);
  return r.Plan();
}

}  // namespace berth::diagnose
