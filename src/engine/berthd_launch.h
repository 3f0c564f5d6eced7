// Starting berthd: the double-fork spawner, moved here unchanged from engine/dns.cc so the one
// sys::Subprocess facility can replace it in one place.
#pragma once

#include <string>

#include "core/error.h"
#include "engine/paths.h"

namespace berth::engine {

/// Forks berthd for this state root off as a daemon of its own; Ok once it was exec'd (it may
/// still fail to start: see its log). An exec failure is reported at once.
Status SpawnBerthd(const Paths& paths);

/// $BERTHD_BIN, else `berthd` beside the running executable, else `berthd` from $PATH.
std::string BerthdBinary();

}  // namespace berth::engine
