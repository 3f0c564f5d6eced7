#include "runtime/exited.h"

#include <cstdio>

#include "runtime/config.h"
#include "runtime/run.h"

namespace berth::runtime {

Status ContainerExited(engine::Engine& engine, const std::string& id, int exit_code, int pid) {
  BERTH_ASSIGN_OR_RETURN(auto c, engine.store().GetContainer(id));
  if (!c) return Ok();  // removed meanwhile
  // Started again since: not this process's news. (No pid yet: `run -d` records it a moment
  // after the monitor reported it, and a command that ends at once may exit first.)
  if (pid != 0 && c->pid != 0 && c->pid != pid) return Ok();
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
  Status st = engine.RemoveContainer(id, false);
  if (!st.ok() && st.error().code() == Code::kNotFound) return Ok();  // removed meanwhile
  return st;
}

}  // namespace berth::runtime
