// berth-cni: the CNI plugin. Runtimes run it as plugin type "berth" (install it, or a link to
// it, named `berth` in their CNI plugin directory). Reads the configuration on stdin, answers
// on stdout, logs nothing on stdout: the library's warnings go to stderr, which runtimes copy
// into their logs, as "berth-cni: warning: ...".
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cni/plugin.h"
#include "core/log.h"
#include "core/version.h"

int main() {
  using namespace berth::cni;
  berth::log::UseHumanSink("berth-cni");
  Env env = ReadEnv(std::getenv);
  if (env.command.empty()) {
    berth::log::Info("berth CNI plugin " BERTH_VERSION " (spec 0.3.1, 0.4.0, 1.0.0, 1.1.0): "
                         "run by a container runtime with CNI_COMMAND and the network "
                         "configuration on stdin");
  }
  std::string in;
  if (!env.command.empty()) {
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) in.append(buf, n);
    if (std::ferror(stdin)) {
      berth::Error e = berth::Error::System("failed to read stdin", errno).WithCniCode(kIoFailure);
      std::puts(ErrorJson(e, kLatestVersion).c_str());
      return 1;
    }
  }
  ExecDelegator delegator(env.path);
  Response r = Run(env, in, delegator, std::getenv);
  if (!r.out.empty()) {
    std::fwrite(r.out.data(), 1, r.out.size(), stdout);
    std::fputc('\n', stdout);
  }
  std::fflush(stdout);
  return r.exit_code;
}
