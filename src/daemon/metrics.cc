#include "daemon/metrics.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

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

Result<std::set<std::pair<std::string, std::string>>> EndpointKeys(store::Store& store) {
  std::set<std::pair<std::string, std::string>> out;
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> nets, store.ListNetworks());
  for (const Network& n : nets) {
    BERTH_ASSIGN_OR_RETURN(std::vector<Endpoint> eps, store.EndpointsOfNetwork(n.id));
    for (const Endpoint& e : eps) out.emplace(e.container_id, e.network_id);
  }
  return out;
}

void Metrics::ObserveEndpoints(std::set<std::pair<std::string, std::string>> now) {
  if (primed_) {
    for (const auto& k : now) attaches_ += endpoints_.count(k) ? 0 : 1;
    for (const auto& k : endpoints_) detaches_ += now.count(k) ? 0 : 1;
  }
  primed_ = true;
  endpoints_ = std::move(now);
}

std::string Metrics::Render(const MetricsInputs& in) const {
  PromText p;
  p.Family("berth_attaches_total", "counter",
           "Endpoints attached (a container joined a network), seen by berthd");
  p.Sample("berth_attaches_total", attaches_);
  p.Family("berth_detaches_total", "counter",
           "Endpoints detached (a container left a network), seen by berthd");
  p.Sample("berth_detaches_total", detaches_);
  p.Family("berth_endpoints", "gauge", "Endpoints in the store now");
  p.Sample("berth_endpoints", endpoints_.size());

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
           "DNS queries answered by berthd itself over UDP, by query type and rcode");
  for (size_t t = 0; t < dns::kQtypeSlots; ++t) {
    for (size_t r = 0; r < dns::kRcodeSlots; ++r) {
      uint64_t v = in.dns.by_type_rcode[t * dns::kRcodeSlots + r];
      bool common = t == 0 && (r == 0 || r == 3);  // always shown, so rate() has a series
      if (!v && !common) continue;
      std::string rcode = r < std::size(kRcodes) ? kRcodes[r] : "RCODE" + std::to_string(r);
      p.Sample("berth_dns_queries_total", {{"type", dns::kQtypeNames[t]}, {"rcode", rcode}}, v);
    }
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
