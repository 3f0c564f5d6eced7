// Who listens on the host: sockets of the calling thread's network namespace that accept
// connections (TCP LISTEN) or datagrams from anyone (UDP bound, not connected), asked from the
// kernel through sock_diag (what `ss -ltu` uses); and which process holds a socket.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "core/model.h"

namespace berth::sys {

struct Listener {
  Protocol protocol = Protocol::kTcp;
  /// The bound address: unspecified (0.0.0.0 or ::) for every address. An IPv4-mapped IPv6
  /// address (::ffff:a.b.c.d) is given as IPv4, and `::` as 0.0.0.0 (dual-stack sockets take
  /// IPv4 too, as they do with net.ipv6.bindv6only=0, the default).
  IpAddr ip;
  uint16_t port = 0;
  uint64_t inode = 0;  // the socket's inode: what /proc/PID/fd/N links to ("socket:[N]")
};

/// Every listener of the calling thread's network namespace: four sock_diag dumps whose cost
/// grows with the number of listeners, not of connections (tens of microseconds).
Result<std::vector<Listener>> ReadListeners();

struct SocketOwner {
  pid_t pid = 0;
  std::string name;  // /proc/PID/comm
};

/// The first process with a file descriptor on socket `inode` (scans /proc/*/fd: call it only
/// to explain a conflict). Absent when no visible process holds it (another PID namespace).
std::optional<SocketOwner> FindSocketOwner(uint64_t inode);

}  // namespace berth::sys
