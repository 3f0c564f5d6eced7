// The pid file of a daemon (berthd: ROOT/berthd.pid): it names the daemon's pid, and the daemon
// holds an open-file-description write lock (F_OFD_SETLK) on it for its whole life. The lock,
// not the pid, is the truth: the kernel drops it when the daemon dies however it dies
// (kill -9 included), and no unrelated process that reuses the pid can hold it. So
//  - a new daemon takes over a stale file (dead holder, or a pid now reused by another
//    program) instead of refusing, and refuses only while a live daemon holds the lock;
//  - a client asks the kernel whether someone holds the lock (F_OFD_GETLK) without taking it,
//    so probing never races with a daemon starting.
// Thread-safe: no shared state.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/error.h"
#include "sys/fd.h"

namespace berth::api {

class PidFile {
 public:
  /// Locks `path` (creating it) and writes our pid into it. kInUse, naming the holder's pid,
  /// when a live process holds it.
  static Result<PidFile> Lock(const std::string& path);

  /// The pid the file named before we took it over (0: none); for the log.
  pid_t previous() const { return previous_; }
  const std::string& path() const { return path_; }

 private:
  sys::Fd fd_;  // the lock lives as long as this open file description
  std::string path_;
  pid_t previous_ = 0;
};

struct PidFileState {
  bool held = false;  // a live process holds the lock
  pid_t pid = 0;      // what the file says (0: no file or no number); stale when !held
};

/// What `path` says, and whether its daemon is alive; cheap (an open and one fcntl).
PidFileState ProbePidFile(const std::string& path);

}  // namespace berth::api
