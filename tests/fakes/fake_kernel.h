// FakeKernel: links, addresses, routes and nftables elements as plain data, shared by every
// LinkOps and Firewall an Engine asks for (Ops(), FakeFirewall), with one step counter for
// fault injection: every call counts, and the `fail_at`-th (0-based) fails with EIO. A test
// runs a verb once to count its steps, then once per step with that step failing.
//
// Namespaces are told apart by the inode of the fd a LinkOps is bound to (a real netns bind
// mount or a plain file), so Dump() can leave out those that are gone. Sysctls are recorded
// but not dumped: they are host settings berth sets and never takes back.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "firewall/firewall.h"
#include "net/link_ops.h"

namespace berth::fakes {

class FakeKernel {
 public:
  struct Link {
    int ifindex = 0;
    std::string kind, master, mac;
    bool up = false;
    std::string peer_ns, peer_name;  // a veth's other end
  };
  using Key = std::pair<std::string, std::string>;  // namespace ("host", "ns<inode>"), name

  int calls = 0;     // steps taken since the last Reset
  int fail_at = -1;  // the step that fails; -1: none
  std::vector<std::string> log;
  std::map<Key, Link> links;
  std::set<std::tuple<std::string, std::string, std::string>> addrs;  // ns, dev, cidr
  std::map<std::tuple<std::string, std::string>, std::pair<std::string, std::string>>
      routes;  // (ns, dst) -> (dev, via)
  std::set<std::string> hairpins;
  std::map<std::string, std::string> sysctls;
  std::set<std::string> nft;  // firewall elements

  /// Counts one step; fails it when it is the chosen one.
  Status Step(const std::string& what) {
    log.push_back(what);
    if (calls++ == fail_at) return Error::System("injected failure at " + what, EIO);
    return Ok();
  }
  void Reset(int fail = -1) {
    calls = 0;
    fail_at = fail;
    log.clear();
  }

  static std::string NsOf(int fd) {
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) return "";
    return "ns" + std::to_string(st.st_ino);
  }

  /// A LinkOps bound to the host and the namespace of `netns_fd` (< 0: the host only).
  Result<std::unique_ptr<net::LinkOps>> Ops(int netns_fd);
  /// A firewall whose elements live in `nft`.
  std::unique_ptr<firewall::Firewall> Firewall();

  /// Everything in the host and in namespaces `live`, one fact a line, sorted.
  std::vector<std::string> Dump(const std::set<std::string>& live) const {
    std::vector<std::string> out;
    auto shown = [&](const std::string& ns) { return ns == "host" || live.count(ns); };
    for (const auto& [k, l] : links) {
      if (!shown(k.first)) continue;
      out.push_back(k.first + " link " + k.second + " " + l.kind + " master=" + l.master +
                    " up=" + std::to_string(l.up) + (l.kind == "veth" && k.first != "host" ? " mac=" + l.mac : "") + " peer=" +
                    (l.peer_name.empty() ? "" : (shown(l.peer_ns) ? l.peer_ns : "?") + "/" +
                                                    l.peer_name));
    }
    for (const auto& [ns, dev, cidr] : addrs) {
      if (shown(ns)) out.push_back(ns + " addr " + cidr + " dev " + dev);
    }
    for (const auto& [k, v] : routes) {
      if (shown(std::get<0>(k))) {
        out.push_back(std::get<0>(k) + " route " + std::get<1>(k) + " via " + v.second + " dev " +
                      v.first);
      }
    }
    for (const std::string& h : hairpins) out.push_back("hairpin " + h);
    for (const std::string& e : nft) out.push_back("nft " + e);
    std::sort(out.begin(), out.end());
    return out;
  }

