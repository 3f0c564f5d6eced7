// Thin RAII layer over the SQLite C API: a connection that caches prepared statements and a
// statement cursor with typed binds and columns. Used only inside store/.
//
// Not thread-safe: one Db per thread (berth opens one per process).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/error.h"

namespace berth::store {

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt(Stmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }

  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& BindNull(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  /// Advances; true while a row is available. Errors end up in the Status of Done().
  Result<bool> Step();
  /// Runs to completion (for statements without result rows).
  Status Run();

  std::string Text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

 private:
  sqlite3_stmt* s_;
};

class Db {
 public:
  static Result<std::unique_ptr<Db>> Open(const std::string& path);
  ~Db();

  /// Runs one or more statements without parameters.
  Status Exec(const char* sql);
  /// A prepared statement from the cache (prepared on first use). `sql` must be a literal:
  /// the cache is keyed by its address.
  Result<Stmt> Prepare(const char* sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  Error LastError(std::string_view what) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  static constexpr int kBusyWaitMs = 60000;
  static constexpr int kCheckpointFrames = 64;
  static constexpr int kCheckpointWaitMs = 10;
  static int AfterCommit(void*, sqlite3* db, const char* schema, int frames);
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace berth::store
