// The route a packet to an address takes, as the kernel chooses it (`ip route get DST`): one
// RTM_GETROUTE request over rtnetlink (libnl), from inside a given network namespace, for
// `berth trace`'s "route:" line.
//
// Reads only. Each call runs on its own short-lived thread (diagnose/probe.h RunInNetns), so
// the caller's namespace never changes.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "core/ip.h"

namespace berth::diagnose {

struct RouteLookup {
  IpAddr dst;
  std::optional<IpAddr> gateway;  // none: on-link (or local)
  std::string dev;                // the output interface's name in that namespace
  std::optional<IpAddr> prefsrc;  // the source address the kernel picks
  std::string type;               // "unicast", "local", "unreachable", "blackhole" ...

  /// "10.88.0.3 via 10.88.0.1 dev eth0 src 10.88.0.2", as `ip route get` prints it.
  std::string Text() const;
};

/// The kernel's route to `dst` from the namespace at `netns_path` ("": the caller's own).
/// kNotFound when there is none (ENETUNREACH), with the kernel's words.
Result<RouteLookup> LookupRoute(const std::string& netns_path, const IpAddr& dst);

}  // namespace berth::diagnose
