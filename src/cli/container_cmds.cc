// berth run | exec | ps | rm | inspect
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/docker_view.h"
#include "cli/format.h"
#include "cli/render.h"
#include "runtime/exec.h"
#include "runtime/exited.h"
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

int Run(const Globals& g, engine::ContainerCreateRequest req,
        const std::vector<std::string>& publish, bool detach) {
  for (const std::string& spec : publish) {
    auto p = engine::ParsePortSpec(spec);
    if (!p.ok()) return Fail(p.error(), 125);
    req.ports.push_back(*p);
  }
  auto engine = engine::Engine::Open(g.root, engine::DefaultWiring(g.root));
  if (!engine.ok()) return Fail(engine.error(), 125);
  auto r = runtime::Run(**engine, req, detach, [](const std::string& w) {
    std::fprintf(stderr, "WARNING: %s\n", w.c_str());
  });
  if (!r.ok()) return Fail(r.error(), RunFailCode(r.error()));
  if (detach) std::printf("%s\n", r->name.c_str());
  return r->exit_code;
}

int Exec(const Globals& g, const std::string& name, const std::vector<std::string>& cmd) {
  auto engine = engine::Engine::Open(g.root, engine::DefaultWiring(g.root));
  if (!engine.ok()) return Fail(engine.error(), 125);
  Status st = runtime::Exec(**engine, name, cmd);
  return Fail(st.error(), RunFailCode(st.error()));
}

int Ps(const Globals& g, bool all) {
  auto engine = engine::Engine::Open(g.root, engine::DefaultWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  auto list = (*engine)->ListContainers();
  if (!list.ok()) return Fail(list.error());
  if (g.format == "json" || IsTemplate(g.format)) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : *list) {
      if (all || s.running || s.container.is_cni()) out.push_back(ContainerJson(s));
    }
    if (IsTemplate(g.format)) return PrintListFormat(g.format, kPsView, out);
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : *list) {
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
  auto engine = engine::Engine::Open(g.root, engine::DefaultWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  int rc = 0;
  for (const std::string& name : names) {
    Status st = (*engine)->RemoveContainer(name, force);
    if (!st.ok()) {
      rc = Fail(st.error());
    } else {
      std::printf("%s\n", name.c_str());
    }
  }
  return rc;
}

int ContainerExited(const Globals& g, const std::string& id, int exit_code) {
  auto engine = engine::Engine::Open(g.root, engine::DefaultWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  Status st = runtime::ContainerExited(**engine, id, exit_code);
  return st.ok() ? 0 : Fail(st.error());
}

int Inspect(const Globals& g, const std::vector<std::string>& names) {
  auto engine = engine::Engine::Open(g.root, engine::DefaultWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  return PrintInspectedFormat(g.format, DockerContainerView, names,
                              [&](const std::string& name) -> Result<nlohmann::json> {
    BERTH_ASSIGN_OR_RETURN(auto s, (*engine)->InspectContainer(name));
    return ContainerJson(s);
  });
}

}  // namespace berth::cli
