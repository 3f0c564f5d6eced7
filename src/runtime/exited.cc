#include "runtime/exited.h"

namespace berth::runtime {

Status ContainerExited(engine::Engine& engine, const std::string& id, int exit_code) {
  BERTH_TRY(engine.RecordExit(id, exit_code));
  BERTH_ASSIGN_OR_RETURN(auto c, engine.store().FindContainer(id));
  if (!c || c->id != id || !c->auto_remove) return Ok();
  Status st = engine.RemoveContainer(id, false);
  if (!st.ok() && st.error().code() == Code::kNotFound) return Ok();  // removed meanwhile
  return st;
}

}  // namespace berth::runtime
