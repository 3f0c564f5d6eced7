// ElementBatch: applies hash-set element changes (WireDelta) as one nf_tables transaction built
// with libnftnl and sent over one netlink socket (libmnl): a batch, one round trip, no ruleset
// cache. This is the per-container path; everything else goes through libnftables.
//
// Not thread-safe; owned by one NftFirewall.
#pragma once

#include <cstddef>
#include <memory>

#include "core/error.h"
#include "firewall/render_wire.h"

struct mnl_socket;

namespace berth::firewall {

/// The most elements one ElementBatch::Apply takes (its buffer is sized for them).
inline constexpr size_t kMaxBatchElements = 256;

class ElementBatch {
 public:
  ElementBatch() = default;
  ElementBatch(const ElementBatch&) = delete;
  ElementBatch& operator=(const ElementBatch&) = delete;
  ~ElementBatch();

  /// Deletes `delta.remove`, then adds `delta.add`, atomically, in `delta.table`. A missing table, set or element
  /// fails with Code::kNotFound (the caller rebuilds); nothing is changed on failure.
  Status Apply(const WireDelta& delta);

 private:
  Status Open();
  mnl_socket* nl_ = nullptr;
  unsigned portid_ = 0;
  uint32_t seq_ = 0;
  // After element deletions, releasing the socket flushes nf_tables' deferred destruction,
  // which waits for an RCU grace period: that release then happens in the background.
  bool deleted_ = false;
};

}  // namespace berth::firewall
