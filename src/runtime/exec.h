// `berth exec`: running a command inside a running container.
#pragma once

#include <string>
#include <vector>

#include "engine/engine.h"

namespace berth::runtime {

struct ExecOptions {
  bool tty = false;              // -t: a pseudo-terminal relayed to ours
  bool interactive = false;      // -i: our stdin reaches it (without: /dev/null, as Docker)
  bool detach = false;           // -d: started in the background, not waited for
  std::vector<std::string> env;  // -e / --env-file, over the container's environment
  std::string workdir;           // -w; empty: the container's
  std::string user;              // -u; empty: the container's
};

/// Runs `cmd` in the container's network, UTS, IPC, PID and mount namespaces, with its
/// environment, working directory and user unless `options` say otherwise. Returns the
/// command's exit status (0 for -d); kCommandNotFound / kCommandCannotRun when it could not
/// be executed. Changes the calling (single-threaded) process's namespaces for good.
Result<int> Exec(engine::Engine& engine, const std::string& name_or_id,
                 const std::vector<std::string>& cmd, const ExecOptions& options = {});

}  // namespace berth::runtime
