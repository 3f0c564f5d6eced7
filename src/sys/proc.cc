#include "sys/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "sys/fd.h"

namespace berth::sys {

Result<std::string> ReadFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::System("read " + path, errno);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::System("read " + path, errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status WriteFileInPlace(const std::string& path, const std::string& data, int mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return Error::System("write " + path, errno);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::System("write " + path, errno);
    off += static_cast<size_t>(n);
  }
  return Ok();
}

Status WriteFileAtomic(const std::string& path, const std::string& data, int mode) {
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  Status st = WriteFileInPlace(tmp, data, mode);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Error::System("rename " + tmp, errno);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

Status MakeDirs(const std::string& path, int mode) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) {
      return Error::System("create directory " + part, errno);
    }
  }
  return Ok();
}

Status RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Ok() : Error::System("stat " + path, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    DIR* dir = ::opendir(path.c_str());
    if (!dir) return Error::System("open " + path, errno);
    while (dirent* e = ::readdir(dir)) {
      if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
      Status st2 = RemoveTree(path + "/" + e->d_name);
      if (!st2.ok()) {
        ::closedir(dir);
        return st2;
      }
    }
    ::closedir(dir);
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return Error::System("remove " + path, errno);
    return Ok();
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::System("remove " + path, errno);
  return Ok();
}

Result<uint64_t> ProcessStartTime(pid_t pid) {
  BERTH_ASSIGN_OR_RETURN(std::string stat, ReadFile("/proc/" + std::to_string(pid) + "/stat"));
  // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return Error::Internal("malformed /proc/PID/stat");
  const char* p = stat.c_str() + close + 2;  // field 3
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (!p) return Error::Internal("malformed /proc/PID/stat");
    ++p;
  }
  return std::strtoull(p, nullptr, 10);
}

bool IsAlive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = ProcessStartTime(pid);
  if (!st.ok() || *st != start_time) return false;
  // A zombie still has its /proc entry; it is not running.
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return false;
  size_t close = stat->rfind(')');
  return close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] != 'Z';
}

std::vector<pid_t> ProcessesInNetns(uint64_t netns_inode) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    struct stat st;
    // Fails for zombies (their namespaces are gone already) and for processes that just left.
    std::string ns = std::string("/proc/") + e->d_name + "/ns/net";
    if (::stat(ns.c_str(), &st) == 0 && st.st_ino == netns_inode) {
      out.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(proc);
  return out;
}

Status KillProcessesInNetns(uint64_t netns_inode, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    std::vector<pid_t> pids = ProcessesInNetns(netns_inode);
    if (pids.empty()) return Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Error::Unavailable(std::to_string(pids.size()) +
                                " processes still in the network namespace after SIGKILL");
    }
    for (pid_t pid : pids) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

namespace {
std::string SysctlPath(const std::string& key) {
  std::string path = "/proc/sys/" + key;
  if (key.find('/') != std::string::npos) return path;  // interface names may hold dots
  for (size_t i = 10; i < path.size(); ++i) {
    if (path[i] == '.') path[i] = '/';
  }
  return path;
}
}  // namespace

Status WriteSysctl(const std::string& key, const std::string& value) {
  std::string path = SysctlPath(key);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::System("set " + key, errno);
  if (::write(fd.get(), value.data(), value.size()) < 0) return Error::System("set " + key, errno);
  return Ok();
}

Result<std::string> ReadSysctl(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(std::string v, ReadFile(SysctlPath(key)));
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

}  // namespace berth::sys
