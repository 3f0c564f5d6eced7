// Writing a whole buffer to a descriptor: a pipe, a terminal's master or a log file, blocking or
// not. One copy for the runtime's relays (tee, pseudo-terminal, container log, monitor report).
#pragma once

#include <cstddef>
#include <string_view>

namespace berth::sys {

/// Writes all `n` bytes, retrying after EINTR and waiting (up to 100 ms at a time) while a
/// non-blocking `fd` is full. False once `fd` refuses (EPIPE and the like: its reader is gone).
bool WriteAll(int fd, const char* p, size_t n);
inline bool WriteAll(int fd, std::string_view s) { return WriteAll(fd, s.data(), s.size()); }

}  // namespace berth::sys
