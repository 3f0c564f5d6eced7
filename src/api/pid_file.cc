#include "api/pid_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace berth::api {

namespace {

pid_t ReadPid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return 0;
  long v = std::strtol(buf, nullptr, 10);
  return v > 0 ? static_cast<pid_t>(v) : 0;
}

struct flock WholeFile(short type) {
  struct flock l {};
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = 0;
  l.l_len = 0;
  return l;
}

}  // namespace

Result<PidFile> PidFile::Lock(const std::string& path) {
  PidFile p;
  p.path_ = path;
  for (int attempt = 0;; ++attempt) {
    p.fd_ = sys::Fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!p.fd_.valid()) return Error::System("open " + path, errno);
    struct flock l = WholeFile(F_WRLCK);
    if (::fcntl(p.fd_.get(), F_OFD_SETLK, &l) != 0) {
      int err = errno;
      if (err == EAGAIN || err == EACCES) {
        pid_t holder = ReadPid(p.fd_.get());
        return Error(Code::kInUse,
                     path + " is locked by a live process" +
                         (holder ? " (pid " + std::to_string(holder) + ")" : ""),
                     err);
      }
      return Error::System("lock " + path, err);
    }
    // A daemon that was stopping may have unlinked the file between our open and our lock:
    // a lock on an unlinked file excludes nobody, so open the path again.
    struct stat held, now;
    if (::fstat(p.fd_.get(), &held) == 0 && ::stat(path.c_str(), &now) == 0 &&
        held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
      break;
    }
    if (attempt == 5) return Error::Internal(path + " keeps being replaced");
  }
  p.previous_ = ReadPid(p.fd_.get());
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(p.fd_.get(), 0) != 0 ||
      ::pwrite(p.fd_.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return Error::System("write " + path, errno);
  }
  return p;
}

PidFileState ProbePidFile(const std::string& path) {
  PidFileState s;
  sys::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return s;
  s.pid = ReadPid(fd.get());
  struct flock l = WholeFile(F_WRLCK);
  // F_GETLK reports a conflicting lock without taking any.
  if (::fcntl(fd.get(), F_OFD_GETLK, &l) == 0) s.held = l.l_type != F_UNLCK;
  return s;
}

}  // namespace berth::api
