// A link's MAC through the SIOCGIFHWADDR ioctl, on any socket of the link's namespace (a route
// socket opened there will do): no RTM_GETLINK reply of ~1.9 KB for the kernel to build and
// libnl to parse. Only for a link known to exist: for a name the kernel does not know, the
// SIOCGIF* ioctls make it try to load a module of that name (dev_load runs modprobe).
#pragma once

#include <optional>
#include <string>

#include "core/error.h"

namespace berth::net {

/// The link's MAC as "aa:bb:cc:dd:ee:ff", nullopt when there is no such link.
Result<std::optional<std::string>> IfMac(int sock_fd, const std::string& name);

}  // namespace berth::net
