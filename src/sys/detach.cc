#include "sys/detach.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <vector>

namespace berth::sys {

namespace {

void CloseAllBut(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned next = 0;
  for (int fd : keep) {
    if (fd < 0) continue;
    if (static_cast<unsigned>(fd) > next) ::close_range(next, static_cast<unsigned>(fd) - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(next, ~0U, 0);
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0) {
      int null = ::open("/dev/null", O_RDWR);
      if (null >= 0 && null != fd) {
        ::dup2(null, fd);
        ::close(null);
      }
    }
  }
}

}  // namespace

bool RunDetached(const std::function<void()>& work, std::initializer_list<int> keep) {
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    if (::fork() != 0) ::_exit(0);
    ::setsid();
    CloseAllBut(std::vector<int>(keep));
    work();
    ::_exit(0);
  }
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  return true;
}

void CloseInBackground(int fd) {
  // Order matters: the detached process may close its copy only after ours is closed, or ours
  // would be the last reference after all. A pipe's EOF tells it when.
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    ::close(fd);
    return;
  }
  bool detached = RunDetached(
      [&] {
        char c;
        while (::read(p[0], &c, 1) < 0 && errno == EINTR) {
        }
        ::close(fd);
      },
      {fd, p[0]});
  ::close(p[0]);
  ::close(fd);
  ::close(p[1]);
  (void)detached;  // without a helper, our close above was simply the last one
}

}  // namespace berth::sys
