// The real wiring of an Engine: rtnetlink through libnl, berth's nftables table, and berthd
// told about every committed change. Chosen by the front ends (CLI, CNI plugin, berthd), never
// by the engine itself, so a caller that wants something else (unit tests, berthd, which must
// not notify itself) says so instead of having to remember to undo a default.
#pragma once

#include <string>

#include "engine/engine.h"

namespace berth::engine {

/// The kernel and the firewall of the state root `root`, and no notifier (berthd itself).
Wiring KernelWiring(const std::string& root);

/// KernelWiring plus the notifier of the berthd of `root` (the CLI and the CNI plugin).
Wiring DefaultWiring(const std::string& root);

}  // namespace berth::engine
