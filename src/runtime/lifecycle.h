// Docker's lifecycle verbs on a container's process: stop (SIGTERM, then SIGKILL after a grace
// period), kill, wait, and what a user reads about it: its processes (top) and its log.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace berth::runtime {

/// Docker's default grace period of `stop`, in seconds.
inline constexpr int kStopTimeout = 10;

/// SIGTERM, then SIGKILL once `timeout` seconds have passed, and waits until the exit is
/// recorded (so `ps` and `start` right after see it). A container that does not run is left
/// alone. The restart policy does not bring it back.
Status Stop(engine::Engine& engine, const std::string& name_or_id, int timeout);

/// Removes a container (engine::Engine::RemoveContainer); a running one only with `force`,
/// which kills it first (SIGKILL, as `docker rm -f`).
Status Remove(engine::Engine& engine, const std::string& name_or_id, bool force);

/// Sends `signal` to the container's main process (which must run). The restart policy does
/// not bring it back.
Status Kill(engine::Engine& engine, const std::string& name_or_id, int signal);

/// "KILL", "SIGKILL", "9" (case-insensitive): the signal's number.
Result<int> ParseSignal(const std::string& name);

/// Blocks until the container has exited (and its exit is recorded); returns its exit code.
Result<int> Wait(engine::Engine& engine, const std::string& name_or_id);

/// The processes of a running container: PID UID PPID CMD rows (host PIDs, as Docker shows).
Result<std::vector<std::vector<std::string>>> Top(engine::Engine& engine,
                                                  const std::string& name_or_id);

struct LogOptions {
  bool follow = false;  // -f: keep printing what is written until the container exits
  int tail = -1;        // --tail N: only the last N lines; -1 all
  bool timestamps = false;  // -t: each line prefixed with when it was written
};

/// Writes a container's log to `out` (a detached container's output).
Status Logs(engine::Engine& engine, const std::string& name_or_id, const LogOptions& options,
            const std::function<void(std::string_view)>& out);

}  // namespace berth::runtime
