// berth's footprint in the kernel and on disk for one state root: what must not be forgotten
// when the state store is missing (starting over would hand out the same names, addresses and
// ports a second time).
#pragma once

#include <string>
#include <vector>

namespace berth::sys {

/// Human-readable descriptions of what exists: mounts under `root` (container network
/// namespaces), container directories under `root`/containers, and the default network's
/// bridge in the calling thread's network namespace. Empty when there is nothing.
/// User networks' bridges ("br-<id>") are not counted: Docker names its bridges the same way.
std::vector<std::string> Footprint(const std::string& root);

}  // namespace berth::sys
