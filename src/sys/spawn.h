// Starting a program inside a container's namespaces, and entering them later (`berth exec`).
//
// Spawn() forks; the child joins the network namespace, takes new mount and UTS namespaces,
// shows the container's own /etc files and /sys, and execs. A close-on-exec pipe reports a
// failure in the child (with the step and errno) back to the parent, so "executable not found"
// is an error of the call, not a silently dead container.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace berth::sys {

struct SpawnSpec {
  std::vector<std::string> argv;
  int netns_fd = -1;         // join this network namespace; -1 keeps the caller's (host mode)
  std::string hostname;      // set in the new UTS namespace when not empty
  /// (source file, target path) pairs bind-mounted in the new mount namespace, e.g. the
  /// container's hosts file onto /etc/hosts. Targets that do not exist are skipped.
  std::vector<std::pair<std::string, std::string>> bind_files;
  bool mount_sysfs = false;  // a fresh /sys that shows the container's interfaces
  /// Mounts the container has no use for, detached from its new mount namespace (berth's
  /// netns directory: otherwise every container holds a copy of every other container's
  /// netns mount, and each new one propagates into all of them).
  std::vector<std::string> detach_mounts;
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // -1 inherits
  bool new_session = false;
};

/// Forks and execs; returns once the child has exec'd (or the reason it could not).
/// Errors carry Code::kCommandNotFound / kCommandCannotRun when exec itself failed.
Result<pid_t> Spawn(const SpawnSpec& spec);

/// Joins the network, UTS and mount namespaces of `pid` in the calling (single-threaded)
/// process; the caller then execs.
Status EnterNamespacesOf(pid_t pid);

}  // namespace berth::sys
