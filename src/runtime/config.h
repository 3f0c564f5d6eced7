// How a container's process is run, beyond its network: environment, working directory, user,
// terminal, namespaces shared with the host, restart policy, labels. Written next to the
// container's other files when it is created (containers/<id>/run.json), so `start`,
// `restart`, `exec` and the restart policy run it the same way again. A container without the
// file (made by an older berth, or attached through CNI) gets the defaults.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/paths.h"
#include "sys/subprocess.h"

namespace berth::runtime {

/// Docker's --restart: no | on-failure[:N] | always | unless-stopped.
struct RestartPolicy {
  enum Kind { kNo, kOnFailure, kAlways, kUnlessStopped };
  Kind kind = kNo;
  int max_retries = 0;  // on-failure:N; 0 = unlimited

  static Result<RestartPolicy> Parse(const std::string& spec);
  std::string ToString() const;
  /// Whether a container that exited with `exit_code` after `restarts` restarts is started
  /// again. `stopped`: it was stopped by `berth stop` or `kill`, which no policy undoes.
  bool ShouldRestart(int exit_code, int restarts, bool stopped) const;
};

struct RunConfig {
  std::vector<std::string> env;  // NAME=value, the process's whole environment
  std::string workdir;           // empty: /
  std::string user;              // USER[:GROUP] as given (resolved at each start); empty: root
  bool tty = false;              // -t: a pseudo-terminal for stdin/stdout/stderr
  bool interactive = false;      // -i
  bool pid_host = false;         // --pid host: the host's PID namespace
  bool ipc_host = false;         // --ipc host
  bool init = false;             // --init: a minimal init as PID 1 runs the command
  RestartPolicy restart;
  std::map<std::string, std::string> labels;
  std::vector<std::string> add_hosts;  // --add-host HOST:IP, appended to /etc/hosts
  // State kept across starts.
  int restart_count = 0;
  bool stopped = false;  // by stop/kill: the restart policy leaves it alone
};

/// The environment a container starts with (Docker's: PATH, HOSTNAME, HOME, TERM with -t),
/// then `vars` in order, each NAME=value or NAME (taken from the caller's environment, left
/// out when unset there). PATH is the caller's: containers run the host's binaries.
std::vector<std::string> ContainerEnv(const std::string& hostname, bool tty,
                                      const std::vector<std::string>& vars);

/// The lines of an --env-file: NAME=value or NAME, '#' comments and blank lines skipped.
Result<std::vector<std::string>> ReadEnvFile(const std::string& path);

/// USER[:GROUP] (names or numbers) as the credentials to run with, and the user's home.
Result<sys::Credentials> ResolveUser(const std::string& spec, std::string* home = nullptr);

/// Validates --add-host HOST:IP (Docker also accepts HOST=IP) and returns "IP\tHOST".
Result<std::string> HostsLine(const std::string& spec);

std::string RunConfigPath(const engine::Paths& paths, const std::string& id);
Status SaveRunConfig(const engine::Paths& paths, const std::string& id, const RunConfig& cfg);
/// The defaults when the container has no run.json.
Result<RunConfig> LoadRunConfig(const engine::Paths& paths, const std::string& id);

}  // namespace berth::runtime
