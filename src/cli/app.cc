// Command-line parsing (CLI11) for every berth verb. This is the only translation unit that
// includes CLI11: it is slow to compile, and handlers are plain functions in commands.h.
#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "cli/commands.h"
#include "cli/format.h"
#include "core/version.h"
#include "engine/berthd.h"
#include "engine/paths.h"
#include "runtime/exited.h"

namespace berth::cli {

namespace {

// Docker's status for an error of the CLI itself (a bad flag), distinct from the command's own.
constexpr int kExitUsage = 125;

// `inspect` verbs also take docker's -f (for list verbs docker's -f is --filter).
void AddFormat(CLI::App* cmd, Globals& g, const std::string& names = "--format") {
  cmd->add_option(names, g.format,
                  "Output format: table (default), json, or a Go template ('{{.Name}}')")
      ->check(CLI::Validator(
          [](std::string& f) -> std::string {
            if (IsTemplate(f)) return CheckTemplate(f);
            return f == "table" || f == "json" ? "" : "expected table, json or a template";
          },
          "FORMAT"));
}

// Where the container's command starts in argv[first, argc) (the arguments after `run` or
// `exec`): after "--", or at the first positional that is not an option's value (for exec, the
// positional after the container's name). Everything from there on is opaque: CLI11 never sees
// it, so a `-h` or `--help` of the command (`berth run -- httpd -h`) reaches the command.
// Returns argc when there is no command; `command` receives it.
bool TakesValue(const CLI::App& verb, const std::string& name) {
  const CLI::Option* opt = verb.get_option_no_throw(name);
  return opt && opt->get_expected_max() != 0;  // a flag expects no value
}

int SplitCommand(const CLI::App& verb, int first, int argc, char** argv, int positionals_before,
                 std::vector<std::string>& command) {
  int i = first;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      command.assign(argv + i + 1, argv + argc);
      return i;
    }
    if (a.size() > 1 && a[0] == '-') {
      // "--name=x" and "-px" carry their value; "--name x" and "-p x" take the next argument;
      // a run of short flags ("-dit") takes none unless its last letter is an option.
      if (a.find('=') != std::string_view::npos) continue;
      std::string name(a);
      if (a[1] != '-') name = std::string("-") + a.back();
      if (a[1] != '-' && a.size() > 2 && TakesValue(verb, std::string("-") + a[1])) {
        continue;  // "-p8080:80"
      }
      if (TakesValue(verb, name)) ++i;
      continue;
    }
    if (positionals_before-- > 0) continue;
    command.assign(argv + i, argv + argc);
    return i;
  }
  return argc;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"berth: container networking for Linux", "berth"};
  app.require_subcommand(1);
  app.fallthrough();
  // run/exec pass their command through as "extras"; any other extra is refused below.
  app.allow_extras();
  app.set_version_flag("--version", "berth " BERTH_VERSION);
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
  std::string subnet, gateway, ip_range, mtu;  // --mtu as text: NetworkCreate says what is wrong
  auto* ncmd = network->add_subcommand("create", "Create a network");
  ncmd->add_option("name", ncreate.name, "Network name")->required();
  ncmd->add_option("-d,--driver", ncreate.driver, "Driver (bridge)");
  auto* subnet_opt = ncmd->add_option("--subnet", subnet, "Subnet in CIDR form, e.g. 10.9.0.0/24");
  auto* gw_opt = ncmd->add_option("--gateway", gateway, "Gateway address (default: first host)");
  auto* range_opt = ncmd->add_option("--ip-range", ip_range, "Allocate addresses from this range");
  auto* mtu_opt = ncmd->add_option("--mtu", mtu, "MTU of the bridge and the veths");
  ncmd->add_flag("--internal", ncreate.internal, "No route out: reach nothing beyond the bridge");
  ncmd->add_flag("--force", ncreate.force,
                 "Allow a link-local (169.254/16) or reserved (240/4) subnet, or one that "
                 "overlaps a host route");
  ncmd->add_option("-o,--opt", ncreate.options,
                   "Driver option KEY=VALUE: masquerade, icc, mtu, bridge_name, dns")
      ->allow_extra_args(false);
  ncmd->callback([&] {
    if (*subnet_opt) ncreate.subnet = subnet;
    if (*gw_opt) ncreate.gateway = gateway;
    if (*range_opt) ncreate.ip_range = ip_range;
    std::optional<std::string> mtu_text;
    if (*mtu_opt) mtu_text = mtu;
    action = [&, mtu_text] { return NetworkCreate(g, ncreate, mtu_text); };
  });
  auto* nls = network->add_subcommand("ls", "List networks")->alias("list");
  AddFormat(nls, g);
  nls->callback([&] { action = [&] { return NetworkList(g); }; });
  auto* ninspect = network->add_subcommand("inspect", "Show networks and their containers (JSON)");
  ninspect->add_option("names", names)->required();
  AddFormat(ninspect, g, "-f,--format");
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

  std::string conn_net, conn_ctr, conn_ip;
  std::vector<std::string> conn_aliases;
  auto* nconnect = network->add_subcommand("connect", "Connect a container to a network");
  nconnect->add_option("network", conn_net)->required();
  nconnect->add_option("container", conn_ctr)->required();
  auto* conn_ip_opt = nconnect->add_option("--ip", conn_ip, "Static IPv4 address");
  nconnect->add_option("--alias", conn_aliases, "DNS alias on the network")
      ->allow_extra_args(false);
  nconnect->callback([&] {
    std::optional<std::string> ip;
    if (*conn_ip_opt) ip = conn_ip;
    action = [&, ip] { return NetworkConnect(g, conn_net, conn_ctr, ip, conn_aliases); };
  });
  auto* ndisconnect =
      network->add_subcommand("disconnect", "Disconnect a container from a network");
  ndisconnect->add_option("network", conn_net)->required();
  ndisconnect->add_option("container", conn_ctr)->required();
  ndisconnect->callback(
      [&] { action = [&] { return NetworkDisconnect(g, conn_net, conn_ctr); }; });

  // run
  engine::ContainerCreateRequest run_req;
  std::vector<std::string> publish;
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
  // Repeatable options take one value per occurrence, so they never swallow the command.
  run->add_option("--alias,--network-alias", run_req.aliases, "DNS alias on the network")
      ->allow_extra_args(false);
  run->add_option("--dns", run_req.dns_servers,
                  "Nameserver for the container's resolv.conf (replaces the default)")
      ->allow_extra_args(false);
  run->add_option("--dns-search", run_req.dns_search,
                  "Search domain for the container's resolv.conf (replaces the host's)")
      ->allow_extra_args(false);
  run->add_option("-p,--publish", publish,
                  "Publish [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|udp] (ranges A-B allowed)")
      ->allow_extra_args(false);
  // Everything from the first positional on (or after --) is the command, untouched.
  run->fallthrough(false);  // the command itself is cut off before parsing (SplitCommand)
  run->footer("Usage: berth run [OPTIONS] [--] COMMAND [ARG...]");
  run->callback([&] {
    if (*ip_opt) run_req.ip = run_ip;
    action = [&] { return Run(g, run_req, publish, detach); };
  });

  // exec
  std::string exec_name;
  std::vector<std::string> exec_cmd;
  auto* exec = app.add_subcommand("exec", "Run a command inside a running container");
  exec->add_option("container", exec_name)->required();
  exec->fallthrough(false);
  exec->footer("Usage: berth exec CONTAINER [--] COMMAND [ARG...]");
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
  AddFormat(inspect, g, "-f,--format");
  inspect->callback([&] { action = [&] { return Inspect(g, names); }; });

  // Internal: what a detached container's monitor execs when the container has exited.
  std::string exited_id;
  int exited_code = 0;
  auto* exited = app.add_subcommand(runtime::kContainerExitedVerb, "")->group("");
  exited->add_option("id", exited_id)->required();
  exited->add_option("exit_code", exited_code)->required();
  exited->callback([&] { action = [&] { return ContainerExited(g, exited_id, exited_code); }; });

  auto* info = app.add_subcommand("info", "Show what berth found on this host (firewall managers)");
  AddFormat(info, g);
  info->callback([&] { action = [&] { return Info(g); }; });
  auto* sys = app.add_subcommand("system", "Repair berth's state: reconcile");
  sys->require_subcommand(1);
  bool dry_run = false, rebuild_state = false;
  auto* reconcile = sys->add_subcommand(
      "reconcile",
      "Make the state store and the kernel agree: finish or undo interrupted operations, "
      "remove what no record explains, restore what a record needs");
  reconcile->add_flag("--dry-run", dry_run, "Only say what would be repaired");
  reconcile->add_flag("--rebuild-state", rebuild_state,
                      "Start a damaged or lost state store over (the old one is kept aside), "
                      "then take back what no record explains");
  AddFormat(reconcile, g);
  reconcile->footer("Example: berth system reconcile --dry-run");
  reconcile->callback(
      [&] { action = [&] { return SystemReconcile(g, dry_run, rebuild_state); }; });
  // Internal: only the other firewall managers' part of reconcile; hidden from --help.
  auto* fwsync = sys->add_subcommand("firewall-sync", "")->group("");
  AddFormat(fwsync, g);
  fwsync->callback([&] { action = [&] { return FirewallSync(g); }; });

  app.add_subcommand("demo",
                     "Two containers on one bridge, pinging each other, built in throwaway "
                     "namespaces")
      ->callback([&] { action = [&] { return Demo(); }; });

  // The verb is the first argument that is neither a global option nor its value.
  int verb_at = 1;
  while (verb_at < argc && argv[verb_at][0] == '-') {
    std::string_view a = argv[verb_at];
    verb_at += (a == "--root") ? 2 : 1;
  }
  int cut = argc;
  if (verb_at < argc && std::string_view(argv[verb_at]) == "run") {
    cut = SplitCommand(*run, verb_at + 1, argc, argv, 0, run_req.command);
  } else if (verb_at < argc && std::string_view(argv[verb_at]) == "exec") {
    cut = SplitCommand(*exec, verb_at + 1, argc, argv, 1, exec_cmd);
  }
  try {
    app.parse(cut, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  std::vector<std::string> extra = app.remaining(true);
  // CLI11 leaves the end-of-options marker of any other verb (`berth rm -- NAME`) behind.
  std::erase(extra, std::string("--"));
  if (!extra.empty()) {
    std::string list;
    for (const auto& a : extra) list += " " + a;
    std::fprintf(stderr, "berth: error: unknown flag or unexpected arguments:%s (see --help)\n",
                 list.c_str());
    return kExitUsage;
  }
  if (!root_flag.empty()) {
    g.root = root_flag;
  } else if (const char* env = std::getenv("BERTH_ROOT"); env && *env) {
    g.root = env;
  } else {
    g.root = engine::kDefaultRoot;
  }
  if (g.format == "table") g.format.clear();
  // Commands that rely on berthd (names resolving, what they show of the DNS) bring it back
  // when it died: one connect when it runs (engine/berthd.h).
  for (const CLI::App* verb : {network, run, exec, ps, rm, inspect}) {
    if (!verb->parsed()) continue;
    Status st = engine::EnsureBerthdIfWanted(engine::Paths{g.root});
    if (!st.ok()) std::fprintf(stderr, "berth: warning: DNS: %s\n", st.error().message().c_str());
    break;
  }
  return action ? action() : 0;
}

}  // namespace berth::cli
