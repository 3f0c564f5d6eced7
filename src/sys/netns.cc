#include "sys/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <dirent.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace berth::sys {

Result<Fd> OpenNetns(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::System("open network namespace " + path, errno);
  return Fd(fd);
}

Result<Fd> CurrentNetns() { return OpenNetns("/proc/thread-self/ns/net"); }

Result<uint64_t> NetnsInode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::System("stat " + path, errno);
  return static_cast<uint64_t>(st.st_ino);
}

std::optional<uint64_t> ForeignNetnsInode(const std::string& path) {
  struct stat target, own;
  if (::stat(path.c_str(), &target) != 0 || ::stat("/proc/thread-self/ns/net", &own) != 0) {
    return std::nullopt;
  }
  // Namespace files all live on nsfs: another device means a plain file.
  if (target.st_dev != own.st_dev || target.st_ino == own.st_ino) return std::nullopt;
  return static_cast<uint64_t>(target.st_ino);
}

Result<ScopedNetns> ScopedNetns::Enter(int target_fd) {
  BERTH_ASSIGN_OR_RETURN(Fd saved, CurrentNetns());
  if (::setns(target_fd, CLONE_NEWNET) != 0) return Error::System("enter network namespace", errno);
  return ScopedNetns(std::move(saved));
}

ScopedNetns::~ScopedNetns() {
  if (saved_.valid() && ::setns(saved_.get(), CLONE_NEWNET) != 0) {
    // Continuing in the wrong namespace would apply host changes to a container: stop here.
    std::perror("berth: fatal: cannot return to the original network namespace");
    std::abort();
  }
}

Result<bool> EnsureSharedMountDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Error::System("create " + dir, errno);
  }
  // MS_SHARED fails with EINVAL when dir is not a mount point yet: bind it onto itself first.
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return false;
  if (errno != EINVAL) return Error::System("make " + dir + " shared", errno);
  if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
    return Error::System("bind-mount " + dir + " onto itself", errno);
  }
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    Error e = Error::System("make " + dir + " shared", errno);
    ::umount2(dir.c_str(), MNT_DETACH);
    return e;
  }
  return true;
}

Status ReleaseSharedMountDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno == ENOENT ? Ok() : Error::System("open " + dir, errno);
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) empty = false;
  }
  ::closedir(d);
  if (!empty) return Ok();  // in use
  if (::umount2(dir.c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
    return Error::System("unmount " + dir, errno);
  }
  ::rmdir(dir.c_str());  // best effort: files from before a reboot may lie underneath
  return Ok();
}

Status CreateNetns(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return Error::System("create " + path, errno);
  ::close(fd);
  auto fail = [&](const char* what) {
    Error e = Error::System(what, errno);
    ::unlink(path.c_str());
    return e;
  };
  auto saved = CurrentNetns();
  if (!saved.ok()) return fail("open current network namespace");
  if (::unshare(CLONE_NEWNET) != 0) return fail("unshare network namespace");
  int rc = ::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr);
  int mount_errno = errno;
  if (::setns(saved->get(), CLONE_NEWNET) != 0) {
    std::perror("berth: fatal: cannot return to the original network namespace");
    std::abort();
  }
  if (rc != 0) {
    errno = mount_errno;
    return fail("bind-mount network namespace");
  }
  return Ok();
}

Status RemoveNetns(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return Error::System("unmount " + path, errno);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::System("remove " + path, errno);
  return Ok();
}

}  // namespace berth::sys
