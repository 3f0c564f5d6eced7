// Deleting links without waiting for them: a bridged veth's deletion blocks its caller for
// three RCU grace periods (~25 ms on a 2-vCPU VM); a detach has nothing left to wait for once
// the link is down. The work goes to a detached process instead.
#pragma once

#include <vector>

namespace berth::net {

/// Deletes the host links with these ifindexes from a detached process (sys::RunDetached).
/// Best effort: links gone already are fine. If fork fails, deletes inline. Call from a
/// single-threaded process, in the network namespace the links live in.
void DeleteLinksInBackground(const std::vector<int>& ifindexes);

}  // namespace berth::net
