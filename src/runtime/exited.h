// A container's process has exited: record it, start it again when its --restart policy says
// so, and remove the container when it was run with --rm. Called by a foreground `berth run` itself
// and, for detached runs, by the hidden verb its monitor execs.
#pragma once

#include <string>

#include "engine/engine.h"

namespace berth::runtime {

/// The hidden CLI verb the monitor of a detached container execs once the container has
/// exited: `berth --root ROOT __container-exited ID EXIT_CODE PID`, which calls ContainerExited.
/// The monitor is a fork of a process that had the state store open, and SQLite state must not
/// cross fork(): the copied connection believes it holds file locks that only the parent
/// holds, so another process may checkpoint and delete the WAL under it and its writes are
/// lost. A fresh image has no such state.
inline constexpr char kContainerExitedVerb[] = "__container-exited";

/// Records a container's exit, then restarts it (--restart), removes it (--rm) or releases its
/// network endpoints (Engine::ReleaseEndpoints; `start` attaches them again). `pid`
/// (when not 0) is the process that exited: a report about an earlier process of a container
/// that has been started again since is stale and ignored.
Status ContainerExited(engine::Engine& engine, const std::string& id, int exit_code, int pid = 0);

}  // namespace berth::runtime
