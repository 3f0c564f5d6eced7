#include "store/sqlite.h"

namespace berth::store {

namespace {

Error SqliteError(sqlite3* db, std::string_view what, int rc) {
  std::string msg = "state store: " + std::string(what) + ": " +
                    (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Error(Code::kUnavailable, msg);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return Error(Code::kExists, msg);
  return Error(Code::kInternal, msg);
}

}  // namespace

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(sqlite3_db_handle(s_), "step", rc);
}

Status Stmt::Run() {
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Ok();
  }
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Db> db(new Db(raw));
  if (rc != SQLITE_OK) return SqliteError(raw, "open " + path, rc);
  sqlite3_extended_result_codes(raw, 1);
  // Concurrent berth invocations wait for each other's write transactions instead of failing.
  sqlite3_busy_timeout(raw, kBusyWaitMs);
  // Every berth command and CNI call is a short-lived process. The last one to close the state
  // would checkpoint the WAL and fsync three times, 1.4 ms of a 5 ms attach; instead the WAL
  // is checkpointed and emptied once it holds kCheckpointFrames pages, and an opener replays
  // the few frames in it (cheap: about 16 pages per attach).
  sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_wal_hook(raw, &Db::AfterCommit, nullptr);
  return db;
}

int Db::AfterCommit(void*, sqlite3* db, const char* schema, int frames) {
  // TRUNCATE, not the automatic PASSIVE checkpoint: a new process cannot know what an earlier
  // one backfilled and would replay (and copy again) a WAL that is never emptied.
  // It waits for readers of older snapshots, so only briefly: a long reader (a backup, an
  // admin's sqlite3 shell) must not stall every writer; a later commit tries again.
  if (frames >= kCheckpointFrames) {
    sqlite3_busy_timeout(db, kCheckpointWaitMs);
    (void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_busy_timeout(db, kBusyWaitMs);
  }
  return SQLITE_OK;
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Db::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Ok();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  Error e = SqliteError(nullptr, msg, rc);
  return e;
}

Result<Stmt> Db::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Stmt(it->second);
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, std::string("prepare ") + sql, rc);
  cache_.emplace(sql, s);
  return Stmt(s);
}

Error Db::LastError(std::string_view what) const {
  return SqliteError(db_, what, sqlite3_errcode(db_));
}

}  // namespace berth::store
