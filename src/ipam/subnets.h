// Choosing and checking a network's address plan: the subnet (from berth's pools or the user),
// its gateway and the range dynamic addresses come from. Pure: callers pass in what is taken.
#pragma once

#include <optional>
#include <vector>

#include "core/error.h"
#include "core/ip.h"

namespace berth::ipam {

/// The pools user-defined networks are carved from, in order: 172.18.0.0/16 .. 172.31.0.0/16,
/// then the /20s of 192.168.0.0/16 (Docker's defaults, minus 172.17/16 for the default network).
const std::vector<Cidr>& DefaultPools();

/// The first pool subnet that overlaps none of `taken` (other networks' subnets and the host's
/// routes). Default routes must not be passed: they overlap everything.
/// `pools`: where to pick from (config.json's default-address-pools); empty: DefaultPools().
Result<Cidr> PickSubnet(const std::vector<Cidr>& taken, const std::vector<Cidr>& pools = {});

struct AddressPlan {
  Cidr subnet;
  IpAddr gateway;
  std::optional<Cidr> ip_range;
};

struct AddressRequest {
  std::optional<Cidr> subnet;
  std::optional<IpAddr> gateway;
  std::optional<Cidr> ip_range;
  /// --force: allow an explicit subnet that is unusual but can work (link-local, 240/4, one
  /// that overlaps a host route). Ranges that cannot work at all are refused regardless.
  bool force = false;
};

/// Refuses an explicit subnet that would break the host: loopback (127/8), 0/8, multicast
/// (224/4) and any subnet holding the limited broadcast 255.255.255.255, always; link-local
/// (169.254/16), reserved 240/4 and a subnet overlapping one of the host's `routes`, unless
/// `force`. The error names the range and why.
Status CheckSubnetUsable(const Cidr& subnet, const std::vector<Cidr>& routes, bool force);

/// Completes and validates a request. `networks` are the subnets of existing networks (an
/// explicit subnet may not overlap them); `routes` are the host's routes: a picked subnet
/// avoids them, an explicit one overlapping them needs `force` (CheckSubnetUsable). An
/// --ip-range must hold an address besides the network, broadcast and gateway addresses.
/// `pools`: where a subnet is picked from when none is asked for (config.json's
/// default-address-pools); empty: DefaultPools().
Result<AddressPlan> PlanAddresses(const AddressRequest& req, const std::vector<Cidr>& networks,
                                  const std::vector<Cidr>& routes,
                                  const std::vector<Cidr>& pools = {});

}  // namespace berth::ipam
