#include "engine/berthd_launch.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "sys/fd.h"
#include "sys/subprocess.h"

namespace berth::engine {

// berthd as a daemon of its own: detached (double fork, a session of its own, nobody's zombie),
// stdio to its log, no inherited descriptors, cwd /. Subprocess reports an exec failure
// (berthd not installed) at once instead of after a timeout.
Status SpawnBerthd(const Paths& paths) {
  std::string bin = BerthdBinary();
  sys::Fd log(::open(paths.berthd_log().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  sys::SubprocessSpec spec;
  spec.argv = {bin, "--root", paths.root};
  spec.detached = true;
  spec.close_fds = true;
  spec.cwd = "/";
  spec.std_in = sys::Stdio::Null();
  spec.std_out = log.valid() ? sys::Stdio::From(log.get()) : sys::Stdio::Null();
  spec.std_err = sys::Stdio::ToStdout();
  auto started = sys::Subprocess::Start(std::move(spec));
  if (!started.ok()) return std::move(started).error().Wrap("start berthd");
  return Ok();
}

std::string BerthdBinary() {
  if (const char* env = std::getenv("BERTHD_BIN"); env && *env) return env;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    std::string beside = dir + "/berthd";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  return "berthd";
}

}  // namespace berth::engine
