// Command-line parsing (CLI11) for every berth verb. This is the only translation unit that
// includes CLI11: it is slow to compile, and handlers are plain functions in commands.h.
#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <functional>

#include "cli/commands.h"
#include "engine/paths.h"

namespace berth::cli {

namespace {

void AddFormat(CLI::App* cmd, Globals& g) {
  cmd->add_option("--format", g.format, "Output format: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"berth: container networking for Linux", "berth"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", "berth 0.1.0");
  Globals g;
  std::string root_flag;
  app.add_option("--root", root_flag, "State root (default $BERTH_ROOT or /var/lib/berth)");

  std::function<int()> action;
  std::vector<std::string> names;
  bool force = false, all = false;

  // network ...
  auto* network = app.add_subcommand("network", "Manage networks");
  network->require_subcommand(1);
  engine::NetworkCreateRequest ncreate;
  std::string subnet, gateway, ip_range;
  int mtu = 0;
  auto* ncmd = network->add_subcommand("create", "Create a network");
  ncmd->add_option("name", ncreate.name, "Network name")->required();
  ncmd->add_option("-d,--driver", ncreate.driver, "Driver (bridge)");
  auto* subnet_opt = ncmd->add_option("--subnet", subnet, "Subnet in CIDR form, e.g. 10.9.0.0/24");
  auto* gw_opt = ncmd->add_option("--gateway", gateway, "Gateway address (default: first host)");
  auto* range_opt = ncmd->add_option("--ip-range", ip_range, "Allocate addresses from this range");
  auto* mtu_opt = ncmd->add_option("--mtu", mtu, "MTU of the bridge and the veths");
  ncmd->add_flag("--internal", ncreate.internal, "No route out: reach nothing beyond the bridge");
  ncmd->add_option("-o,--opt", ncreate.options,
                   "Driver option KEY=VALUE: masquerade, icc, mtu, bridge_name, dns");
  ncmd->callback([&] {
    if (*subnet_opt) ncreate.subnet = subnet;
    if (*gw_opt) ncreate.gateway = gateway;
    if (*range_opt) ncreate.ip_range = ip_range;
    if (*mtu_opt) ncreate.mtu = mtu;
    action = [&] { return NetworkCreate(g, ncreate); };
  });
  auto* nls = network->add_subcommand("ls", "List networks")->alias("list");
  AddFormat(nls, g);
  nls->callback([&] { action = [&] { return NetworkList(g); }; });
  auto* ninspect = network->add_subcommand("inspect", "Show networks and their containers (JSON)");
  ninspect->add_option("names", names)->required();
  ninspect->callback([&] { action = [&] { return NetworkInspect(g, names); }; });
  auto* nrm = network->add_subcommand("rm", "Remove networks")->alias("remove");
  nrm->add_option("names", names)->required();
  nrm->callback([&] { action = [&] { return NetworkRemove(g, names); }; });
  network->add_subcommand("prune", "Remove all networks without containers")->callback([&] {
    action = [&] { return NetworkPrune(g); };
  });
  std::string explain_net;
  auto* nexplain = network->add_subcommand(
      "explain", "Print the ip(8) commands equivalent to attaching a container to a network");
  nexplain->add_option("name", explain_net)->required();
  nexplain->callback([&] { action = [&] { return NetworkExplain(g, explain_net); }; });

  // run
  engine::ContainerCreateRequest run_req;
  std::string run_ip;
  bool detach = false;
  auto* run = app.add_subcommand("run", "Run a command in a new container");
  run->set_help_flag("--help", "Print this help message and exit");  // -h is --hostname (docker)
  run->add_flag("-d,--detach", detach, "Run in the background and print the container name");
  run->add_flag("--rm", run_req.auto_remove, "Remove the container when its command exits");
  run->add_option("--name", run_req.name, "Container name");
  run->add_option("--network,--net", run_req.network,
                  "none | host | bridge | container:NAME | NETWORK");
  auto* ip_opt = run->add_option("--ip", run_ip, "Static IPv4 address (user-defined networks)");
  run->add_option("-h,--hostname", run_req.hostname, "Container hostname");
  run->add_option("--alias,--network-alias", run_req.aliases, "DNS alias on the network");
  run->add_option("--dns", run_req.dns_servers,
                  "Nameserver for the container's resolv.conf (replaces the default)");
  run->add_option("--dns-search", run_req.dns_search,
                  "Search domain for the container's resolv.conf (replaces the host's)");
  run->add_option("command", run_req.command, "COMMAND [ARG...]")->required();
  run->prefix_command();
  run->callback([&] {
    if (*ip_opt) run_req.ip = run_ip;
    action = [&] { return Run(g, run_req, detach); };
  });

  // exec
  std::string exec_name;
  std::vector<std::string> exec_cmd;
  auto* exec = app.add_subcommand("exec", "Run a command inside a running container");
  exec->add_option("container", exec_name)->required();
  exec->add_option("command", exec_cmd, "COMMAND [ARG...]")->required();
  exec->prefix_command();
  exec->callback([&] { action = [&] { return Exec(g, exec_name, exec_cmd); }; });

  auto* ps = app.add_subcommand("ps", "List containers");
  ps->add_flag("-a,--all", all, "Show all containers (default: running)");
  AddFormat(ps, g);
  ps->callback([&] { action = [&] { return Ps(g, all); }; });

  auto* rm = app.add_subcommand("rm", "Remove containers");
  rm->add_flag("-f,--force", force, "Kill running containers first");
  rm->add_option("names", names)->required();
  rm->callback([&] { action = [&] { return Remove(g, names, force); }; });

  auto* inspect = app.add_subcommand("inspect", "Show containers (JSON)");
  inspect->add_option("names", names)->required();
  inspect->callback([&] { action = [&] { return Inspect(g, names); }; });

  app.add_subcommand("demo", "Build seed 001's two-container topology in throwaway namespaces")
      ->callback([&] { action = [&] { return Demo(); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!root_flag.empty()) {
    g.root = root_flag;
  } else if (const char* env = std::getenv("BERTH_ROOT"); env && *env) {
    g.root = env;
  } else {
    g.root = engine::kDefaultRoot;
  }
  if (g.format == "table") g.format.clear();
  return action ? action() : 0;
}

}  // namespace berth::cli
