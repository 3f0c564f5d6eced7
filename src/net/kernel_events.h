// Hears the kernel change routes, neighbours and links (rtnetlink multicast groups), so the
// cluster agent repairs a route or FDB entry deleted by hand at once instead of at its next
// periodic pass. Only "something changed" is reported: the repair is a diff of the whole
// overlay anyway. Changes this process made itself are not (the agent's own writes of a node
// event would cost a full repair each, growing with the cluster), nor static FDB entries
// appearing, which the kernel does not stamp with their author: the periodic pass covers an
// FDB entry of berth's replaced by hand.
//
// Thread-compatible: one thread waits on it.
#pragma once

#include "core/error.h"
#include "sys/fd.h"

namespace berth::net {

class KernelEvents {
 public:
  /// Subscribes to IPv4 routes, neighbours and links of the calling thread's namespace.
  static Result<KernelEvents> Open();

  /// Waits up to `timeout_ms` for a change; then drains what else arrives within
  /// `debounce_ms` (a burst of changes is one repair). True when something changed.
  /// A lost notification (the socket's buffer overflowed) counts as a change.
  bool Wait(int timeout_ms, int debounce_ms);

 private:
  explicit KernelEvents(sys::Fd fd) : fd_(std::move(fd)) {}
  bool Drain();
  sys::Fd fd_;
};

}  // namespace berth::net
