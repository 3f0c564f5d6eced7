// Host ports a published port must not take, besides those other containers publish: ports a
// host process listens on (its DNAT rule would hide that service) and port 53 of berth's
// gateways (berthd answers containers' DNS queries there). Docker refuses a port a host process
// holds as well; there is no --force for it.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "core/model.h"
#include "sys/listeners.h"

namespace berth::engine {

/// One check's worth of host facts, read on first use (an attach without published ports reads
/// nothing) and then kept: an automatic pick tries many ports against one snapshot.
class HostPorts {
 public:
  using GatewaysFn = std::function<Result<std::vector<IpAddr>>()>;
  using ListenersFn = std::function<Result<std::vector<sys::Listener>>()>;
  using OwnerFn = std::function<std::optional<sys::SocketOwner>(uint64_t inode)>;

  explicit HostPorts(GatewaysFn gateways, ListenersFn listeners = sys::ReadListeners,
                     OwnerFn owner = sys::FindSocketOwner)
      : gateways_fn_(std::move(gateways)),
        listeners_fn_(std::move(listeners)),
        owner_fn_(std::move(owner)) {}

  /// kInUse, naming the process (or berthd), when any of host_ip:[port, port + count) is taken.
  /// `host_ip` unspecified means every host address.
  Status Check(Protocol protocol, const IpAddr& host_ip, uint16_t port, uint16_t count);

 private:
  Status Load();

  GatewaysFn gateways_fn_;
  ListenersFn listeners_fn_;
  OwnerFn owner_fn_;
  bool loaded_ = false;
  std::vector<IpAddr> gateways_;
  std::vector<sys::Listener> listeners_;
};

}  // namespace berth::engine
