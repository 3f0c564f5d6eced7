// berthd's metrics (issue 14), served in Prometheus text format at GET /metrics on the API
// socket and, with --metrics-listen ADDR:PORT, on TCP. What it counts itself: attaches and
// detaches with their durations, as the CLI and the CNI plugin report them in the operation
// log (engine/op_log.h, read by OpLogReader at each reload and scrape: exact, even for a
// container that came and went between two reloads). The rest is read when scraped: the DNS
// server's counters and latencies, the upkeep's firewall restores, the cluster agent's status,
// and the addresses used and free per network from the store.
//
// Thread-compatible: berthd calls it under its control mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/error.h"
#include "daemon/upkeep.h"
#include "dns/server.h"
#include "engine/op_log.h"
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

/// What berthd's cluster agent says (agent Status()), when it runs.
struct ClusterGauges {
  bool etcd_reachable = false;
  int peers_ready = 0;
  bool fenced = false;
};

struct MetricsInputs {
  dns::ServerStats dns;
  UpkeepStats upkeep;
  uint64_t reloads = 0;
  std::vector<NetworkUsage> networks;
  size_t dns_records = 0;
  std::optional<ClusterGauges> cluster;  // absent: this host is in no cluster
};

/// Upper bounds of the attach/detach duration buckets, in seconds.
inline const std::vector<double> kOpBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1,     2.5,  5,    10};

class Metrics {
 public:
  /// Counts attaches and detaches from the operation log: every one by kind, source, network
  /// and result; the successful ones' durations in the histograms.
  void ObserveOps(const std::vector<engine::OpRecord>& records);
  std::string Render(const MetricsInputs& in) const;

 private:
  struct Series {
    uint64_t ok = 0, failed = 0;
    std::vector<uint64_t> buckets = std::vector<uint64_t>(kOpBuckets.size() + 1);
    double sum = 0;
  };
  // By (kind, source, network).
  std::map<std::tuple<engine::OpKind, std::string, std::string>, Series> ops_;
};

/// A listening TCP socket on "ADDR:PORT" ("[::1]:9100" for IPv6).
Result<sys::Fd> ListenTcp(const std::string& addr_port);

}  // namespace berth::daemon
