// Processes: identity that survives PID reuse, liveness, and files under /proc/sys.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace berth::sys {

/// Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22). Together with the
/// PID it names one process for its whole life.
Result<uint64_t> ProcessStartTime(pid_t pid);

/// True when `pid` exists and is still the process that started at `start_time`.
bool IsAlive(pid_t pid, uint64_t start_time);

/// Live processes whose network namespace has inode `netns_inode` (what `ip netns pids` lists).
std::vector<pid_t> ProcessesInNetns(uint64_t netns_inode);

/// SIGKILLs every process in that network namespace, again until none is left (a process may
/// fork meanwhile), for up to `timeout_ms`.
Status KillProcessesInNetns(uint64_t netns_inode, int timeout_ms = 10000);

/// Writes a sysctl through /proc/sys, which follows the calling thread's network namespace.
/// `key` uses dots or slashes: "net.ipv4.ip_forward".
Status WriteSysctl(const std::string& key, const std::string& value);
Result<std::string> ReadSysctl(const std::string& key);

Result<std::string> ReadFile(const std::string& path);
/// Writes via a temporary file and rename, so readers never see half a file.
Status WriteFileAtomic(const std::string& path, const std::string& data, int mode = 0644);
/// Truncates and rewrites the file itself (keeping its inode), for files bind-mounted elsewhere.
Status WriteFileInPlace(const std::string& path, const std::string& data, int mode = 0644);
Status MakeDirs(const std::string& path, int mode = 0755);
/// rm -r for directories berth owns; a missing path is success.
Status RemoveTree(const std::string& path);

}  // namespace berth::sys
