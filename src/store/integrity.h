// Checks of the database files before SQLite opens them. SQLite takes an empty file for an
// empty database, recreates a lost write-ahead log silently and waits on locks for its busy
// timeout: berth must instead say at once that its state is damaged, and never start over
// while what it made still exists.
#pragma once

#include <string>

#include "core/error.h"

namespace berth::store {

/// The error every damage case returns (kInternal): "state store damaged: PATH: REASON; run
/// `berth system reconcile --rebuild-state`".
Error Damaged(const std::string& path, const std::string& reason);

enum class DbFiles { kPresent, kAbsent };

/// kAbsent: no database and nothing of one (a first run); kPresent: a database that looks
/// sound. Damaged: an empty or foreign file, or a WAL-mode database whose write-ahead log
/// was deleted while its index (-shm) remained, or a -wal without its database.
Result<DbFiles> CheckDbFiles(const std::string& path);

/// Refuses to start over when `path` is absent but berth's objects of its state root (the
/// directory of `path`) exist: they would be handed out a second time.
Status CheckNothingToForget(const std::string& path);

}  // namespace berth::store
