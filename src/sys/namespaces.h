// A container's namespaces: giving a new process the container's view of the system
// (Isolate, run by Subprocess in the child between fork and exec), and joining the namespaces
// of a container's running process (`berth exec`).
//
// Isolate() is made for a freshly forked child: it allocates nothing and touches only the
// calling process. EnterNamespacesOf() changes the calling process for good (a caller execs
// next); call it while single-threaded.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace berth::sys {

/// What a container's process gets: its network namespace joined, new mount and UTS
/// namespaces, its own /etc files and /sys; by default also new PID and IPC namespaces, so it
/// sees only its own processes (a /proc of its own) and IPC objects.
struct Isolation {
  int netns_fd = -1;         // join this network namespace; -1 keeps the caller's (host mode)
  /// A new PID namespace: the process is created in it (Subprocess clones with CLONE_NEWPID,
  /// it cannot be entered afterwards) and becomes its PID 1; /proc is mounted afresh for it.
  bool new_pid = false;
  bool new_ipc = false;      // a new IPC namespace (System V IPC, POSIX message queues)
  std::string hostname;      // set in the new UTS namespace when not empty
  /// (source file, target path) pairs bind-mounted in the new mount namespace, e.g. the
  /// container's hosts file onto /etc/hosts. Targets that do not exist are skipped.
  std::vector<std::pair<std::string, std::string>> bind_files;
  bool mount_sysfs = false;  // a fresh /sys that shows the container's interfaces
  /// Mounts the container has no use for, detached from its new mount namespace (berth's
  /// netns directory: otherwise every container holds a copy of every other container's
  /// netns mount, and each new one propagates into all of them).
  std::vector<std::string> detach_mounts;
};

/// The steps of Isolate(), to say which one failed.
enum class IsolationStep {
  kDone, kJoinNetns, kUnshare, kMountSlave, kHostname, kBind, kSysfs, kProc
};

/// Applies `iso` to the calling process. Returns kDone, or the step that failed with errno
/// telling why.
IsolationStep Isolate(const Isolation& iso);

/// "join network namespace", "set hostname"...: the step as an error message's context.
const char* StepName(IsolationStep step);

/// Joins the network, UTS, IPC and mount namespaces of `pid` in the calling (single-threaded)
/// process, and its PID namespace for the children it forks from now on (setns CLONE_NEWPID
/// changes only where children are born); the caller then forks the command.
Status EnterNamespacesOf(pid_t pid);

}  // namespace berth::sys
