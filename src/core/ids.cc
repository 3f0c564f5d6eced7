#include "core/ids.h"

#include <sys/random.h>

#include <cstdio>

namespace berth {

namespace {

std::string Hex(const uint8_t* data, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string NewId() {
  uint8_t raw[32];
  size_t got = 0;
  while (got < sizeof(raw)) {
    ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return Hex(raw, sizeof(raw));
}

uint64_t Fnv1a(std::string_view data, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string GeneratedName(uint64_t salt) {
  static const char* kAdjectives[] = {"agile",  "bold",   "brave",  "calm",   "clever", "eager",
                                      "fast",   "gentle", "happy",  "keen",   "lucid",  "merry",
                                      "nimble", "proud",  "quiet",  "steady"};
  // People who built the networks containers talk over.
  static const char* kNames[] = {"baran",   "cerf",   "clark",   "davies", "elliott", "floyd",
                                 "jacobson", "kahn",  "kleinrock", "metcalfe", "mockapetris",
                                 "perlman", "postel", "roberts", "saltzer", "zhang"};
  return std::string(kAdjectives[salt % 16]) + "_" + kNames[(salt / 16) % 16];
}

std::string HostVethName(std::string_view container_id, std::string_view ifname) {
  uint64_t h = Fnv1a(ifname, Fnv1a(container_id));
  char buf[16];
  std::snprintf(buf, sizeof(buf), "veth%011llx",
                static_cast<unsigned long long>(h & 0xfffffffffffull));
  return buf;
}

std::string BridgeName(std::string_view network_id) {
  return "br-" + std::string(network_id.substr(0, 12));
}

std::string MacForIp(const IpAddr& ip) {
  const uint8_t* b = ip.data();
  if (ip.is_v6()) b += 12;  // Docker uses the low bytes for IPv6-only endpoints too
  char buf[18];
  std::snprintf(buf, sizeof(buf), "02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]);
  return buf;
}

}  // namespace berth
