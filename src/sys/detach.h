// Work nobody should wait for: kernel operations whose cost is a wait for RCU grace periods
// (deleting a bridged veth, releasing an nfnetlink socket after element deletions) run in a
// detached process, so a command or a CNI plugin returns as soon as its own work is done.
#pragma once

#include <functional>
#include <initializer_list>

namespace berth::sys {

/// Runs `work` in a double-forked process (adopted by init, never the caller's zombie) in a
/// session of its own, holding none of the caller's file descriptors but `keep` (stdio goes
/// to /dev/null: a runtime reading the caller's stdout sees EOF when the caller exits).
/// Returns false, without running `work`, when it could not fork. Call while single-threaded.
/// (A Subprocess with `detached` and `child_main`, in one call.)
bool RunDetached(const std::function<void()>& work, std::initializer_list<int> keep = {});

/// Closes `fd` here and lets a detached process drop the last reference to the file, so the
/// kernel's release work (and any wait in it) happens there. Falls back to a plain close.
void CloseInBackground(int fd);

}  // namespace berth::sys
