// Converting between IpAddr and the socket API's address structures.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "core/ip.h"

namespace berth::sys {

/// Fills `ss` with ip:port (IPv4 or IPv6) and returns the length to pass to the socket call.
socklen_t ToSockaddr(const IpAddr& ip, uint16_t port, sockaddr_storage* ss);
/// The address of `ss` (the port is dropped).
IpAddr FromSockaddr(const sockaddr_storage& ss);

}  // namespace berth::sys
