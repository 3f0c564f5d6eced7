#include "runtime/tee.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "sys/fd.h"
#include "sys/write_all.h"

namespace berth::runtime {

namespace {

struct Stream {
  int from;
  int to;
  bool open = true;
};

// One read of `s`, copied on: how many bytes (0 at its end, -1 with errno set).
ssize_t Pump(Stream& s, LogWriter* log) {
  char buf[16384];
  ssize_t r = ::read(s.from, buf, sizeof(buf));
  if (r <= 0) return r;
  if (s.to >= 0 && !sys::WriteAll(s.to, buf, static_cast<size_t>(r))) s.to = -1;
  if (log) log->Write(buf, static_cast<size_t>(r));
  return r;
}

}  // namespace

Status TeeOutput(pid_t child, int out_pipe, int err_pipe, int out, int err, LogWriter* log) {
  sys::Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  if (!pidfd.valid()) return Error::System("watch process " + std::to_string(child), errno);
  Stream streams[2] = {{out_pipe, out, out_pipe >= 0}, {err_pipe, err, err_pipe >= 0}};
  bool child_gone = false;
  while ((streams[0].open || streams[1].open) && !child_gone) {
    pollfd fds[3] = {{pidfd.get(), POLLIN, 0},
                     {streams[0].open ? out_pipe : -1, POLLIN, 0},
                     {streams[1].open ? err_pipe : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;  // a signal forwarded to the container
      return Error::System("poll", errno);
    }
    // Output before the exit: pipes first, so nothing written is left behind for the drain.
    for (int i = 0; i < 2; ++i) {
      if (!fds[i + 1].revents) continue;
      ssize_t r = Pump(streams[i], log);
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) streams[i].open = false;
    }
    if (fds[0].revents) child_gone = true;
  }
  // The command is gone; what it wrote is in the pipes. A process it left behind (with
  // --pid host) may keep them open: read what is there without waiting for it.
  for (Stream& s : streams) {
    if (!s.open) continue;
    ::fcntl(s.from, F_SETFL, ::fcntl(s.from, F_GETFL) | O_NONBLOCK);
    for (ssize_t r = 1; r > 0 || (r < 0 && errno == EINTR);) r = Pump(s, log);
  }
  return Ok();
}

}  // namespace berth::runtime