  // The kernel's side of the calls (used by the LinkOps below).
  bool Has(const std::string& ns, const std::string& name) const {
    return links.count({ns, name}) > 0;
  }
  void Delete(const std::string& ns, const std::string& name) {
    auto it = links.find({ns, name});
    if (it == links.end()) return;
    Link l = it->second;
    links.erase(it);
    for (auto a = addrs.begin(); a != addrs.end();) {
      a = std::get<0>(*a) == ns && std::get<1>(*a) == name ? addrs.erase(a) : std::next(a);
    }
    for (auto r = routes.begin(); r != routes.end();) {
      r = std::get<0>(r->first) == ns && r->second.first == name ? routes.erase(r) : std::next(r);
    }
    if (ns == "host") hairpins.erase(name);
    if (!l.peer_name.empty()) Delete(l.peer_ns, l.peer_name);
  }
  Link& Add(const std::string& ns, const std::string& name, std::string kind) {
    Link& l = links[{ns, name}];
    l.ifindex = next_ifindex_++;
    l.kind = std::move(kind);
    char mac[18];
    std::snprintf(mac, sizeof(mac), "02:fa:4e:00:%02x:%02x", (l.ifindex >> 8) & 0xff,
                  l.ifindex & 0xff);
    l.mac = mac;
    return l;
  }

 private:
  int next_ifindex_ = 2;
};

namespace internal {

class FakeOps final : public net::LinkOps {
 public:
  FakeOps(FakeKernel& k, std::string ns) : k_(k), ns_(std::move(ns)) {}

