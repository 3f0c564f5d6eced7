// Pseudo-terminals for `run -t` and `exec -t`: the container's process gets the pty's slave
// as its controlling terminal; berth holds the master and relays it to the user's terminal
// (put in raw mode, so ^C, ^Z and the arrow keys reach the container's line discipline) or,
// for a detached container, to its log.
#pragma once

#include <sys/types.h>
#include <termios.h>

#include <optional>

#include "core/error.h"
#include "sys/fd.h"

namespace berth::runtime {

struct Pty {
  sys::Fd master, slave;
};

/// A new pty; its window size is that of `size_from` when that is a terminal.
Result<Pty> OpenPty(int size_from = -1);

/// The terminal `fd` in raw mode while this lives (nothing when it is not a terminal).
class RawMode {
 public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;

 private:
  int fd_;
  std::optional<termios> saved_;
};

/// Relays `in` (-1: none) to `master` and `master` to `out` until the process `child` has
/// exited and what it wrote is drained. `in` reaching its end sends the terminal's EOF (^D).
/// When `in` is a terminal, its window size follows it (SIGWINCH -> TIOCSWINSZ). What goes
/// to `out` also goes to `log` (-1: nowhere).
Status RelayPty(int master, pid_t child, int in, int out, int log = -1);

}  // namespace berth::runtime
