// Address allocation inside one network: the next free address for a new endpoint, or a check
// of an address the user asked for. Pure: the caller answers "is this address taken?" (the
// store, inside its write transaction), so the same code is unit-tested without SQLite.
#pragma once

#include <functional>
#include <optional>

#include "core/error.h"
#include "core/model.h"

namespace berth::ipam {

using InUseFn = std::function<Result<bool>(const IpAddr&)>;

/// The next free address of the network's ip_range (or subnet), starting after `cursor` and
/// wrapping around, as Docker and CNI host-local do: a released address is not handed out
/// again at once, so stale ARP entries elsewhere do not misdirect traffic to a new container.
/// Never returns the network, broadcast or gateway address.
Result<IpAddr> NextFree(const Network& net, std::optional<IpAddr> cursor, const InUseFn& in_use);

/// The same within [first, last] (CNI's rangeStart/rangeEnd), both inside the network's subnet.
Result<IpAddr> NextFreeInRange(const Network& net, const IpAddr& first, const IpAddr& last,
                               std::optional<IpAddr> cursor, const InUseFn& in_use);

/// Checks an address given with --ip: inside the subnet, not reserved, not in use.
Status CheckStatic(const Network& net, const IpAddr& ip, const InUseFn& in_use);

}  // namespace berth::ipam
