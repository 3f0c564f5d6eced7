// berth run | exec | ps | rm | inspect
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/docker_view.h"
#include "cli/format.h"
#include "cli/render.h"
#include "runtime/exec.h"
#include "runtime/exited.h"
#include "runtime/lifecycle.h"
#include "runtime/config.h"
#include "runtime/run.h"
#include "engine/wiring.h"

namespace berth::cli {

namespace {

// Docker's exit codes for `run`/`exec` failures of berth itself (125) and of the command
// (126 cannot run, 127 not found), so scripts can tell them apart from the program's own.
int RunFailCode(const Error& e) {
  if (e.code() == Code::kCommandNotFound) return 127;
  if (e.code() == Code::kCommandCannotRun) return 126;
  return 125;
}

std::string StateText(const engine::ContainerStatus& s) {
  if (s.container.is_cni()) return "cni";  // its runtime (podman, kubelet...) knows the rest
  if (s.running) return "running";
  if (s.container.state == ContainerState::kExited) {
    return s.exit_code ? "exited (" + std::to_string(*s.exit_code) + ")" : "exited";
  }
  return ToString(s.container.state);
}

}  // namespace

namespace {

// -e and --env-file, in Docker's order: the files first, then -e (which wins).
Result<std::vector<std::string>> EnvVars(const std::vector<std::string>& files,
                                         const std::vector<std::string>& env) {
  std::vector<std::string> vars;
  for (const std::string& f : files) {
    BERTH_ASSIGN_OR_RETURN(auto more, runtime::ReadEnvFile(f));
    vars.insert(vars.end(), more.begin(), more.end());
  }
  vars.insert(vars.end(), env.begin(), env.end());
  for (const std::string& v : vars) {
    if (v.empty() || v[0] == '=') return Error::Invalid("invalid environment variable: " + v);
  }
  return vars;
}

// --pid / --ipc: "" (private, the default) or "host".
Result<bool> HostNamespace(const std::string& flag, const std::string& value) {
  if (value.empty() || value == "private") return false;
  if (value == "host") return true;
  return Error::Invalid("--" + flag + " " + value + ": only host (or private) is supported");
}

Result<runtime::RunConfig> RunConfigFrom(const engine::ContainerCreateRequest& req,
                                         const RunFlags& f) {
  runtime::RunConfig cfg;
  BERTH_ASSIGN_OR_RETURN(auto vars, EnvVars(f.env_files, f.env));
  cfg.workdir = f.workdir;
  if (!cfg.workdir.empty() && cfg.workdir[0] != '/') {
    return Error::Invalid("the working directory '" + cfg.workdir + "' is invalid: it needs "
                          "to be an absolute path");
  }
  cfg.user = f.user;
  cfg.tty = f.tty;
  cfg.interactive = f.interactive;
  cfg.init = f.init;
  BERTH_ASSIGN_OR_RETURN(cfg.pid_host, HostNamespace("pid", f.pid));
  BERTH_ASSIGN_OR_RETURN(cfg.ipc_host, HostNamespace("ipc", f.ipc));
  BERTH_ASSIGN_OR_RETURN(cfg.restart, runtime::RestartPolicy::Parse(f.restart));
  if (cfg.restart.kind != runtime::RestartPolicy::kNo && req.auto_remove) {
    return Error::Invalid("conflicting options: cannot specify both --restart and --rm");
  }
  for (const std::string& l : f.labels) {
    size_t eq = l.find('=');
    cfg.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  cfg.add_hosts = f.add_hosts;
  cfg.env = vars;  // runtime::Run adds Docker's defaults once the hostname is known
  return cfg;
}

// -P: every --expose'd port (PORT, PORT/PROTO or a range A-B) on a free host port.
Result<std::vector<engine::PortRequest>> ExposedPorts(const std::vector<std::string>& expose) {
  std::vector<engine::PortRequest> out;
  for (const std::string& e : expose) {
    BERTH_ASSIGN_OR_RETURN(auto p, engine::ParsePortSpec(e));
    if (p.host_port != 0 || !p.host_ip.IsUnspecified()) {
      return Error::Invalid("invalid --expose " + e + ": give a container port, e.g. 80/tcp");
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace

int Run(const Globals& g, engine::ContainerCreateRequest req,
        const std::vector<std::string>& publish, bool detach, const RunFlags& flags) {
  for (const std::string& spec : publish) {
    auto p = engine::ParsePortSpec(spec);
    if (!p.ok()) return Fail(p.error(), 125);
    req.ports.push_back(*p);
  }
  for (const std::string& l : flags.labels) {
    size_t eq = l.find('=');
    if (eq == 0) return Fail(Error::Invalid("invalid --label " + l + ": use KEY=VALUE"), 125);
    req.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  auto exposed = ExposedPorts(flags.expose);
  if (!exposed.ok()) return Fail(exposed.error(), 125);
  if (flags.publish_all) {
    for (const auto& p : *exposed) {
      bool published = false;  // -p for the same container port wins
      for (const auto& q : req.ports) {
        published |= q.container_port == p.container_port && q.protocol == p.protocol;
      }
      if (!published) req.ports.push_back(p);
    }
  }
  auto cfg = RunConfigFrom(req, flags);
  if (!cfg.ok()) return Fail(cfg.error(), 125);
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error(), 125);
  auto r = runtime::Run(**engine, req, *cfg, detach, [](const std::string& w) {
    std::fprintf(stderr, "WARNING: %s\n", w.c_str());
  });
  if (!r.ok()) return Fail(r.error(), RunFailCode(r.error()));
  if (detach) std::printf("%s\n", r->name.c_str());
  return r->exit_code;
}

int Exec(const Globals& g, const std::string& name, const std::vector<std::string>& cmd,
         runtime::ExecOptions options, const std::vector<std::string>& env_files) {
  auto vars = EnvVars(env_files, options.env);
  if (!vars.ok()) return Fail(vars.error(), 125);
  options.env = *vars;
  if (!options.workdir.empty() && options.workdir[0] != '/') {
    return Fail(Error::Invalid("the working directory '" + options.workdir +
                               "' is invalid: it needs to be an absolute path"), 125);
  }
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error(), 125);
  auto code = runtime::Exec(**engine, name, cmd, options);
  if (!code.ok()) return Fail(code.error(), RunFailCode(code.error()));
  return *code;
}

namespace {

// One --filter KEY=VALUE against a container (Docker's keys; a label filter is KEY or KEY=V).
Result<bool> Matches(const engine::ContainerStatus& s, const runtime::RunConfig& cfg,
                     const std::string& filter) {
  size_t eq = filter.find('=');
  if (eq == std::string::npos) return Error::Invalid("bad format of filter (expected name=value)");
  std::string key = filter.substr(0, eq), value = filter.substr(eq + 1);
  const Container& c = s.container;
  if (key == "name") return c.name.find(value) != std::string::npos;
  if (key == "id") return c.id.rfind(value, 0) == 0;
  if (key == "status") {
    std::string status = s.running ? "running" : ToString(c.state);
    return status == value;
  }
  if (key == "network") {
    if (c.mode == value) return true;
    for (const auto& e : s.endpoints) {
      if (e.endpoint.network_name == value || e.endpoint.network_id.rfind(value, 0) == 0) {
        return true;
      }
    }
    return false;
  }
  if (key == "label") {
    size_t leq = value.find('=');
    auto it = cfg.labels.find(value.substr(0, leq));
    if (it == cfg.labels.end()) return false;
    return leq == std::string::npos || it->second == value.substr(leq + 1);
  }
  return Error::Invalid("invalid filter '" + key + "': use name, id, network, label or status");
}

}  // namespace

int Ps(const Globals& g, bool all, bool quiet, const std::vector<std::string>& filters) {
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  auto listed = (*engine)->ListContainers();
  if (!listed.ok()) return Fail(listed.error());
  std::vector<engine::ContainerStatus> list;
  for (auto& s : *listed) {
    bool keep = true;
    if (!filters.empty()) {
      auto cfg = runtime::LoadRunConfig((*engine)->paths(), s.container.id);
      for (const std::string& f : filters) {
        auto m = Matches(s, cfg.ok() ? *cfg : runtime::RunConfig{}, f);
        if (!m.ok()) return Fail(m.error(), 125);
        keep = keep && *m;
      }
      // Docker: a status filter shows stopped containers without -a.
      for (const std::string& f : filters) all |= f.rfind("status=", 0) == 0;
    }
    if (keep) list.push_back(std::move(s));
  }
  if (quiet) {
    for (const auto& s : list) {
      if (all || s.running || s.container.is_cni()) {
        std::printf("%s\n", s.container.id.substr(0, 12).c_str());
      }
    }
    return 0;
  }
  if (g.format == "json" || IsTemplate(g.format)) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : list) {
      if (all || s.running || s.container.is_cni()) out.push_back(ContainerJson(s));
    }
    if (IsTemplate(g.format)) return PrintListFormat(g.format, kPsView, out);
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : list) {
    // CNI attachments have no process of berth's: listed for as long as they exist.
    const Container& c = s.container;
    if (!all && !s.running && !c.is_cni()) continue;
    std::string nets, ips, cmd, ports;
    for (const auto& e : s.endpoints) {
      nets += (nets.empty() ? "" : ",") + e.endpoint.network_name;
      ips += (ips.empty() ? "" : ",") + e.endpoint.ip.ToString();
      for (const auto& p : e.endpoint.ports) {
        ports += (ports.empty() ? "" : ", ") + engine::PortText(p);
      }
    }
    if (nets.empty()) nets = c.mode;
    for (const auto& a : c.command) cmd += (cmd.empty() ? "" : " ") + a;
    if (cmd.size() > 30) cmd = cmd.substr(0, 27) + "...";
    rows.push_back({c.id.substr(0, 12), c.name, StateText(s), s.running ? std::to_string(c.pid) : "-",
                    nets, ips.empty() ? "-" : ips, cmd, ports});
  }
  std::cout << Table({"CONTAINER ID", "NAME", "STATUS", "PID", "NETWORK", "IP", "COMMAND", "PORTS"},
                     rows);
  return 0;
}

int Remove(const Globals& g, const std::vector<std::string>& names, bool force) {
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  int rc = 0;
  for (const std::string& name : names) {
    Status st = runtime::Remove(**engine, name, force);
    if (!st.ok()) {
      rc = Fail(st.error());
    } else {
      std::printf("%s\n", name.c_str());
    }
  }
  return rc;
}

int ContainerExited(const Globals& g, const std::string& id, int exit_code, int pid) {
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  Status st = runtime::ContainerExited(**engine, id, exit_code, pid);
  return st.ok() ? 0 : Fail(st.error());
}

namespace {

// The networks a stopped container let go of and gets back on start (engine/release.cc's
// records): what `docker inspect` still lists for it, without an address unless a static one.
Result<nlohmann::json> StoppedNetworks(engine::Engine& engine, const std::string& id) {
  nlohmann::json out = nlohmann::json::object();
  BERTH_ASSIGN_OR_RETURN(auto rows, engine.store().ReleasedOf(id));
  for (const auto& [network_id, text] : rows) {
    BERTH_ASSIGN_OR_RETURN(auto n, engine.store().FindNetwork(network_id));
    nlohmann::json spec = nlohmann::json::parse(text, nullptr, false);
    if (!n || !spec.is_object()) continue;
    bool static_ip = spec.value("static_ip", false);
    out[n->name] = {{"network_id", n->id},
                    {"interface", spec.value("ifname", "")},
                    {"ip", static_ip ? spec.value("ip", "") : ""},
                    {"static_ip", static_ip},
                    {"mac", spec.value("mac", "")},
                    {"aliases", spec.value("aliases", nlohmann::json::array())}};
  }
  return out;
}

}  // namespace

int Inspect(const Globals& g, const std::vector<std::string>& names) {
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  return PrintInspectedFormat(g.format, DockerContainerView, names,
                              [&](const std::string& name) -> Result<nlohmann::json> {
    BERTH_ASSIGN_OR_RETURN(auto s, (*engine)->InspectContainer(name));
    nlohmann::json j = ContainerJson(s);
    // How its process runs (runtime/config.h), beside what the engine knows.
    BERTH_ASSIGN_OR_RETURN(auto cfg, runtime::LoadRunConfig((*engine)->paths(), s.container.id));
    j["labels"] = cfg.labels;
    j["config"] = {{"env", cfg.env},           {"workdir", cfg.workdir},
                   {"user", cfg.user},         {"tty", cfg.tty},
                   {"interactive", cfg.interactive},
                   {"pid", cfg.pid_host ? "host" : "private"},
                   {"ipc", cfg.ipc_host ? "host" : "private"},
                   {"init", cfg.init},
                   {"restart", cfg.restart.ToString()},
                   {"restart_count", cfg.restart_count},
                   {"labels", cfg.labels},     {"add_hosts", cfg.add_hosts}};
    BERTH_ASSIGN_OR_RETURN(j["stopped_networks"], StoppedNetworks(**engine, s.container.id));
    return j;
  });
}

}  // namespace berth::cli
