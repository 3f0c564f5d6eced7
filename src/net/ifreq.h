// Looking one link up by name through the SIOCGIF* ioctls, on any socket of the link's
// namespace (a route socket opened there will do): index, flags and MAC without an
// RTM_GETLINK reply of ~1.9 KB that the kernel builds and libnl parses into an object.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"

namespace berth::net {

struct IfFacts {
  int ifindex = 0;
  unsigned flags = 0;  // IFF_*
};

/// nullopt when the namespace of `sock_fd` has no link called `name`.
Result<std::optional<IfFacts>> IfLookup(int sock_fd, const std::string& name);
/// The link's MAC as "aa:bb:cc:dd:ee:ff", nullopt when there is no such link.
Result<std::optional<std::string>> IfMac(int sock_fd, const std::string& name);

}  // namespace berth::net
