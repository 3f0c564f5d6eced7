#include "ipam/subnets.h"

namespace berth::ipam {

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

Result<Cidr> PickSubnet(const std::vector<Cidr>& taken) {
  for (const Cidr& pool : DefaultPools()) {
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
                                  const std::vector<Cidr>& routes) {
  AddressPlan plan;
  if (!req.subnet) {
    if (req.gateway) return Error::Invalid("--gateway needs --subnet");
    if (req.ip_range) return Error::Invalid("--ip-range needs --subnet");
    std::vector<Cidr> taken = networks;
    taken.insert(taken.end(), routes.begin(), routes.end());
    BERTH_ASSIGN_OR_RETURN(plan.subnet, PickSubnet(taken));
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
    plan.ip_range = req.ip_range;
  }
  return plan;
}

}  // namespace berth::ipam
