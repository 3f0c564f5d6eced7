#include "ipam/subnets.h"

namespace berth::ipam {

namespace {

struct SpecialRange {
  Cidr range;
  const char* what;
  bool works_with_force;  // false: the kernel or every peer treats it as not unicast
};

// IANA special-purpose IPv4 ranges a bridge subnet must not take (RFC 6890).
const std::vector<SpecialRange>& SpecialRanges() {
  static const std::vector<SpecialRange> ranges = {
      {*Cidr::ParseNetwork("127.0.0.0/8"),
       "loopback: the host's local route takes these addresses, so traffic for the containers "
       "(and the host's own loopback services) breaks",
       false},
      {*Cidr::ParseNetwork("0.0.0.0/8"), "\"this network\" (0/8): not a valid destination", false},
      {*Cidr::ParseNetwork("224.0.0.0/4"), "multicast: not assignable to an interface", false},
      {*Cidr::ParseNetwork("255.255.255.255/32"),
       "the limited broadcast address 255.255.255.255: never a unicast address", false},
      {*Cidr::ParseNetwork("169.254.0.0/16"),
       "link-local: used for address autoconfiguration and cloud metadata (169.254.169.254)",
       true},
      {*Cidr::ParseNetwork("240.0.0.0/4"), "reserved (240/4): many hosts and routers drop it",
       true},
  };
  return ranges;
}

}  // namespace

Status CheckSubnetUsable(const Cidr& subnet, const std::vector<Cidr>& routes, bool force) {
  if (!subnet.is_v4()) return Ok();
  for (const SpecialRange& r : SpecialRanges()) {
    if (!subnet.Overlaps(r.range)) continue;
    std::string head = "subnet " + subnet.ToString() +
                       (subnet == r.range ? std::string(" is ")
                                          : " overlaps " + r.range.ToString() + ", ") +
                       r.what;
    if (!r.works_with_force) return Error::Invalid(head + " (refused even with --force)");
    if (!force) return Error::Invalid(head + " (use --force if you mean it)");
  }
  for (const Cidr& route : routes) {
    if (route.prefix() == 0 || !subnet.Overlaps(route)) continue;
    if (force) break;
    return Error::InUse("subnet " + subnet.ToString() + " overlaps the host's route to " +
                        route.ToString() +
                        ": the host could no longer reach that network (use --force if that "
                        "route is unused)");
  }
  return Ok();
}

const std::vector<Cidr>& DefaultPools() {
  static const std::vector<Cidr> pools = [] {
    std::vector<Cidr> out;
    for (uint32_t b = 18; b <= 31; ++b) out.emplace_back(IpAddr::V4((172u << 24) | (b << 16)), 16);
    for (uint32_t c = 0; c < 256; c += 16) {
      out.emplace_back(IpAddr::V4((192u << 24) | (168u << 16) | (c << 8)), 20);
    }
    return out;
  }();
  return pools;
}

Result<Cidr> PickSubnet(const std::vector<Cidr>& taken, const std::vector<Cidr>& pools) {
  for (const Cidr& pool : pools.empty() ? DefaultPools() : pools) {
    bool clash = false;
    for (const Cidr& t : taken) {
      if (t.prefix() > 0 && pool.Overlaps(t)) {
        clash = true;
        break;
      }
    }
    if (!clash) return pool;
  }
  return Error::Unavailable(
      "all predefined address pools have been fully subnetted: remove unused networks "
      "(berth network prune) or give --subnet");
}

Result<AddressPlan> PlanAddresses(const AddressRequest& req, const std::vector<Cidr>& networks,
                                  const std::vector<Cidr>& routes, const std::vector<Cidr>& pools) {
  AddressPlan plan;
  if (!req.subnet) {
    if (req.gateway) return Error::Invalid("--gateway needs --subnet");
    if (req.ip_range) return Error::Invalid("--ip-range needs --subnet");
    std::vector<Cidr> taken = networks;
    taken.insert(taken.end(), routes.begin(), routes.end());
    BERTH_ASSIGN_OR_RETURN(plan.subnet, PickSubnet(taken, pools));
  } else {
    plan.subnet = *req.subnet;
    if (plan.subnet.is_v4() && plan.subnet.prefix() > 30) {
      return Error::Invalid("subnet " + plan.subnet.ToString() +
                            " is too small: it needs room for a gateway and containers (/30 or "
                            "larger)");
    }
    if (!plan.subnet.is_v4() && plan.subnet.prefix() > 126) {
      return Error::Invalid("subnet " + plan.subnet.ToString() + " is too small (/126 or larger)");
    }
    for (const Cidr& other : networks) {
      if (plan.subnet.Overlaps(other)) {
        return Error::InUse("subnet " + plan.subnet.ToString() +
                            " overlaps the subnet of another network (" + other.ToString() + ")");
      }
    }
    BERTH_TRY(CheckSubnetUsable(plan.subnet, routes, req.force));
  }
  const Cidr& s = plan.subnet;
  if (req.gateway) {
    const IpAddr& g = *req.gateway;
    if (!s.Contains(g)) {
      return Error::Invalid("gateway " + g.ToString() + " is outside subnet " + s.ToString());
    }
    if (g == s.Network() || (s.is_v4() && g == s.Last())) {
      return Error::Invalid("gateway " + g.ToString() + " is the network or broadcast address of " +
                            s.ToString());
    }
    plan.gateway = g;
  } else {
    plan.gateway = s.Network().Plus(1);
  }
  if (req.ip_range) {
    if (!s.Contains(*req.ip_range)) {
      return Error::Invalid("ip range " + req.ip_range->ToString() + " is outside subnet " +
                            s.ToString());
    }
    // At least one address containers can get: not the network, broadcast or gateway one.
    const Cidr& r = *req.ip_range;
    u128 reserved = 0;
    for (const IpAddr& a : {s.Network(), s.Last(), plan.gateway}) reserved += r.Contains(a);
    if (!s.is_v4() && r.Contains(s.Last())) --reserved;  // IPv6 has no broadcast address
    if (r.Size() <= reserved) {
      return Error::Invalid("ip range " + r.ToString() + " holds no usable address (only the "
                            "network, broadcast or gateway address of " + s.ToString() + ")");
    }
    plan.ip_range = req.ip_range;
  }
  return plan;
}

}  // namespace berth::ipam
