#include "runtime/config.h"

#include <grp.h>
#include <pwd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/ip.h"
#include "sys/proc.h"

namespace berth::runtime {

namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool AllDigits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

Result<RestartPolicy> RestartPolicy::Parse(const std::string& spec) {
  RestartPolicy p;
  std::string name = spec.substr(0, spec.find(':'));
  std::string count = spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1);
  if (name == "no" || name.empty()) {
    p.kind = kNo;
  } else if (name == "on-failure") {
    p.kind = kOnFailure;
  } else if (name == "always") {
    p.kind = kAlways;
  } else if (name == "unless-stopped") {
    p.kind = kUnlessStopped;
  } else {
    return Error::Invalid("invalid restart policy " + spec +
                          ": use no, on-failure[:max-retries], always or unless-stopped");
  }
  if (!count.empty()) {
    if (p.kind != kOnFailure || !AllDigits(count) || count.size() > 6) {
      return Error::Invalid("invalid restart policy " + spec +
                            ": only on-failure takes a maximum retry count");
    }
    p.max_retries = std::atoi(count.c_str());
  }
  return p;
}

std::string RestartPolicy::ToString() const {
  switch (kind) {
    case kNo:
      return "no";
    case kOnFailure:
      return max_retries ? "on-failure:" + std::to_string(max_retries) : "on-failure";
    case kAlways:
      return "always";
    case kUnlessStopped:
      return "unless-stopped";
  }
  return "no";
}

bool RestartPolicy::ShouldRestart(int exit_code, int restarts, bool stopped) const {
  if (stopped) return false;
  switch (kind) {
    case kNo:
      return false;
    case kOnFailure:
      return exit_code != 0 && (max_retries == 0 || restarts < max_retries);
    case kAlways:
    case kUnlessStopped:
      return true;
  }
  return false;
}

std::vector<std::string> ContainerEnv(const std::string& hostname, bool tty,
                                      const std::vector<std::string>& vars) {
  const char* path = std::getenv("PATH");
  std::vector<std::string> env = {std::string("PATH=") + (path && *path ? path : kDefaultPath),
                                  "HOSTNAME=" + hostname, "HOME=/root"};
  if (tty) env.push_back("TERM=xterm");
  auto set = [&env](const std::string& var) {
    std::string name = var.substr(0, var.find('='));
    for (std::string& e : env) {
      if (e.substr(0, e.find('=')) == name) {
        e = var;
        return;
      }
    }
    env.push_back(var);
  };
  for (const std::string& v : vars) {
    if (v.find('=') != std::string::npos) {
      set(v);
    } else if (const char* value = std::getenv(v.c_str())) {
      set(v + "=" + value);  // `-e NAME`: passed on from the caller, as Docker does
    }
  }
  return env;
}

Result<std::vector<std::string>> ReadEnvFile(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string text, sys::ReadFile(path));
  std::vector<std::string> vars;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    line = line.substr(first);
    if (line[0] == '=') return Error::Invalid(path + ": variable without a name: " + line);
    vars.push_back(line);
  }
  return vars;
}

Result<sys::Credentials> ResolveUser(const std::string& spec, std::string* home) {
  sys::Credentials cred;
  std::string user = spec.substr(0, spec.find(':'));
  std::string group = spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1);
  bool group_given = !group.empty();
  if (home) *home = "/";
  const passwd* pw = AllDigits(user) ? ::getpwuid(static_cast<uid_t>(std::atol(user.c_str())))
                                     : ::getpwnam(user.c_str());
  if (pw) {
    cred.uid = pw->pw_uid;
    cred.gid = pw->pw_gid;
    if (home) *home = pw->pw_dir;
  } else if (AllDigits(user)) {
    cred.uid = static_cast<uid_t>(std::atol(user.c_str()));
    cred.gid = 0;  // a uid unknown to /etc/passwd runs with group root, as in Docker
  } else {
    return Error::Invalid("unable to find user " + user + ": no matching entries in passwd file");
  }
  if (group_given) {
    const struct group* gr = AllDigits(group)
                                 ? ::getgrgid(static_cast<gid_t>(std::atol(group.c_str())))
                                 : ::getgrnam(group.c_str());
    if (gr) {
      cred.gid = gr->gr_gid;
    } else if (AllDigits(group)) {
      cred.gid = static_cast<gid_t>(std::atol(group.c_str()));
    } else {
      return Error::Invalid("unable to find group " + group +
                            ": no matching entries in group file");
    }
  }
  cred.groups = {cred.gid};
  if (pw && !group_given) {
    int n = 64;
    std::vector<gid_t> groups(static_cast<size_t>(n));
    if (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n) >= 0) {
      groups.resize(static_cast<size_t>(n));
      cred.groups = groups;
    }
  }
  return cred;
}

Result<std::string> HostsLine(const std::string& spec) {
  // HOST:IP, where the IP may be IPv6 (colons): the name ends at the first separator.
  size_t sep = spec.find_first_of(":=");
  if (sep == std::string::npos || sep == 0 || sep + 1 >= spec.size()) {
    return Error::Invalid("invalid --add-host " + spec + ": use HOST:IP");
  }
  std::string host = spec.substr(0, sep), ip = spec.substr(sep + 1);
  if (ip == "host-gateway") {
    return Error::Invalid("--add-host " + spec + ": host-gateway is not supported, give an IP");
  }
  BERTH_ASSIGN_OR_RETURN(IpAddr addr, IpAddr::Parse(ip));
  return addr.ToString() + "\t" + host;
}

std::string RunConfigPath(const engine::Paths& paths, const std::string& id) {
  return paths.container_dir(id) + "/run.json";
}

Status SaveRunConfig(const engine::Paths& paths, const std::string& id, const RunConfig& c) {
  nlohmann::json j = {{"env", c.env},
                      {"workdir", c.workdir},
                      {"user", c.user},
                      {"tty", c.tty},
                      {"interactive", c.interactive},
                      {"pid_host", c.pid_host},
                      {"ipc_host", c.ipc_host},
                      {"init", c.init},
                      {"restart", c.restart.ToString()},
                      {"labels", c.labels},
                      {"add_hosts", c.add_hosts},
                      {"restart_count", c.restart_count},
                      {"stopped", c.stopped}};
  return sys::WriteFileAtomic(RunConfigPath(paths, id), j.dump(2) + "\n", 0600);
}

Result<RunConfig> LoadRunConfig(const engine::Paths& paths, const std::string& id) {
  RunConfig c;
  auto text = sys::ReadFile(RunConfigPath(paths, id));
  if (!text.ok()) {
    if (text.error().code() == Code::kNotFound) return c;
    return std::move(text).error();
  }
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error::Internal(RunConfigPath(paths, id) + ": not a JSON object");
  }
  try {
    c.env = j.value("env", c.env);
    c.workdir = j.value("workdir", "");
    c.user = j.value("user", "");
    c.tty = j.value("tty", false);
    c.interactive = j.value("interactive", false);
    c.pid_host = j.value("pid_host", false);
    c.ipc_host = j.value("ipc_host", false);
    c.init = j.value("init", false);
    BERTH_ASSIGN_OR_RETURN(c.restart, RestartPolicy::Parse(j.value("restart", "no")));
    c.labels = j.value("labels", c.labels);
    c.add_hosts = j.value("add_hosts", c.add_hosts);
    c.restart_count = j.value("restart_count", 0);
    c.stopped = j.value("stopped", false);
  } catch (const nlohmann::json::exception& e) {
    return Error::Internal(RunConfigPath(paths, id) + ": " + e.what());
  }
  return c;
}

}  // namespace berth::runtime
