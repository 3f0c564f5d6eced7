// Identifiers berth makes up: object ids, generated container names, host-side veth names and
// the MAC address derived from a container's IP. Pure except NewId(), which reads getrandom().
#pragma once

#include <string>
#include <string_view>

#include "core/ip.h"

namespace berth {

/// 64 lowercase hex characters of randomness (Docker's id format).
std::string NewId();

/// A friendly generated name such as "brave_postel"; `salt` picks one of the combinations.
std::string GeneratedName(uint64_t salt);

/// "veth" + 11 hex characters hashed from the container id and its interface name: stable for
/// one endpoint (so teardown can find it) and 15 bytes, the kernel's limit.
std::string HostVethName(std::string_view container_id, std::string_view ifname);

/// Bridge device of a user-defined network: "br-" + the first 12 characters of its id.
std::string BridgeName(std::string_view network_id);

/// Docker's MAC for an IPv4 endpoint: 02:42 followed by the four address bytes.
std::string MacForIp(const IpAddr& ip);

/// 64-bit FNV-1a; stable across runs and builds (used for names, never for security).
uint64_t Fnv1a(std::string_view data, uint64_t seed = 0xcbf29ce484222325ull);

}  // namespace berth
