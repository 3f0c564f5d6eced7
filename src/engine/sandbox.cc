#include "engine/sandbox.h"

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>

#include "net/nl_link_ops.h"

namespace berth::engine {

Status EnterThrowawayNamespaces() {
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
    return Error::System("create throwaway namespaces (needs root)", errno);
  }
  // Private: nothing mounted from here on propagates back to the machine's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return Error::System("make mounts private", errno);
  }
  if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
    return Error::System("mount a private /run", errno);
  }
  BERTH_ASSIGN_OR_RETURN(auto ops, net::NlLinkOps::Open());
  return ops->LinkUp({net::Where::kHost, "lo"});
}

}  // namespace berth::engine
