#include "runtime/tty.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/container_log.h"
#include "sys/write_all.h"

namespace berth::runtime {

namespace {

int g_winch_pipe = -1;  // the write end, for the SIGWINCH handler

void OnWinch(int) {
  int saved = errno;
  char c = 0;
  ssize_t ignored = ::write(g_winch_pipe, &c, 1);
  (void)ignored;
  errno = saved;
}

void CopySize(int from, int to) {
  winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

}  // namespace

Result<Pty> OpenPty(int size_from) {
  Pty pty;
  pty.master.Reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master.valid()) return Error::System("open a pseudo-terminal", errno);
  if (::grantpt(pty.master.get()) != 0 || ::unlockpt(pty.master.get()) != 0) {
    return Error::System("unlock the pseudo-terminal", errno);
  }
  char name[128];
  if (::ptsname_r(pty.master.get(), name, sizeof(name)) != 0) {
    return Error::System("name the pseudo-terminal", errno);
  }
  pty.slave.Reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.slave.valid()) return Error::System(std::string("open ") + name, errno);
  if (size_from >= 0 && ::isatty(size_from)) CopySize(size_from, pty.master.get());
  return pty;
}

RawMode::RawMode(int fd) : fd_(fd) {
  termios t;
  if (!::isatty(fd) || ::tcgetattr(fd, &t) != 0) return;
  saved_ = t;
  ::cfmakeraw(&t);
  ::tcsetattr(fd, TCSADRAIN, &t);
}

RawMode::~RawMode() {
  if (saved_) ::tcsetattr(fd_, TCSADRAIN, &*saved_);
}

Status RelayPty(int master, pid_t child, int in, int out, LogWriter* log) {
  sys::Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  if (!pidfd.valid()) return Error::System("watch process " + std::to_string(child), errno);
  sys::Fd winch_rd, winch_wr;
  struct sigaction old_winch = {};
  bool resize = in >= 0 && ::isatty(in);
  if (resize) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return Error::System("pipe", errno);
    winch_rd.Reset(p[0]);
    winch_wr.Reset(p[1]);
    g_winch_pipe = p[1];
    struct sigaction sa = {};
    sa.sa_handler = OnWinch;
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGWINCH, &sa, &old_winch);
    CopySize(in, master);
  }
  ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  bool master_open = true, child_gone = false;
  char buf[16384];
  while (master_open && !child_gone) {
    pollfd fds[4];
    nfds_t n = 0;
    fds[n++] = {pidfd.get(), POLLIN, 0};
    fds[n++] = {master, POLLIN, 0};
    int in_at = -1, winch_at = -1;
    if (in >= 0) in_at = static_cast<int>(n), fds[n++] = {in, POLLIN, 0};
    if (winch_rd.valid()) winch_at = static_cast<int>(n), fds[n++] = {winch_rd.get(), POLLIN, 0};
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) child_gone = true;
    if (fds[1].revents) {
      ssize_t r = ::read(master, buf, sizeof(buf));
      if (r > 0) {
        if (out >= 0) sys::WriteAll(out, buf, static_cast<size_t>(r));
        if (log) log->Write(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        master_open = false;  // EIO: every holder of the slave has closed it
      }
    }
    if (in_at >= 0 && fds[in_at].revents) {
      ssize_t r = ::read(in, buf, sizeof(buf));
      if (r > 0) {
        sys::WriteAll(master, buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        char eof = 4;  // ^D: the line discipline's end of input
        sys::WriteAll(master, &eof, 1);
        in = -1;
      }
    }
    if (winch_at >= 0 && fds[winch_at].revents) {
      while (::read(winch_rd.get(), buf, sizeof(buf)) > 0) {
      }
      CopySize(in >= 0 ? in : STDIN_FILENO, master);
    }
  }
  // The child is gone (or closed the terminal): what it wrote last is still in the master.
  for (;;) {
    ssize_t r = ::read(master, buf, sizeof(buf));
    if (r > 0) {
      if (out >= 0) sys::WriteAll(out, buf, static_cast<size_t>(r));
      if (log) log->Write(buf, static_cast<size_t>(r));
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    break;
  }
  if (resize) {
    ::sigaction(SIGWINCH, &old_winch, nullptr);
    g_winch_pipe = -1;
  }
  return Ok();
}

}  // namespace berth::runtime
