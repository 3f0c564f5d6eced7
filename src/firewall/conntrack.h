// Forgetting the UDP flows of a service backend that left (kube-proxy's long-standing stale
// UDP bug): conntrack keeps a UDP "connection" DNATed to the old backend for as long as the
// client keeps sending, so without this a DNS-like client stays stuck on a dead backend.
//
// libnetfilter_conntrack is loaded with dlopen on first use, as libnftables is
// (nft_firewall.cc): programs that never remove a backend (berth-cni) never load it.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <vector>

#include "core/error.h"
#include "core/ip.h"

namespace berth::firewall {

/// The UDP flows sent to vip:port and DNATed to backend.
struct StaleFlow {
  IpAddr vip;
  uint16_t port = 0;
  IpAddr backend;
  bool operator==(const StaleFlow&) const = default;
};

/// Deletes the conntrack entries of `flows` in the calling thread's network namespace; returns
/// how many were deleted.
Result<size_t> ForgetUdpFlows(const std::vector<StaleFlow>& flows);

}  // namespace berth::firewall
