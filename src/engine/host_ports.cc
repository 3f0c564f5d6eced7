#include "engine/host_ports.h"

namespace berth::engine {

namespace {

constexpr uint16_t kDnsPort = 53;

const char* ProtoName(Protocol p) { return p == Protocol::kUdp ? "udp" : "tcp"; }

}  // namespace

Status HostPorts::Load() {
  if (loaded_) return Ok();
  BERTH_ASSIGN_OR_RETURN(gateways_, gateways_fn_());
  BERTH_ASSIGN_OR_RETURN(listeners_, listeners_fn_());
  loaded_ = true;
  return Ok();
}

Status HostPorts::Check(Protocol protocol, const IpAddr& host_ip, uint16_t port,
                        uint16_t count) {
  BERTH_TRY(Load());
  const unsigned last = unsigned{port} + count - 1;
  const bool every = host_ip.IsUnspecified();
  if (port <= kDnsPort && kDnsPort <= last) {
    for (const IpAddr& gw : gateways_) {
      if (!every && gw != host_ip) continue;
      return Error::InUse("port 53/" + std::string(ProtoName(protocol)) + " on " +
                          (every ? "every host address" : host_ip.ToString()) +
                          " is taken by berthd: it answers DNS for containers on the gateway " +
                          gw.ToString() + " (publish on another host address)");
    }
  }
  for (const sys::Listener& l : listeners_) {
    // berth publishes IPv4 only: an IPv6-only listener is not shadowed by its DNAT rule.
    if (l.protocol != protocol || l.port < port || l.port > last || l.ip.is_v6()) continue;
    if (!every && !l.ip.IsUnspecified() && l.ip != host_ip) continue;
    auto owner = owner_fn_(l.inode);
    std::string who = owner ? "process " + owner->name + " (pid " + std::to_string(owner->pid) + ")"
                            : "a process berth cannot see (socket inode " +
                                  std::to_string(l.inode) + ")";
    return Error::InUse("port " + std::to_string(l.port) + "/" + ProtoName(protocol) +
                        " is in use on the host by " + who + ", listening on " +
                        l.ip.ToString() + ":" + std::to_string(l.port) +
                        ": publishing it would hide that service (choose another host port)");
  }
  return Ok();
}

}  // namespace berth::engine
