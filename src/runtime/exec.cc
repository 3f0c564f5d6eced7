#include "runtime/exec.h"

#include "sys/namespaces.h"
#include "sys/proc.h"
#include "sys/subprocess.h"

namespace berth::runtime {

Status Exec(engine::Engine& engine, const std::string& key, const std::vector<std::string>& cmd) {
  if (cmd.empty()) return Error::Invalid("no command given: berth exec CONTAINER [--] COMMAND");
  BERTH_ASSIGN_OR_RETURN(auto c, engine.store().FindContainer(key));
  if (!c) return Error::NotFound("no such container: " + key);
  if (!sys::IsAlive(c->pid, c->start_time)) {
    return Error::Invalid("container " + c->name + " is not running");
  }
  BERTH_TRY(sys::EnterNamespacesOf(c->pid));
  return sys::ExecInPlace(cmd);
}

}  // namespace berth::runtime
