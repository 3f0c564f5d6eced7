// Running a container's process: create the container (engine), start its command in the
// container's namespaces, supervise it, record its exit; start it again later (`start`).
//
// Foreground runs: berth is the parent; it forwards SIGTERM/SIGHUP, waits, records the exit
// code and passes it through; with -t it holds the pty master and relays it to the user's
// terminal. Detached runs (-d): a monitor process (a fork of berth, in its own session) is the
// parent; it writes the container's output to its log (through the pty with -t), records the
// exit and applies --rm and --restart, so networking is released without a daemon (the conmon
// model).
//
// Call while single-threaded: the monitor is a fork running berth's own code.
#pragma once

#include <functional>
#include <string>

#include "engine/engine.h"
#include "runtime/config.h"

namespace berth::runtime {

struct RunResult {
  std::string name;
  int exit_code = 0;  // the command's, for foreground runs
};

/// Creates the container and starts its command. If the command cannot start, the container
/// is removed again and the error says why (kCommandNotFound: no such executable).
/// `config.env` holds the user's variables (-e); Docker's defaults are added (ContainerEnv).
/// `warn` hears the warnings of CreateContainer before the command starts.
Result<RunResult> Run(engine::Engine& engine, const engine::ContainerCreateRequest& req,
                      const RunConfig& config, bool detach,
                      const std::function<void(const std::string&)>& warn = nullptr);

/// Starts a created or exited container's command again, as it was run. `attach`: in the
/// foreground (its output here, its exit status returned); otherwise under a monitor.
/// A running container is left alone.
Result<RunResult> Start(engine::Engine& engine, const std::string& name_or_id, bool attach);

/// The path of a container's log (what a detached container writes).
std::string LogPath(const engine::Paths& paths, const std::string& id);

}  // namespace berth::runtime
