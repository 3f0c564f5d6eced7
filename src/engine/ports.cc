#include "engine/ports.h"

#include <charconv>

#include "engine/host_ports.h"

namespace berth::engine {

namespace {

Result<std::pair<uint16_t, uint16_t>> ParseRange(std::string_view text, std::string_view spec) {
  auto bad = [&](const std::string& why) {
    return Error::Invalid("invalid port spec \"" + std::string(spec) + "\": " + why);
  };
  auto one = [&](std::string_view t) -> Result<uint16_t> {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
      return bad("\"" + std::string(t) + "\" is not a port number");
    }
    if (v < 1 || v > 65535) return bad("port " + std::to_string(v) + " is outside 1-65535");
    return static_cast<uint16_t>(v);
  };
  size_t dash = text.find('-');
  BERTH_ASSIGN_OR_RETURN(uint16_t lo, one(text.substr(0, dash)));
  if (dash == std::string_view::npos) return std::make_pair(lo, lo);
  BERTH_ASSIGN_OR_RETURN(uint16_t hi, one(text.substr(dash + 1)));
  if (hi < lo) return bad("range " + std::string(text) + " ends before it starts");
  return std::make_pair(lo, hi);
}

const char* ProtoName(Protocol p) { return p == Protocol::kUdp ? "udp" : "tcp"; }

}  // namespace

Result<PortRequest> ParsePortSpec(std::string_view spec) {
  auto bad = [&](const std::string& why) {
    return Error::Invalid("invalid port spec \"" + std::string(spec) + "\": " + why);
  };
  PortRequest r;
  r.host_ip = IpAddr::V4(0);
  std::string_view rest = spec;
  if (size_t slash = rest.rfind('/'); slash != std::string_view::npos) {
    std::string_view proto = rest.substr(slash + 1);
    if (proto == "udp") {
      r.protocol = Protocol::kUdp;
    } else if (proto != "tcp") {
      return bad("protocol must be tcp or udp");
    }
    rest = rest.substr(0, slash);
  }
  if (!rest.empty() && rest.front() == '[') return bad("IPv6 host addresses are not supported yet");
  // Split from the right: CONTAINER, then HOST, then HOSTIP (which is the rest).
  size_t c1 = rest.rfind(':');
  std::string_view container = c1 == std::string_view::npos ? rest : rest.substr(c1 + 1);
  std::string_view host, ip;
  if (c1 != std::string_view::npos) {
    std::string_view left = rest.substr(0, c1);
    size_t c2 = left.rfind(':');
    host = c2 == std::string_view::npos ? left : left.substr(c2 + 1);
    if (c2 != std::string_view::npos) ip = left.substr(0, c2);
    if (c2 == std::string_view::npos && host.find('.') != std::string_view::npos) {
      return bad("expected [HOSTIP:]HOSTPORT:CONTAINERPORT");
    }
    if (c2 != std::string_view::npos && ip.empty()) return bad("empty host address");
  }
  if (!ip.empty()) {
    auto addr = IpAddr::Parse(ip);
    if (!addr.ok()) return bad("\"" + std::string(ip) + "\" is not an IP address");
    if (!addr->is_v4()) return bad("IPv6 host addresses are not supported yet");
    r.host_ip = *addr;
  }
  BERTH_ASSIGN_OR_RETURN(auto cport, ParseRange(container, spec));
  r.container_port = cport.first;
  r.count = static_cast<uint16_t>(cport.second - cport.first + 1);
  if (!host.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto hport, ParseRange(host, spec));
    if (hport.second - hport.first != cport.second - cport.first) {
      return bad("host and container port ranges must have the same length");
    }
    r.host_port = hport.first;
  } else if (c1 != std::string_view::npos && ip.empty()) {
    return bad("empty host port");
  }
  return r;
}

std::string PortText(const PortMapping& p) {
  auto range = [&](uint16_t first) {
    return p.count == 1 ? std::to_string(first)
                        : std::to_string(first) + "-" + std::to_string(first + p.count - 1);
  };
  return p.host_ip.ToString() + ":" + range(p.host_port) + "->" + range(p.container_port) + "/" +
         ProtoName(p.protocol);
}

namespace {

// The holder of anything overlapping [lo, hi] on `ip` (an address, or all of them).
Result<std::optional<std::pair<PortMapping, std::string>>> Conflict(store::Store& store,
                                                                     Protocol proto,
                                                                     const IpAddr& ip,
                                                                     uint16_t lo, uint16_t hi) {
  std::vector<IpAddr> ips;
  if (ip.IsUnspecified()) {
    BERTH_ASSIGN_OR_RETURN(ips, store.PortHostIps(proto));
  } else {
    ips = {ip, IpAddr::V4(0)};
  }
  for (const IpAddr& candidate : ips) {
    BERTH_ASSIGN_OR_RETURN(auto hit, store.PortOverlap(proto, candidate, lo, hi));
    if (hit) return hit;
  }
  return std::optional<std::pair<PortMapping, std::string>>();
}

}  // namespace

