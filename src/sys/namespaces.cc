#include "sys/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "sys/fd.h"

namespace berth::sys {

IsolationStep Isolate(const Isolation& iso) {
  using enum IsolationStep;
  if (iso.netns_fd >= 0 && ::setns(iso.netns_fd, CLONE_NEWNET) != 0) return kJoinNetns;
  if (::unshare(CLONE_NEWNS | CLONE_NEWUTS | (iso.new_ipc ? CLONE_NEWIPC : 0)) != 0) {
    return kUnshare;
  }
  // Slave: mounts made on the host later still show up in the container, but nothing the
  // container mounts leaks back.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return kMountSlave;
  for (const std::string& m : iso.detach_mounts) {
    if (::umount2(m.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      return kMountSlave;
    }
  }
  if (!iso.hostname.empty() && ::sethostname(iso.hostname.data(), iso.hostname.size()) != 0) {
    return kHostname;
  }
  for (const auto& [src, dst] : iso.bind_files) {
    struct stat st;
    if (::stat(dst.c_str(), &st) != 0) continue;
    if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0) return kBind;
  }
  if (iso.mount_sysfs &&
      ::mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) !=
          0) {
    return kSysfs;
  }
  // The /proc of the new PID namespace: `ps` in the container lists its processes only.
  if (iso.new_pid &&
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return kProc;
  }
  return kDone;
}

const char* StepName(IsolationStep step) {
  switch (step) {
    case IsolationStep::kDone: return "isolate";
    case IsolationStep::kJoinNetns: return "join network namespace";
    case IsolationStep::kUnshare: return "create mount and UTS namespaces";
    case IsolationStep::kMountSlave: return "make mounts private to the container";
    case IsolationStep::kHostname: return "set hostname";
    case IsolationStep::kBind: return "bind-mount container files";
    case IsolationStep::kSysfs: return "mount /sys";
    case IsolationStep::kProc: return "mount /proc";
  }
  return "isolate";
}

Status EnterNamespacesOf(pid_t pid) {
  std::string base = "/proc/" + std::to_string(pid) + "/ns/";
  // Open all first: once the mount namespace changes, /proc paths may resolve elsewhere. The
  // mount namespace goes last, as it changes what the others' paths mean.
  const char* kinds[] = {"net", "uts", "ipc", "pid", "mnt"};
  int types[] = {CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNS};
  constexpr int kCount = 5;
  Fd fds[kCount];
  for (int i = 0; i < kCount; ++i) {
    fds[i].Reset(::open((base + kinds[i]).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fds[i].valid()) return Error::System(std::string("open ") + base + kinds[i], errno);
  }
  for (int i = 0; i < kCount; ++i) {
    if (::setns(fds[i].get(), types[i]) != 0) {
      return Error::System(std::string("join ") + kinds[i] + " namespace", errno);
    }
  }
  if (::chdir("/") != 0) return Error::System("chdir /", errno);
  return Ok();
}

}  // namespace berth::sys
