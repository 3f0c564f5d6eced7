// ApplyElements: hash-set element changes (WireDelta) as one nf_tables transaction built with
// libnftnl and sent over a netlink socket (libmnl): a batch, one round trip, no ruleset cache.
// This is the per-container path; everything else goes through libnftables.
#pragma once

#include <cstddef>
#include <memory>

#include "core/error.h"
#include "firewall/nfnl_socket.h"
#include "firewall/render_wire.h"


namespace berth::firewall {

/// The most elements one ApplyElements takes (its buffer is sized for them).
inline constexpr size_t kMaxBatchElements = 256;

/// Deletes `delta.remove`, then adds `delta.add`, atomically, in `delta.table`, over `socket`
/// (the firewall's one nfnetlink socket). A missing table, set or element fails with
/// Code::kNotFound (the caller rebuilds); nothing is changed on failure.
Status ApplyElements(NfnlSocket& socket, const WireDelta& delta);

}  // namespace berth::firewall
