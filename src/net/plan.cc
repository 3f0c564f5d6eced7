#include "net/plan.h"

namespace berth::net {

Plan NewNamespacePlan() { return Plan{{LinkUpOp{Where::kContainer, "lo"}}}; }

Plan BridgePlan(const Network& net) {
  Plan p;
  p.ops.push_back(SysctlOp{Where::kHost, net.subnet.is_v4() ? "net.ipv4.ip_forward"
                                                            : "net.ipv6.conf.all.forwarding",
                           "1"});
  p.ops.push_back(EnsureBridgeOp{net.bridge, Cidr(net.gateway, net.subnet.prefix()), net.mtu});
  // Slash form: bridge names may contain dots.
  p.ops.push_back(SysctlOp{Where::kHost, "net/ipv4/conf/" + net.bridge + "/route_localnet", "1"});
  if (!net.icc()) {
    p.ops.push_back(SysctlOp{Where::kHost, "net/bridge/bridge-nf-call-iptables", "1"});
  }
  return p;
}

Plan AttachPlan(const Network& net, const Endpoint& ep, bool default_route) {
  Plan p = BridgePlan(net);
  p.ops.push_back(CreateVethOp{ep.host_veth, net.bridge, ep.ifname, ep.mac, net.mtu});
  p.ops.push_back(AddAddressOp{Where::kContainer, ep.ifname, Cidr(ep.ip, ep.prefix_len)});
  p.ops.push_back(LinkUpOp{Where::kContainer, ep.ifname});
  if (default_route && !net.internal) {
    p.ops.push_back(AddRouteOp{Where::kContainer, ep.ifname, std::nullopt, ep.gateway});
  }
  if (!ep.ports.empty()) p.ops.push_back(HairpinOp{ep.host_veth});
  return p;
}

Plan DetachPlan(const Endpoint& ep) {
  return Plan{{ReleaseLinkOp{ep.host_veth}}};
}

namespace {

struct ExplainVisitor {
  const std::string& netns;
  std::string Prefix(Where w) const {
    return w == Where::kContainer ? "nsenter --net=" + netns + " " : std::string();
  }
  std::string operator()(const SysctlOp& o) const {
    std::string key = o.key;
    for (char& c : key) {
      if (c == '/') c = '.';
    }
    return Prefix(o.where) + "sysctl -w " + key + "=" + o.value;
  }
  std::string operator()(const EnsureBridgeOp& o) const {
    std::string mtu = std::to_string(o.mtu);
    return "ip link add " + o.name + " mtu " + mtu + " type bridge\n" + "ip addr add " +
           o.address.ToString() + " dev " + o.name + "\n" + "ip link set " + o.name + " up";
  }
  std::string operator()(const CreateVethOp& o) const {
    return "ip link add " + o.host_name + " mtu " + std::to_string(o.mtu) + " master " +
           o.master + " up type veth peer name " + o.peer_name + " address " + o.peer_mac +
           " mtu " + std::to_string(o.mtu) + " netns " + netns;
  }
  std::string operator()(const AddAddressOp& o) const {
    return Prefix(o.where) + "ip addr add " + o.address.ToString() + " dev " + o.dev;
  }
  std::string operator()(const AddRouteOp& o) const {
    return Prefix(o.where) + "ip route " + (o.replace ? "replace " : "add ") +
           (o.dst ? o.dst->ToString() : "default") + " via " +
           o.via.ToString() + " dev " + o.dev;
  }
  std::string operator()(const LinkUpOp& o) const {
    return Prefix(o.where) + "ip link set " + o.dev + " up";
  }
  std::string operator()(const HairpinOp& o) const {
    return "ip link set " + o.port + " type bridge_slave hairpin on";
  }
  std::string operator()(const ReleaseLinkOp& o) const {
    return "ip link set " + o.name + " down && (ip link del " + o.name + " &)";
  }
  std::string operator()(const DeleteLinkOp& o) const {
    return Prefix(o.where) + "ip link del " + o.name;
  }
};

}  // namespace

std::string Explain(const Plan& plan, const std::string& netns_path) {
  std::string out;
  for (const Op& op : plan.ops) {
    out += std::visit(ExplainVisitor{netns_path}, op);
    out += '\n';
  }
  return out;
}

}  // namespace berth::net
