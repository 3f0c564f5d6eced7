// `berth trace SRC DST[:PORT][/udp|/icmp] [--watch SECONDS]`: follows packets through nftables
// with nftrace. For the time of the trace, a table of its own (`inet berth_trace`, chains on the
// prerouting and output hooks before everything else) marks the packets going to DST with
// `meta nftrace set 1`; the kernel then reports every rule they meet on the NFNLGRP_NFTRACE
// netlink group (parsed with libnftnl). The table is deleted when the trace ends, also on
// SIGINT/SIGTERM, so nothing with nftrace stays in the data path.
//
// Without --watch it sends one probe from SRC (as `berth why` does); with it, it follows the
// real traffic matching DST for that many seconds. Either way it first asks the kernel for the
// route from SRC's namespace (RTM_GETROUTE), and names the container a DNAT sent the packet to
// (the backend of a service VIP, the container behind a published port).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "diagnose/route_lookup.h"
#include "diagnose/why.h"
#include "engine/engine.h"

namespace berth::diagnose {

struct TraceStep {
  std::string table, chain;  // "inet berth", "forward"
  std::string type;          // "rule", "policy", "return"
  uint64_t handle = 0;
  std::string rule;          // the rule as nft prints it, when known
  std::string verdict;       // accept, drop, continue, jump user ...
  std::string iif, oif;      // interface names (the host's)
  std::string src, dst;      // addresses (and ports) in the packet as this hook saw it
};

struct TracedPacket {
  uint32_t id = 0;
  size_t seq = 0;  // order of first sight
  std::vector<TraceStep> steps;
  std::string dnat;     // "172.18.0.2:80" when the destination was rewritten
  std::string dnat_to;  // whose address that is: "b1", "b1, a backend of service web"
  std::string outcome;  // "dropped by inet berth forward (handle 9)", "accepted ... out br-x"
};

struct TraceReport {
  std::string probe;  // what the probe saw; "" with --watch
  std::string target;
  std::string service;  // the service whose VIP the target is, if any
  /// The kernel's route to the target from SRC's namespace (RTM_GETROUTE, `ip route get`):
  /// "10.88.0.3 via 10.88.0.1 dev eth0 src 10.88.0.2"; or why there is none.
  std::string route;
  std::string route_error;
  std::optional<RouteLookup> route_detail;
  std::vector<TracedPacket> packets;
};

struct TraceRequest {
  WhyRequest why;   // SRC, DST, port, protocol (icmp: no port)
  int watch_seconds = 0;
};

Result<TraceReport> Trace(engine::Engine& engine, const TraceRequest& req);

std::string TraceText(const TraceReport& r);
std::string TraceJson(const TraceReport& r);

}  // namespace berth::diagnose
