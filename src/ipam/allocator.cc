#include "ipam/allocator.h"

namespace berth::ipam {

namespace {

bool Reserved(const Network& net, const IpAddr& ip) {
  const Cidr& s = net.subnet;
  return ip == s.Network() || (s.is_v4() && ip == s.Last()) || ip == net.gateway;
}

}  // namespace

Result<IpAddr> NextFree(const Network& net, std::optional<IpAddr> cursor, const InUseFn& in_use) {
  const Cidr range = net.ip_range.value_or(net.subnet);
  return NextFreeInRange(net, range.Network(), range.Last(), cursor, in_use);
}

Result<IpAddr> NextFreeInRange(const Network& net, const IpAddr& first, const IpAddr& last,
                               std::optional<IpAddr> cursor, const InUseFn& in_use) {
  if (!net.subnet.Contains(first) || !net.subnet.Contains(last) || last < first) {
    return Error::Invalid("address range " + first.ToString() + "-" + last.ToString() +
                          " is not inside subnet " + net.subnet.ToString() + " of network " +
                          net.name);
  }
  IpAddr start = first;
  if (cursor && first <= *cursor && *cursor < last) start = cursor->Plus(1);
  // Walk start..last, then first..start: each address at most once.
  IpAddr ip = start;
  for (;;) {
    if (!Reserved(net, ip)) {
      BERTH_ASSIGN_OR_RETURN(bool used, in_use(ip));
      if (!used) return ip;
    }
    ip = ip == last ? first : ip.Plus(1);
    if (ip == start) break;
  }
  const Cidr whole = net.ip_range.value_or(net.subnet);
  std::string range = first == whole.Network() && last == whole.Last()
                          ? whole.ToString()
                          : first.ToString() + "-" + last.ToString();
  return Error::Unavailable("no free address left in " + range + " of network " + net.name);
}

Status CheckStatic(const Network& net, const IpAddr& ip, const InUseFn& in_use) {
  if (!net.subnet.Contains(ip)) {
    return Error::Invalid("address " + ip.ToString() + " is outside subnet " +
                          net.subnet.ToString() + " of network " + net.name);
  }
  if (Reserved(net, ip)) {
    return Error::Invalid("address " + ip.ToString() +
                          " is reserved (network, broadcast or gateway address) in network " +
                          net.name);
  }
  BERTH_ASSIGN_OR_RETURN(bool used, in_use(ip));
  if (used) {
    return Error::Exists("address " + ip.ToString() + " is already in use in network " + net.name);
  }
  return Ok();
}

}  // namespace berth::ipam