Result<std::vector<PortMapping>> ReservePorts(store::Store& store,
                                              const std::vector<PortRequest>& requests) {
  std::vector<PortMapping> out;
  // Ports host processes listen on, and berthd's 53 on the gateways (read on first use).
  HostPorts host([&]() -> Result<std::vector<IpAddr>> {
    BERTH_ASSIGN_OR_RETURN(auto nets, store.ListNetworks());
    std::vector<IpAddr> gateways;
    for (const Network& n : nets) gateways.push_back(n.gateway);
    return gateways;
  });
  // A host port is one container's (-p) or one service's (--publish), never both: the
  // services' ports are answered first (the `published` chain), so a container's would be dead.
  BERTH_ASSIGN_OR_RETURN(std::vector<Service> services, store.ListServices());
  auto service_holding = [&](const PortMapping& m) -> const Service* {
    for (const Service& s : services) {
      for (const ServicePublish& p : s.publish) {
        if (p.protocol == m.protocol && m.host_port <= p.host_port &&
            p.host_port <= m.host_port + m.count - 1) {
          return &s;
        }
      }
    }
    return nullptr;
  };
  auto overlaps_earlier = [&](const PortMapping& m) {
    for (const PortMapping& o : out) {
      bool same_ip = o.host_ip == m.host_ip || o.host_ip.IsUnspecified() ||
                     m.host_ip.IsUnspecified();
      if (o.protocol == m.protocol && same_ip && o.host_port <= m.host_port + m.count - 1 &&
          m.host_port <= o.host_port + o.count - 1) {
        return true;
      }
    }
    return false;
  };
  for (const PortRequest& r : requests) {
    PortMapping m{r.host_ip, r.host_port, r.container_port, r.count, r.protocol};
    if (r.host_port != 0) {
      if (r.host_port + r.count - 1 > 65535) return Error::Invalid("port range beyond 65535");
      BERTH_ASSIGN_OR_RETURN(auto hit, Conflict(store, m.protocol, m.host_ip, m.host_port,
                                                m.host_port + m.count - 1));
      if (hit || overlaps_earlier(m)) {
        std::string holder = hit ? "container " + hit->second.substr(0, 12) : "this command";
        if (hit) {
          auto c = store.FindContainer(hit->second);
          if (c.ok() && *c) holder = "container " + (*c)->name;
        }
        return Error::InUse("port " + PortText(m).substr(0, PortText(m).find("->")) + "/" +
                            ProtoName(m.protocol) + " is already published by " + holder +
                            (hit ? " (" + PortText(hit->first) + ")" : ""));
      }
      if (const Service* s = service_holding(m)) {
        return Error::InUse("port " + PortText(m).substr(0, PortText(m).find("->")) + "/" +
                            ProtoName(m.protocol) + " is already published by service " + s->name);
      }
      BERTH_TRY(host.Check(m.protocol, m.host_ip, m.host_port, m.count));
      out.push_back(m);
      continue;
    }
    // Automatic: the next free block after a cursor, so ports are not reused at once.
    std::string key = std::string("auto_port_") + ProtoName(r.protocol);
    BERTH_ASSIGN_OR_RETURN(auto cursor_text, store.GetMeta(key));
    unsigned start = cursor_text ? static_cast<unsigned>(std::stoul(*cursor_text)) + 1 : kAutoPortFirst;
    const unsigned span = kAutoPortLast - kAutoPortFirst + 1;
    bool found = false;
    for (unsigned tries = 0; tries < span && !found; ++tries) {
      unsigned p = kAutoPortFirst + (start - kAutoPortFirst + tries) % span;
      if (p + r.count - 1 > kAutoPortLast) continue;
      m.host_port = static_cast<uint16_t>(p);
      BERTH_ASSIGN_OR_RETURN(auto hit, Conflict(store, m.protocol, m.host_ip, m.host_port,
                                                m.host_port + m.count - 1));
      if (hit || overlaps_earlier(m) || service_holding(m)) continue;
      Status free = host.Check(m.protocol, m.host_ip, m.host_port, m.count);
      if (!free.ok() && free.error().code() != Code::kInUse) return std::move(free).error();
      found = free.ok();
    }
    if (!found) return Error::Unavailable("no free host port left for " + PortText(m));
    BERTH_TRY(store.SetMeta(key, std::to_string(m.host_port + m.count - 1)));
    out.push_back(m);
  }
  return out;
}

}  // namespace berth::engine
