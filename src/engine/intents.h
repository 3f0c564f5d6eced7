// Intents: what an operation in flight may leave in the kernel, written down before it touches
// the kernel, so a process killed at any instant leaves nothing berth cannot find again.
//
// An operation (engine::Operation) records its intent as one small file under
// <root>/intents/ before its first kernel change and removes the file once its store commit
// (or its rollback) is complete. A file whose writer is dead (pid + start time, so a reused
// pid is no alibi) is an orphan: its operation was killed between the first kernel change and
// the end. Recovery (engine/recovery.cc) then finishes or undoes it against the store: objects
// the store has no record of are deleted, a removal the user asked for is completed.
//
// Files, not store rows: the record must survive the rollback of the very transaction whose
// kernel side it describes, and it costs one small write and one unlink (no fsync: a power loss
// takes the kernel objects with it, and reconcile handles what a reboot leaves).
//
// Thread-compatible; the files are only read and removed under the store's write lock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace berth::engine {

struct Intent {
  /// create-network | create-container | remove-container | connect | disconnect |
  /// attach-external | detach-external | start
  std::string kind;
  std::string container_id;
  std::string network_id;
  /// Host links the operation may create or delete (host veths, a bridge), by name.
  std::vector<std::string> links;
  /// A network namespace file the operation may create.
  std::string netns_path;
  pid_t pid = 0;
  uint64_t start_time = 0;
};

/// One intent file on disk, with what it says.
struct IntentFile {
  std::string path;
  Intent intent;
};

class Intents {
 public:
  explicit Intents(std::string dir) : dir_(std::move(dir)) {}

  /// Writes `intent` (its pid and start time are filled in: this process) and returns the
  /// file's path.
  Result<std::string> Record(Intent intent) const;
  /// Rewrites the file at `path` (an operation that learns another object it will make).
  Status Update(const std::string& path, Intent intent) const;
  static Status Forget(const std::string& path);

  /// The intents whose writer is no longer alive. Cheap when there are none (one readdir of a
  /// directory that is normally empty); unreadable files are returned with an empty kind so
  /// the caller can drop them.
  Result<std::vector<IntentFile>> Orphans() const;
  /// Every intent file, live or not (for `system reconcile --dry-run` reports).
  Result<std::vector<IntentFile>> All() const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

/// The JSON text of an intent, and back (exposed for tests).
std::string EncodeIntent(const Intent& intent);
Result<Intent> DecodeIntent(const std::string& text);

}  // namespace berth::engine
