// Published ports: parsing Docker's -p syntax (pure) and reserving host ports in the store.
#pragma once

#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/model.h"
#include "store/store.h"

namespace berth::engine {

/// A parsed -p: host_port 0 asks berth to choose free host ports.
struct PortRequest {
  IpAddr host_ip;  // unspecified: every host address
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  uint16_t count = 1;
  Protocol protocol = Protocol::kTcp;
};

/// [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp], where ports may be ranges A-B of equal
/// length on both sides; `HOSTIP::CONTAINERPORT` picks the host port.
Result<PortRequest> ParsePortSpec(std::string_view spec);

/// Where berth picks host ports for `-p CONTAINERPORT` (Linux's default ephemeral range).
inline constexpr uint16_t kAutoPortFirst = 32768;
inline constexpr uint16_t kAutoPortLast = 60999;

/// Turns requests into mappings, choosing free host ports for automatic ones, and refuses any
/// that overlap a port already published on the same address (or on all addresses) and
/// protocol, naming the holder. Runs inside the caller's write transaction; does not insert.
Result<std::vector<PortMapping>> ReservePorts(store::Store& store,
                                              const std::vector<PortRequest>& requests);

std::string PortText(const PortMapping& p);  // "0.0.0.0:8080->80/tcp", ranges as A-B

}  // namespace berth::engine
