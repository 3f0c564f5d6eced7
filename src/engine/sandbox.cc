#include "engine/sandbox.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "net/nl_link_ops.h"

namespace berth::engine {

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
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) return Error::System("fork", errno);
  if (child == 0) {
    Status st = Prepare();
    if (!st.ok()) {
      std::fprintf(stderr, "berth: error: %s\n", st.error().message().c_str());
      ::_exit(1);
    }
    int rc = body();
    std::fflush(nullptr);
    ::_exit(rc);  // as PID 1, taking every process it started with it
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace berth::engine
