#include "core/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace berth {

IpAddr IpAddr::V4(uint32_t host_order) { return FromU128(false, host_order); }

IpAddr IpAddr::FromBytes(bool v6, const uint8_t* bytes) {
  IpAddr ip;
  ip.v6_ = v6;
  std::memcpy(ip.bytes_.data() + (v6 ? 0 : 12), bytes, v6 ? 16 : 4);
  return ip;
}

IpAddr IpAddr::FromU128(bool v6, u128 value) {
  IpAddr ip;
  ip.v6_ = v6;
  if (!v6) value &= 0xffffffffu;
  for (int i = 15; i >= 0; --i, value >>= 8) ip.bytes_[i] = static_cast<uint8_t>(value);
  return ip;
}

Result<IpAddr> IpAddr::Parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) {
    return Error::Invalid("invalid IP address \"" + std::string(text) + "\"");
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t raw[16];
  if (inet_pton(AF_INET, buf, raw) == 1) return FromBytes(false, raw);
  if (inet_pton(AF_INET6, buf, raw) == 1) return FromBytes(true, raw);
  return Error::Invalid("invalid IP address \"" + std::string(text) + "\"");
}

uint32_t IpAddr::v4() const { return static_cast<uint32_t>(ToU128()); }

u128 IpAddr::ToU128() const {
  u128 v = 0;
  for (uint8_t b : bytes_) v = (v << 8) | b;
  return v;
}

std::string IpAddr::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(v6_ ? AF_INET6 : AF_INET, data(), buf, sizeof(buf));
  return buf;
}

namespace {

u128 HostMask(int bits, int prefix) {
  int host = bits - prefix;
  if (host <= 0) return 0;
  if (host >= 128) return ~u128{0};
  return (u128{1} << host) - 1;
}

Result<Cidr> ParseCidr(std::string_view text, bool network_only) {
  auto bad = [&](std::string why) {
    return Error::Invalid("invalid CIDR \"" + std::string(text) + "\": " + why);
  };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad("expected ADDRESS/PREFIX");
  auto ip = IpAddr::Parse(text.substr(0, slash));
  if (!ip.ok()) return bad("bad address");
  std::string_view p = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || prefix < 0 ||
      prefix > ip->bits()) {
    return bad("prefix length must be 0-" + std::to_string(ip->bits()));
  }
  Cidr c(*ip, prefix);
  if (network_only && c.Network() != *ip) {
    return bad("host bits are set; did you mean " + Cidr(c.Network(), prefix).ToString() + "?");
  }
  return c;
}

}  // namespace

Result<Cidr> Cidr::ParseNetwork(std::string_view text) { return ParseCidr(text, true); }
Result<Cidr> Cidr::ParseInterface(std::string_view text) { return ParseCidr(text, false); }

IpAddr Cidr::Network() const {
  return IpAddr::FromU128(addr_.is_v6(), addr_.ToU128() & ~HostMask(addr_.bits(), prefix_));
}

IpAddr Cidr::Last() const {
  return IpAddr::FromU128(addr_.is_v6(), addr_.ToU128() | HostMask(addr_.bits(), prefix_));
}

u128 Cidr::Size() const {
  int host = addr_.bits() - prefix_;
  return host >= 127 ? (u128{1} << 127) : (u128{1} << host);
}

bool Cidr::Contains(const IpAddr& ip) const {
  return ip.is_v6() == addr_.is_v6() && ip >= Network() && ip <= Last();
}

bool Cidr::Contains(const Cidr& inner) const {
  return inner.prefix_ >= prefix_ && Contains(inner.addr_);
}

bool Cidr::Overlaps(const Cidr& other) const {
  return addr_.is_v6() == other.addr_.is_v6() && Network() <= other.Last() &&
         other.Network() <= Last();
}

std::string Cidr::ToString() const { return addr_.ToString() + "/" + std::to_string(prefix_); }

}  // namespace berth
