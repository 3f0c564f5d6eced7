// Attaching and detaching one endpoint (a container's interface on one network). Internal to
// the engine; both run inside the caller's write transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/rollback.h"
#include "net/link_ops.h"
#include "store/store.h"

namespace berth::engine {

struct AttachSpec {
  const Container* container;
  const Network* network;
  std::optional<IpAddr> ip;  // --ip; allocated when unset
  std::vector<std::string> aliases;
  std::string ifname;        // eth0, eth1 ...
  bool default_route = true;
};

/// Allocates the address, records the endpoint and builds the veth; undo goes to `rollback`.
Result<Endpoint> AttachEndpoint(store::Store& store, net::LinkOps& ops, Rollback& rollback,
                                const AttachSpec& spec);

/// Deletes the veth (gone already is fine), then the endpoint row.
Status DetachEndpoint(store::Store& store, net::LinkOps& ops, const Endpoint& ep);

}  // namespace berth::engine