  Status SetSysctl(net::Where w, const std::string& key, const std::string& value) override {
    BERTH_TRY(k_.Step("sysctl " + key));
    BERTH_TRY(Ns(w));
    k_.sysctls[key] = value;
    return Ok();
  }
  Result<bool> EnsureBridge(const net::EnsureBridgeOp& op) override {
    BERTH_TRY(k_.Step("bridge " + op.name));
    bool made = !k_.Has("host", op.name);
    if (made) k_.Add("host", op.name, "bridge");
    FakeKernel::Link& l = k_.links[{"host", op.name}];
    l.up = true;
    k_.addrs.insert({"host", op.name, op.address.ToString()});
    return made;
  }
  Status CreateVeth(const net::CreateVethOp& op) override {
    BERTH_TRY(k_.Step("veth " + op.host_name));
    if (ns_.empty()) return Error::Internal("no container namespace");
    if (k_.Has("host", op.host_name) || k_.Has(ns_, op.peer_name)) {
      return Error::System("create veth", EEXIST);
    }
    if (!k_.Has("host", op.master)) return Error::System("create veth", ENODEV);
    FakeKernel::Link& h = k_.Add("host", op.host_name, "veth");
    h.master = op.master;
    h.up = true;
    h.peer_ns = ns_;
    h.peer_name = op.peer_name;
    FakeKernel::Link& p = k_.Add(ns_, op.peer_name, "veth");
    p.mac = op.peer_mac;
    p.peer_ns = "host";
    p.peer_name = op.host_name;
    return Ok();
  }
  Status AddAddress(const net::AddAddressOp& op) override {
    BERTH_TRY(k_.Step("addr " + op.dev));
    BERTH_ASSIGN_OR_RETURN(std::string ns, Ns(op.where));
    if (!k_.Has(ns, op.dev)) return Error::System("add address", ENODEV);
    k_.addrs.insert({ns, op.dev, op.address.ToString()});
    return Ok();
  }
  Status AddRoute(const net::AddRouteOp& op) override {
    BERTH_TRY(k_.Step("route " + op.dev));
    BERTH_ASSIGN_OR_RETURN(std::string ns, Ns(op.where));
    if (!k_.Has(ns, op.dev)) return Error::System("add route", ENODEV);
    std::string dst = op.dst ? op.dst->ToString() : "default";
    if (k_.routes.count({ns, dst}) && !op.replace) return Error::System("add route", EEXIST);
    k_.routes[{ns, dst}] = {op.dev, op.via.ToString()};
    return Ok();
  }
  Status LinkUp(const net::LinkUpOp& op) override {
    BERTH_TRY(k_.Step("up " + op.dev));
    BERTH_ASSIGN_OR_RETURN(std::string ns, Ns(op.where));
    if (op.dev == "lo" && !k_.Has(ns, "lo")) k_.Add(ns, "lo", "");
    if (!k_.Has(ns, op.dev)) return Error::System("set up", ENODEV);
    k_.links[{ns, op.dev}].up = true;
    return Ok();
  }
  Status SetHairpin(const net::HairpinOp& op) override {
    BERTH_TRY(k_.Step("hairpin " + op.port));
    if (!k_.Has("host", op.port)) return Error::System("hairpin", ENODEV);
    k_.hairpins.insert(op.port);
    return Ok();
  }
  Status ReleaseLink(const net::ReleaseLinkOp& op) override {
    BERTH_TRY(k_.Step("release " + op.name));
    k_.Delete("host", op.name);
    return Ok();
  }
  Status DeleteLink(const net::DeleteLinkOp& op) override {
    BERTH_TRY(k_.Step("del " + op.name));
    BERTH_ASSIGN_OR_RETURN(std::string ns, Ns(op.where));
    k_.Delete(ns, op.name);
    return Ok();
  }
  Result<std::optional<int>> Ifindex(net::Where w, const std::string& name) override {
    BERTH_TRY(k_.Step("ifindex " + name));
    BERTH_ASSIGN_OR_RETURN(std::string ns, Ns(w));
    auto it = k_.links.find({ns, name});
    if (it == k_.links.end()) return std::optional<int>();
    return std::optional<int>(it->second.ifindex);
  }
  Result<std::vector<Cidr>> HostRoutes() override {
    BERTH_TRY(k_.Step("host routes"));
    return std::vector<Cidr>();
  }
  Result<net::NamespaceView> Observe(net::Where w) override {
    BERTH_TRY(k_.Step("observe"));
    BERTH_ASSIGN_OR_RETURN(std::string ns, Ns(w));
    net::NamespaceView v;
    for (const auto& [key, l] : k_.links) {
      if (key.first != ns) continue;
      net::LinkInfo info;
      info.ifindex = l.ifindex;
      info.name = key.second;
      info.kind = l.kind;
      info.master = l.master;
      if (!l.master.empty()) info.master_ifindex = k_.links[{ns, l.master}].ifindex;
      if (!l.peer_name.empty()) info.peer_ifindex = k_.links[{l.peer_ns, l.peer_name}].ifindex;
      info.up = l.up;
      info.mac = l.mac;
      v.links.push_back(info);
    }
    for (const auto& [ans, dev, cidr] : k_.addrs) {
      if (ans == ns) v.addrs.push_back({k_.links[{ns, dev}].ifindex, *Cidr::ParseInterface(cidr)});
    }
    BERTH_ASSIGN_OR_RETURN(v.routes, RoutesIn(ns));
    return v;
  }
  Result<std::vector<net::RouteInfo>> Routes(net::Where w) override {
    BERTH_TRY(k_.Step("routes"));
    BERTH_ASSIGN_OR_RETURN(std::string ns, Ns(w));
    return RoutesIn(ns);
  }
  Result<std::optional<net::LinkInfo>> GetLinkInfo(net::Where w, const std::string& name) override {
    BERTH_ASSIGN_OR_RETURN(net::NamespaceView v, Observe(w));
    if (const net::LinkInfo* l = v.Link(name)) return std::optional<net::LinkInfo>(*l);
    return std::optional<net::LinkInfo>();
  }
  Result<std::optional<std::string>> Mac(net::Where w, const std::string& name) override {
    BERTH_TRY(k_.Step("mac " + name));
    BERTH_ASSIGN_OR_RETURN(std::string ns, Ns(w));
    auto it = k_.links.find({ns, name});
    if (it == k_.links.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second.mac);
  }

