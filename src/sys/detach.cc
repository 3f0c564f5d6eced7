#include "sys/detach.h"

#include <unistd.h>

#include <cerrno>

#include "sys/subprocess.h"

namespace berth::sys {

namespace {

SubprocessSpec DetachedSpec(std::function<int()> main, std::vector<int> keep) {
  SubprocessSpec spec;
  spec.child_main = std::move(main);
  spec.detached = true;
  spec.close_fds = true;
  spec.keep_fds = std::move(keep);
  spec.std_in = spec.std_out = spec.std_err = Stdio::Null();
  return spec;
}

}  // namespace

bool RunDetached(const std::function<void()>& work, std::initializer_list<int> keep) {
  auto started = Subprocess::Start(DetachedSpec(
      [&] {
        work();
        return 0;
      },
      keep));
  return started.ok();
}

void CloseInBackground(int fd) {
  // Order matters: the detached process may close its copy only after ours is closed, or ours
  // would be the last reference after all. EOF on its stdin tells it when.
  SubprocessSpec spec = DetachedSpec(
      [] {
        char c;
        while (::read(0, &c, 1) < 0 && errno == EINTR) {
        }
        return 0;  // exiting closes its copy of fd
      },
      {fd});
  spec.std_in = Stdio::Pipe();
  auto helper = Subprocess::Start(std::move(spec));
  ::close(fd);
  if (helper.ok()) helper->stdin_pipe().Reset();
  // Without a helper, our close above was simply the last one.
}

}  // namespace berth::sys
