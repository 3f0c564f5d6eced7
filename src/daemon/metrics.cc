#include "daemon/metrics.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <tuple>

#include "daemon/prometheus.h"
#include "sys/sockaddr.h"

namespace berth::daemon {

Result<std::vector<NetworkUsage>> AddressUsage(store::Store& store) {
  std::vector<NetworkUsage> out;
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> nets, store.ListNetworks());
  for (const Network& n : nets) {
    BERTH_ASSIGN_OR_RETURN(std::vector<Endpoint> eps, store.EndpointsOfNetwork(n.id));
    Cidr range = n.ip_range.value_or(n.subnet);
    u128 size = range.Size();
    auto excluded = [&](const IpAddr& ip) {
      return range.Contains(ip) ? 1 : 0;
    };
    u128 reserved = excluded(n.gateway);
    if (n.subnet.is_v4() && n.subnet.prefix() <= 30) {
      reserved += excluded(n.subnet.Network()) + excluded(n.subnet.Last());
    }
    u128 capacity = size > reserved ? size - reserved : 0;
    constexpr u128 kMax = static_cast<u128>(UINT64_MAX);
    uint64_t used = eps.size();
    uint64_t cap = static_cast<uint64_t>(std::min(capacity, kMax));
    out.push_back({n.name, used, cap > used ? cap - used : 0});
  }
  return out;
}

void Metrics::ObserveOps(const std::vector<engine::OpRecord>& records) {
  for (const engine::OpRecord& r : records) {
    Series& s = ops_[{r.kind, r.source, r.network}];
    if (!r.ok) {
      ++s.failed;
      continue;
    }
    ++s.ok;
    size_t i = 0;
    while (i < kOpBuckets.size() && r.seconds > kOpBuckets[i]) ++i;
    ++s.buckets[i];
    s.sum += r.seconds;
  }
}

