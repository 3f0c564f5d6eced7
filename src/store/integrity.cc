#include "store/integrity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/fd.h"
#include "sys/footprint.h"

namespace berth::store {

namespace {

constexpr char kMagic[] = "SQLite format 3";  // with its NUL: the first 16 bytes of the file
constexpr size_t kHeaderSize = 100;
constexpr uint8_t kWalVersion = 2;  // header bytes 18 and 19 in WAL mode

Result<bool> Exists(const std::string& path, struct stat* st = nullptr) {
  struct stat local;
  if (::stat(path.c_str(), st ? st : &local) == 0) return true;
  if (errno == ENOENT) return false;
  return Error::System("state store: stat " + path, errno);
}

}  // namespace

Error Damaged(const std::string& path, const std::string& reason) {
  return Error::Internal("state store damaged: " + path + ": " + reason +
                         "; run `berth system reconcile --rebuild-state`");
}

Result<DbFiles> CheckDbFiles(const std::string& path) {
  const std::string wal = path + "-wal", shm = path + "-shm";
  struct stat st;
  BERTH_ASSIGN_OR_RETURN(bool db, Exists(path, &st));
  BERTH_ASSIGN_OR_RETURN(bool has_wal, Exists(wal));
  if (!db) {
    if (has_wal) return Damaged(path, "the database file is missing but its write-ahead log " + wal + " is there");
    return DbFiles::kAbsent;
  }
  if (!S_ISREG(st.st_mode)) return Damaged(path, "not a regular file");
  if (st.st_size == 0) return Damaged(path, "the database file is empty (0 bytes)");
  uint8_t header[kHeaderSize];
  sys::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::System("state store: open " + path, errno);
  ssize_t n = ::pread(fd.get(), header, sizeof(header), 0);
  if (n < 0) return Error::System("state store: read " + path, errno);
  if (static_cast<size_t>(n) < sizeof(header) || std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return Damaged(path, "not an SQLite database (" + std::to_string(st.st_size) + " bytes)");
  }
  // berth never deletes its WAL (it does not checkpoint on close), and a program that
  // checkpoints and deletes it on close (the sqlite3 shell) deletes the -shm index with it.
  // An index without its log means the log was removed: SQLite would rebuild an empty one and
  // forget every change committed since the last checkpoint.
  BERTH_ASSIGN_OR_RETURN(bool has_shm, Exists(shm));
  if (header[18] == kWalVersion && !has_wal && has_shm) {
    return Damaged(path, "its write-ahead log " + wal +
                             " was deleted: changes committed since the last checkpoint are lost");
  }
  return DbFiles::kPresent;
}

Status CheckNothingToForget(const std::string& path) {
  std::string root = path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  if (root.empty()) root = ".";
  std::vector<std::string> found = sys::Footprint(root);
  if (found.empty()) return Ok();
  std::string list;
  for (const std::string& f : found) list += (list.empty() ? "" : ", ") + f;
  return Damaged(path, "the database is missing but berth's objects exist (" + list +
                           "): starting over would hand out their names, addresses and ports "
                           "again");
}

}  // namespace berth::store
