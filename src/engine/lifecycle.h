// Running a container's process and entering it later.
//
// Foreground runs: berth is the parent; it forwards SIGTERM/SIGHUP, waits, records the exit
// code and passes it through. Detached runs (-d): a monitor process (a fork of berth, in its own
// session) is the parent; it records the exit and, with --rm, removes the container, so
// networking is released without a daemon (the conmon model).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace berth::engine {

struct RunResult {
  std::string name;
  int exit_code = 0;  // the command's, for foreground runs
};

/// Creates the container and starts its command. If the command cannot start, the container
/// is removed again and the error says why (kCommandNotFound: no such executable).
/// `warn` hears the warnings of CreateContainer before the command starts.
Result<RunResult> Run(Engine& engine, const ContainerCreateRequest& req, bool detach,
                      const std::function<void(const std::string&)>& warn = nullptr);

/// Replaces the calling process by `cmd` inside the container's network, UTS and mount
/// namespaces. Returns only on failure.
Status Exec(Engine& engine, const std::string& name_or_id, const std::vector<std::string>& cmd);

/// The hidden CLI verb the monitor of a detached container execs once the container has
/// exited: `berth --root ROOT __container-exited ID EXIT_CODE`, which calls ContainerExited.
/// The monitor is a fork of a process that had the state store open, and SQLite state must not
/// cross fork(): the copied connection believes it holds file locks that only the parent
/// holds, so another process may checkpoint and delete the WAL under it and its writes are
/// lost. A fresh image has no such state.
inline constexpr char kContainerExitedVerb[] = "__container-exited";

/// Records a container's exit and, with --rm, removes it.
Status ContainerExited(Engine& engine, const std::string& id, int exit_code);

}  // namespace berth::engine