std::string Metrics::Render(const MetricsInputs& in) const {
  PromText p;
  for (engine::OpKind kind : {engine::OpKind::kAttach, engine::OpKind::kDetach}) {
    bool attach = kind == engine::OpKind::kAttach;
    std::string total = attach ? "berth_attaches_total" : "berth_detaches_total";
    p.Family(total, "counter",
             attach ? "Endpoints attached (a container joined a network) by the CLI and the CNI "
                      "plugin, by result"
                    : "Endpoints detached (a container left a network) by the CLI and the CNI "
                      "plugin, by result");
    for (const auto& [key, s] : ops_) {
      if (std::get<0>(key) != kind) continue;
      Labels l = {{"source", std::get<1>(key)}, {"network", std::get<2>(key)}};
      Labels ok = l, failed = l;
      ok.emplace_back("result", "ok");
      failed.emplace_back("result", "failed");
      p.Sample(total, ok, s.ok);
      p.Sample(total, failed, s.failed);
    }
    std::string hist = attach ? "berth_attach_duration_seconds" : "berth_detach_duration_seconds";
    p.Family(hist, "histogram",
             attach ? "Time a successful attach took, as its caller saw it (the wait for the "
                      "state lock included)"
                    : "Time a successful detach took, as its caller saw it");
    for (const auto& [key, s] : ops_) {
      if (std::get<0>(key) != kind) continue;
      p.Histogram(hist, {{"source", std::get<1>(key)}, {"network", std::get<2>(key)}},
                  kOpBuckets, s.buckets, s.sum);
    }
  }
  uint64_t endpoints = 0;
  for (const NetworkUsage& n : in.networks) endpoints += n.used;
  p.Family("berth_endpoints", "gauge", "Endpoints in the store now");
  p.Sample("berth_endpoints", endpoints);

  p.Family("berth_network_addresses_used", "gauge", "Addresses handed out per network");
  for (const NetworkUsage& n : in.networks) {
    p.Sample("berth_network_addresses_used", {{"network", n.network}}, n.used);
  }
  p.Family("berth_network_addresses_free", "gauge", "Addresses left per network");
  for (const NetworkUsage& n : in.networks) {
    p.Sample("berth_network_addresses_free", {{"network", n.network}}, n.free);
  }

  static constexpr const char* kRcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                            "NOTIMP",  "REFUSED"};
  p.Family("berth_dns_queries_total", "counter",
           "DNS queries answered by berthd, by transport, query type and rcode (a forwarded "
           "query with its upstream's rcode)");
  for (const char* transport : {"udp", "tcp"}) {
    bool udp = transport[0] == 'u';
    const auto& counts = udp ? in.dns.by_type_rcode : in.dns.tcp_by_type_rcode;
    for (size_t t = 0; t < dns::kQtypeSlots; ++t) {
      for (size_t r = 0; r < dns::kRcodeSlots; ++r) {
        uint64_t v = counts[t * dns::kRcodeSlots + r];
        bool common = udp && t == 0 && (r == 0 || r == 3);  // always there, for rate()
        if (!v && !common) continue;
        std::string rcode = r < std::size(kRcodes) ? kRcodes[r] : "RCODE" + std::to_string(r);
        p.Sample("berth_dns_queries_total",
                 {{"transport", transport}, {"type", dns::kQtypeNames[t]}, {"rcode", rcode}}, v);
      }
    }
  }
  p.Family("berth_dns_query_duration_seconds", "histogram",
           "Time from reading a DNS query to sending its answer, by transport and by who "
           "answered (local: berthd's table; forwarded: an upstream resolver)");
  std::vector<double> bounds;
  for (uint64_t ns : dns::kLatencyBoundsNs) bounds.push_back(static_cast<double>(ns) / 1e9);
  static constexpr std::pair<const char*, const char*> kPaths[] = {
      {"udp", "local"}, {"udp", "forwarded"}, {"tcp", "local"}, {"tcp", "forwarded"}};
  for (size_t i = 0; i < dns::kQueryPaths; ++i) {
    const dns::LatencyStats& l = in.dns.latency[i];
    p.Histogram("berth_dns_query_duration_seconds",
                {{"transport", kPaths[i].first}, {"answer", kPaths[i].second}}, bounds,
                std::vector<uint64_t>(l.buckets.begin(), l.buckets.end()),
                static_cast<double>(l.sum_ns) / 1e9);
  }
  p.Family("berth_dns_udp_queries_total", "counter", "DNS queries received over UDP");
  p.Sample("berth_dns_udp_queries_total", in.dns.udp_queries);
  p.Family("berth_dns_tcp_queries_total", "counter", "DNS queries received over TCP");
  p.Sample("berth_dns_tcp_queries_total", in.dns.tcp_queries);
  p.Family("berth_dns_forwarded_total", "counter", "DNS queries forwarded to upstream resolvers");
  p.Sample("berth_dns_forwarded_total", in.dns.forwarder.forwarded);
  p.Family("berth_dns_upstream_failures_total", "counter",
           "Forwarded queries answered SERVFAIL because every upstream failed");
  p.Sample("berth_dns_upstream_failures_total", in.dns.forwarder.failed);
  p.Family("berth_dns_records", "gauge", "Names berthd's DNS table holds");
  p.Sample("berth_dns_records", in.dns_records);

  p.Family("berth_firewall_restores_total", "counter",
           "Times berthd rebuilt berth's nftables table after someone damaged it");
  p.Sample("berth_firewall_restores_total", in.upkeep.firewall_restores);
  p.Family("berth_reconcile_runs_total", "counter", "Reconciles of the store and the kernel");
  p.Sample("berth_reconcile_runs_total", in.upkeep.reconcile_runs);
  p.Family("berth_reloads_total", "counter", "DNS table reloads from the store");
  p.Sample("berth_reloads_total", in.reloads);

  if (in.cluster) {
    p.Family("berth_cluster_etcd_reachable", "gauge",
             "1 while the cluster agent reaches etcd, else 0");
    p.Sample("berth_cluster_etcd_reachable", in.cluster->etcd_reachable ? 1 : 0);
    p.Family("berth_cluster_peers_ready", "gauge",
             "Other nodes this node has routes (and tunnels) to");
    p.Sample("berth_cluster_peers_ready", static_cast<uint64_t>(std::max(0, in.cluster->peers_ready)));
    p.Family("berth_cluster_fenced", "gauge",
             "1 while this node does not serve the cluster network (its subnet is held by "
             "another node, or it was removed), else 0");
    p.Sample("berth_cluster_fenced", in.cluster->fenced ? 1 : 0);
  }
  return p.text();
}

Result<sys::Fd> ListenTcp(const std::string& addr_port) {
  std::string host = addr_port, port;
  if (host.starts_with("[")) {
    size_t close = host.find("]:");
    if (close == std::string::npos) return Error::Invalid("bad --metrics-listen " + addr_port);
    port = host.substr(close + 2);
    host = host.substr(1, close - 1);
  } else {
    size_t colon = host.rfind(':');
    if (colon == std::string::npos) return Error::Invalid("--metrics-listen needs ADDR:PORT");
    port = host.substr(colon + 1);
    host.resize(colon);
  }
  BERTH_ASSIGN_OR_RETURN(IpAddr ip, IpAddr::Parse(host));
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 1 || p > 65535) {
    return Error::Invalid("bad port in --metrics-listen " + addr_port);
  }
  sockaddr_storage ss;
  socklen_t len = sys::ToSockaddr(ip, static_cast<uint16_t>(p), &ss);
  sys::Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Error::System("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Error::System("bind " + addr_port, errno);
  }
  if (::listen(fd.get(), 64) != 0) return Error::System("listen " + addr_port, errno);
  return fd;
}

}  // namespace berth::daemon
