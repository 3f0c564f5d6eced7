// `berth exec`: running a command inside a running container.
#pragma once

#include <string>
#include <vector>

#include "engine/engine.h"

namespace berth::runtime {

/// Replaces the calling (single-threaded) process by `cmd` inside the container's network,
/// UTS and mount namespaces. Returns only on failure (kCommandNotFound / kCommandCannotRun
/// when the exec itself failed).
Status Exec(engine::Engine& engine, const std::string& name_or_id,
            const std::vector<std::string>& cmd);

}  // namespace berth::runtime
