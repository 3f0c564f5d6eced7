// The IANA service names of well-known ports ("http" for 80/tcp), for SRV names in
// Kubernetes' `_PORTNAME._PROTO.SERVICE` form. A built-in table rather than getservbyport():
// the answer must not depend on whether the host (or berthd's mount namespace) has
// /etc/services, nor on which version of it.
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace berth::dns {

/// The IANA name of `port` for TCP (`udp` false) or UDP, as in /etc/services; "" when the
/// port has none in our table.
std::string_view WellKnownPortName(uint16_t port, bool udp);

}  // namespace berth::dns
