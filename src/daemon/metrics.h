// berthd's metrics (issue 14), served in Prometheus text format at GET /metrics on the API
// socket and, with --metrics-listen ADDR:PORT, on TCP. What it counts itself: attaches and
// detaches, seen as endpoints appearing in and leaving the store between reloads (berth and
// the CNI plugin notify berthd after every commit; the safety net catches the rest). The rest
// is read when scraped: the DNS server's counters, the upkeep's firewall restores, and the
// addresses used and free per network from the store.
//
// Thread-compatible: berthd calls it under its control mutex.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "daemon/upkeep.h"
#include "dns/server.h"
#include "store/store.h"
#include "sys/fd.h"

namespace berth::daemon {

struct NetworkUsage {
  std::string network;
  uint64_t used = 0, free = 0;
};

/// Addresses handed out (endpoints) and left per network; the gateway and, for IPv4, the
/// subnet's network and broadcast addresses are neither.
Result<std::vector<NetworkUsage>> AddressUsage(store::Store& store);

/// Every (container id, network id) pair with an endpoint.
Result<std::set<std::pair<std::string, std::string>>> EndpointKeys(store::Store& store);

struct MetricsInputs {
  dns::ServerStats dns;
  UpkeepStats upkeep;
  uint64_t reloads = 0;
  std::vector<NetworkUsage> networks;
  size_t dns_records = 0;
};

class Metrics {
 public:
  /// The endpoints now; those new since the last call count as attaches, those gone as
  /// detaches. The first call only learns what exists.
  void ObserveEndpoints(std::set<std::pair<std::string, std::string>> now);
  std::string Render(const MetricsInputs& in) const;

  uint64_t attaches() const { return attaches_; }
  uint64_t detaches() const { return detaches_; }

 private:
  bool primed_ = false;
  std::set<std::pair<std::string, std::string>> endpoints_;
  uint64_t attaches_ = 0, detaches_ = 0;
};

/// A listening TCP socket on "ADDR:PORT" ("[::1]:9100" for IPv6).
Result<sys::Fd> ListenTcp(const std::string& addr_port);

}  // namespace berth::daemon
