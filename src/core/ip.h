// IpAddr and Cidr: value types for IPv4 and IPv6 addresses and prefixes, with the arithmetic IPAM
// needs (offsets, containment, overlap). Pure; no Linux headers.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace berth {

using u128 = unsigned __int128;

class IpAddr {
 public:
  IpAddr() = default;
  static IpAddr V4(uint32_t host_order);
  static IpAddr FromBytes(bool v6, const uint8_t* bytes);
  static IpAddr FromU128(bool v6, u128 value);
  static Result<IpAddr> Parse(std::string_view text);

  bool is_v4() const { return !v6_; }
  bool is_v6() const { return v6_; }
  int bits() const { return v6_ ? 128 : 32; }
  /// The significant bytes: 4 for IPv4, 16 for IPv6.
  const uint8_t* data() const { return v6_ ? bytes_.data() : bytes_.data() + 12; }
  size_t size() const { return v6_ ? 16 : 4; }
  uint32_t v4() const;
  u128 ToU128() const;
  IpAddr Plus(u128 n) const { return FromU128(v6_, ToU128() + n); }
  bool IsUnspecified() const { return ToU128() == 0; }
  std::string ToString() const;

  auto operator<=>(const IpAddr&) const = default;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> bytes_{};  // IPv4 lives in the last 4 bytes
};

class Cidr {
 public:
  Cidr() = default;
  Cidr(IpAddr addr, int prefix) : addr_(addr), prefix_(prefix) {}
  /// "10.1.0.0/16": the address must be the network address (Docker's rule; a typo such as
  /// 10.1.0.1/16 is rejected rather than silently rounded).
  static Result<Cidr> ParseNetwork(std::string_view text);
  /// "10.1.0.5/16": an interface address with its prefix; host bits allowed.
  static Result<Cidr> ParseInterface(std::string_view text);

  const IpAddr& addr() const { return addr_; }
  int prefix() const { return prefix_; }
  bool is_v4() const { return addr_.is_v4(); }
  IpAddr Network() const;
  IpAddr Last() const;  // broadcast for IPv4
  /// Number of addresses; saturates at 2^127 for huge IPv6 prefixes.
  u128 Size() const;
  bool Contains(const IpAddr& ip) const;
  bool Contains(const Cidr& inner) const;
  bool Overlaps(const Cidr& other) const;
  std::string ToString() const;

  auto operator<=>(const Cidr&) const = default;

 private:
  IpAddr addr_;
  int prefix_ = 0;
};

}  // namespace berth
