// Parsing of what users type that is not a plain name: network driver options (Docker's long
// keys accepted as aliases) and the --network mode of `run`. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace berth::engine {

struct NetworkOptions {
  /// Canonical key -> value, as stored with the network: masquerade, icc, bridge_name, dns.
  std::map<std::string, std::string> values;
  std::optional<int> mtu;
  std::optional<std::string> bridge_name;
};

/// "KEY=VALUE" items. Keys: masquerade, icc, dns (true|false), mtu (68-65535), bridge_name (an
/// interface name), cluster_cidr (an IPv4 network: multi-host), or Docker's com.docker.network.* spelling of the same. Unknown keys are
/// refused with the list of known ones, so a typo never silently does nothing.
Result<NetworkOptions> ParseNetworkOptions(const std::vector<std::string>& items);

Status ValidateMtu(int mtu);

struct NetworkMode {
  enum Kind { kNone, kHost, kNetwork, kContainer };
  Kind kind = kNetwork;
  std::string target;  // the network name (kNetwork) or the container (kContainer)
};

/// Parses `text` with `parse` when given.
template <typename T>
Result<std::optional<T>> ParseOptional(const std::optional<std::string>& text,
                                       Result<T> (*parse)(std::string_view)) {
  if (!text) return std::optional<T>();
  BERTH_ASSIGN_OR_RETURN(T v, parse(*text));
  return std::optional<T>(v);
}

/// none | host | bridge | container:NAME | NETWORK.
Result<NetworkMode> ParseNetworkMode(const std::string& mode);

/// Names no user network may take: they are modes of `run --network`.
bool IsReservedNetworkName(const std::string& name);

}  // namespace berth::engine