 private:
  Result<std::string> Ns(net::Where w) const {
    if (w == net::Where::kHost) return std::string("host");
    if (ns_.empty()) return Error::Internal("no container namespace for this operation");
    return ns_;
  }
  Result<std::vector<net::RouteInfo>> RoutesIn(const std::string& ns) {
    std::vector<net::RouteInfo> out;
    for (const auto& [key, v] : k_.routes) {
      if (std::get<0>(key) != ns) continue;
      net::RouteInfo r;
      if (std::get<1>(key) != "default") r.dst = *Cidr::ParseNetwork(std::get<1>(key));
      r.gateway = *IpAddr::Parse(v.second);
      r.ifindex = k_.links[{ns, v.first}].ifindex;
      out.push_back(r);
    }
    return out;
  }

  FakeKernel& k_;
  std::string ns_;
};

/// nftables elements as text; a failed step changes nothing (one transaction).
class FakeFirewall final : public firewall::Firewall {
 public:
  explicit FakeFirewall(FakeKernel& k) : k_(k) {}

  Status Apply(const firewall::Delta& d, const firewall::StateFn&) override {
    BERTH_TRY(k_.Step("nft apply"));
    for (const auto& n : d.remove_networks) k_.nft.erase(Text(n));
    for (const auto& p : d.remove_ports) k_.nft.erase(Text(p));
    for (const auto& n : d.add_networks) k_.nft.insert(Text(n));
    for (const auto& p : d.add_ports) k_.nft.insert(Text(p));
    return Ok();
  }
  Result<std::vector<std::string>> Missing(const firewall::Delta& expected) override {
    BERTH_TRY(k_.Step("nft list"));
    std::vector<std::string> out;
    for (const auto& n : expected.add_networks) {
      if (!k_.nft.count(Text(n))) out.push_back(Text(n));
    }
    for (const auto& p : expected.add_ports) {
      if (!k_.nft.count(Text(p))) out.push_back(Text(p));
    }
    return out;
  }

  Result<std::vector<std::string>> Sync(const firewall::State& state) override {
    BERTH_TRY(k_.Step("nft sync"));
    std::set<std::string> want;
    for (const auto& n : state.networks) want.insert(Text(n));
    for (const auto& p : state.ports) want.insert(Text(p));
    std::vector<std::string> diff;
    for (const auto& e : want) {
      if (!k_.nft.count(e)) diff.push_back("missing " + e);
    }
    for (const auto& e : k_.nft) {
      if (!want.count(e)) diff.push_back("stray " + e);
    }
    k_.nft = want;
    return diff;
  }

  Result<std::vector<std::string>> Bridges() override { return std::vector<std::string>(); }
  Result<std::vector<std::string>> SyncIfChanged(const firewall::StateFn&) override {
    return std::vector<std::string>();  // the fake kernel has no one else changing it
  }

  static std::string Text(const firewall::NetworkRules& n) {
    return "network " + n.bridge + " " + n.subnet.ToString() + " masq=" +
           std::to_string(n.masquerade) + " icc=" + std::to_string(n.icc) +
           " internal=" + std::to_string(n.internal);
  }
  static std::string Text(const firewall::PortRule& p) {
    return "port " + p.host_ip.ToString() + " " + std::to_string(static_cast<int>(p.protocol)) +
           " " + std::to_string(p.host_port) + "+" + std::to_string(p.count) + " -> " +
           p.container_ip.ToString() + ":" + std::to_string(p.container_port);
  }

 private:
  FakeKernel& k_;
};

}  // namespace internal

using FakeFirewall = internal::FakeFirewall;

inline Result<std::unique_ptr<net::LinkOps>> FakeKernel::Ops(int netns_fd) {
  BERTH_TRY(Step("open netlink"));
  return std::unique_ptr<net::LinkOps>(new internal::FakeOps(*this, NsOf(netns_fd)));
}

inline std::unique_ptr<firewall::Firewall> FakeKernel::Firewall() {
  return std::make_unique<internal::FakeFirewall>(*this);
}

}  // namespace berth::fakes
