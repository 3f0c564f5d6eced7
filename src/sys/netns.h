// Network namespaces as files: creating one bind-mounted at a path (as `ip netns add` does),
// opening and entering one for a scope, and removing it.
//
// Thread model: setns(CLONE_NEWNET) and unshare(CLONE_NEWNET) act on the calling thread only, so
// ScopedNetns saves /proc/thread-self/ns/net and restores it in its destructor. Hold it only to
// open sockets, never across a blocking wait or a hand-off to another thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.h"
#include "sys/fd.h"

namespace berth::sys {

Result<Fd> OpenNetns(const std::string& path);
Result<Fd> CurrentNetns();
Result<uint64_t> NetnsInode(const std::string& path);
/// The inode of a network namespace file that is *not* the caller's own namespace; nullopt
/// when `path` is no namespace (a plain file left where a bind mount was, after a reboot)
/// or is the caller's namespace. For acting on everything inside a container's namespace.
std::optional<uint64_t> ForeignNetnsInode(const std::string& path);

class ScopedNetns {
 public:
  /// Switches the calling thread into `target_fd` until destruction.
  static Result<ScopedNetns> Enter(int target_fd);
  ScopedNetns(ScopedNetns&&) = default;
  ScopedNetns& operator=(ScopedNetns&&) = delete;
  ~ScopedNetns();

 private:
  explicit ScopedNetns(Fd saved) : saved_(std::move(saved)) {}
  Fd saved_;
};

/// Makes `dir` a mount point of its own with shared propagation, so a netns unmounted from it
/// also disappears from the copies that container mount namespaces took (ip-netns does the same
/// for /run/netns). Idempotent; returns true when this call made the mount.
Result<bool> EnsureSharedMountDir(const std::string& dir);

/// Takes back what EnsureSharedMountDir made, if `dir` holds nothing: unmounts and removes it.
/// The caller must keep others from creating namespaces in it meanwhile.
Status ReleaseSharedMountDir(const std::string& dir);

/// Creates a new network namespace and bind-mounts it at `path` (a new file in a directory
/// prepared by EnsureSharedMountDir). The caller's thread stays in its own namespace.
Status CreateNetns(const std::string& path);

/// Unmounts and deletes a namespace file. A missing file counts as success.
Status RemoveNetns(const std::string& path);

}  // namespace berth::sys
