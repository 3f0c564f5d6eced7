#include "runtime/sandbox.h"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "core/log.h"
#include "net/nl_link_ops.h"
#include "sys/subprocess.h"

namespace berth::runtime {

namespace {

Status Prepare() {
  // Private: nothing mounted from here on propagates back to the machine's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return Error::System("make mounts private", errno);
  }
  if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
    return Error::System("mount a private /run", errno);
  }
  // /proc must show this PID namespace: berth finds its processes there.
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return Error::System("mount /proc", errno);
  }
  BERTH_ASSIGN_OR_RETURN(auto ops, net::NlLinkOps::Open());
  return ops->LinkUp({net::Where::kHost, "lo"});
}

}  // namespace

Result<int> RunInThrowawayNamespaces(const std::function<int()>& body) {
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID) != 0) {
    return Error::System("create throwaway namespaces (needs root)", errno);
  }
  sys::SubprocessSpec spec;
  spec.child_main = [&] {
    Status st = Prepare();
    if (!st.ok()) {
      log::Error(st.error().message());
      return 1;
    }
    return body();  // as PID 1, taking every process it started with it
  };
  BERTH_ASSIGN_OR_RETURN(auto child, sys::Subprocess::Start(std::move(spec)));
  return child.Wait();
}

}  // namespace berth::runtime
