#include "runtime/exited.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "runtime/config.h"
#include "runtime/run.h"

namespace berth::runtime {

Status ContainerExited(engine::Engine& engine, const std::string& id, int exit_code, int pid) {
  BERTH_ASSIGN_OR_RETURN(auto c, engine.store().GetContainer(id));
  if (!c) return Ok();  // removed meanwhile
  // `start` records the new process a moment after its monitor reported it, and a command
  // that ends at once may exit first: wait for that record. A pid that stays another is a
  // stale report (the container was started again since). No pid yet: `run -d` records it
  // and does nothing once the exit is recorded (MarkRunning).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (pid != 0 && c->pid != 0 && c->pid != pid) {
    if (std::chrono::steady_clock::now() > deadline) return Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    BERTH_ASSIGN_OR_RETURN(c, engine.store().GetContainer(id));
    if (!c) return Ok();
  }
  BERTH_TRY(engine.RecordExit(id, exit_code));
  if (!c->auto_remove) {
    BERTH_ASSIGN_OR_RETURN(RunConfig cfg, LoadRunConfig(engine.paths(), id));
    if (!cfg.restart.ShouldRestart(exit_code, cfg.restart_count, cfg.stopped)) {
      // Stopped: its name, address (unless static) and ports are free until it starts again.
      return engine.ReleaseEndpoints(id);
    }
    cfg.restart_count++;
    BERTH_TRY(SaveRunConfig(engine.paths(), id, cfg));
    BERTH_TRY(Start(engine, id, false));
    return Ok();
  }
  Status st = engine.RemoveContainer(id);
  if (!st.ok() && st.error().code() == Code::kNotFound) return Ok();  // removed meanwhile
  return st;
}

}  // namespace berth::runtime
