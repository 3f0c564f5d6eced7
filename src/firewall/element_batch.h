// ApplyElements: one nf_tables transaction built with libnftnl and sent over a netlink socket
// (libmnl): hash-set and verdict-map element changes (WireDelta), and a service's chains, rules
// and affinity sets (WireDelta::chains). A batch, one round trip, no ruleset cache: the cost of
// one published port or one service does not depend on what else the table holds. This is the
// per-operation path; rebuilds go through libnftables.
#pragma once

#include <cstddef>
#include <memory>

#include "core/error.h"
#include "firewall/nfnl_socket.h"
#include "firewall/render_wire.h"


namespace berth::firewall {

/// The most elements one ApplyElements takes (its buffer is sized for them).
inline constexpr size_t kMaxBatchElements = 256;
/// The most chains it fills (a service port and its backends are a few): a batch of thousands
/// of rules is libnftables' (NftFirewall::Apply).
inline constexpr size_t kMaxBatchChains = 256;

/// Deletes `delta.remove`, makes the chain and set changes of `delta.chains` (model.h
/// ChainDelta, in its order), then adds `delta.add`, atomically, in `delta.table`, over `socket`
/// (the firewall's one nfnetlink socket). A missing table, chain, set or element fails with
/// Code::kNotFound (the caller rebuilds); a rule this encoding does not carry (wire_rules.h)
/// fails with Code::kInvalid before anything is sent (the caller uses libnftables); nothing is
/// changed on failure.
Status ApplyElements(NfnlSocket& socket, const WireDelta& delta);

}  // namespace berth::firewall
