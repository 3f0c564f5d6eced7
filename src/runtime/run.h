// Running a container's process: create the container (engine), start its command in the
// container's namespaces, supervise it, record its exit.
//
// Foreground runs: berth is the parent; it forwards SIGTERM/SIGHUP, waits, records the exit
// code and passes it through. Detached runs (-d): a monitor process (a fork of berth, in its own
// session) is the parent; it records the exit and, with --rm, removes the container, so
// networking is released without a daemon (the conmon model).
//
// Call while single-threaded: the monitor is a fork running berth's own code.
#pragma once

#include <functional>
#include <string>

#include "engine/engine.h"

namespace berth::runtime {

struct RunResult {
  std::string name;
  int exit_code = 0;  // the command's, for foreground runs
};

/// Creates the container and starts its command. If the command cannot start, the container
/// is removed again and the error says why (kCommandNotFound: no such executable).
/// `warn` hears the warnings of CreateContainer before the command starts.
Result<RunResult> Run(engine::Engine& engine, const engine::ContainerCreateRequest& req,
                      bool detach, const std::function<void(const std::string&)>& warn = nullptr);

}  // namespace berth::runtime
