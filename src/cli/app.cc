// Command-line parsing (CLI11) for every berth verb. This is the only translation unit that
// includes CLI11: it is slow to compile, and handlers are plain functions in commands.h.
#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/format.h"
#include "core/version.h"
#include "engine/berthd.h"
#include "engine/paths.h"
#include "runtime/exited.h"
#include "runtime/lifecycle.h"

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

// "Example:" lines at the end of a verb's --help (and its man page).
void Example(CLI::App* verb, const std::string& text) {
  std::string footer = verb->get_footer();
  verb->footer((footer.empty() ? "" : footer + "\n\n") + "Example:\n" + text);
}

// The verbs `berth container VERB` accepts, as aliases of the top-level ones (Docker's
// management command); `container ls` is `ps`.
const char* ContainerAlias(std::string_view verb) {
  static const char* const kVerbs[] = {"run",  "exec",    "ps",   "rm",   "inspect", "start",
                                       "stop", "restart", "kill", "logs", "port",    "top",
                                       "wait"};
  if (verb == "ls" || verb == "list") return "ps";
  for (const char* v : kVerbs) {
    if (verb == v) return v;
  }
  return nullptr;
}

// The command tree as plain data for the completion and man page generators.
CommandInfo Describe(const CLI::App& app) {
  CommandInfo info;
  info.name = app.get_name();
  info.description = app.get_description();
  info.footer = app.get_footer();
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty()) continue;  // hidden
    OptionInfo o;
    for (const auto& n : opt->get_snames()) o.names.push_back("-" + n);
    for (const auto& n : opt->get_lnames()) o.names.push_back("--" + n);
    if (o.names.empty()) {
      info.positionals.push_back(opt->get_name());
      continue;
    }
    o.takes_value = opt->get_expected_max() != 0;
    o.description = opt->get_description();
    info.options.push_back(std::move(o));
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_group().empty()) continue;  // hidden
    info.subcommands.push_back(Describe(*sub));
  }
  return info;
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
  Example(ncmd, "  berth network create web\n  berth network create --subnet 10.9.0.0/24 "
                "--internal -o icc=false backend");
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
  Example(nls, "  berth network ls --format '{{.Name}}'");
  nls->callback([&] { action = [&] { return NetworkList(g); }; });
  auto* ninspect = network->add_subcommand("inspect", "Show networks and their containers (JSON)");
  ninspect->add_option("names", names)->required();
  AddFormat(ninspect, g, "-f,--format");
  Example(ninspect, "  berth network inspect web");
  ninspect->callback([&] { action = [&] { return NetworkInspect(g, names); }; });
  auto* nrm = network->add_subcommand("rm", "Remove networks")->alias("remove");
  nrm->add_option("names", names)->required();
  Example(nrm, "  berth network rm web");
  nrm->callback([&] { action = [&] { return NetworkRemove(g, names); }; });
  auto* nprune = network->add_subcommand("prune", "Remove all networks without containers");
  Example(nprune, "  berth network prune");
  nprune->callback([&] {
    action = [&] { return NetworkPrune(g); };
  });
  std::string explain_net;
  auto* nexplain = network->add_subcommand(
      "explain", "Print the ip(8) commands equivalent to attaching a container to a network");
  nexplain->add_option("name", explain_net)->required();
  Example(nexplain, "  berth network explain web");
  nexplain->callback([&] { action = [&] { return NetworkExplain(g, explain_net); }; });

  std::string conn_net, conn_ctr, conn_ip;
  std::vector<std::string> conn_aliases;
  auto* nconnect = network->add_subcommand("connect", "Connect a container to a network");
  nconnect->add_option("network", conn_net)->required();
  nconnect->add_option("container", conn_ctr)->required();
  auto* conn_ip_opt = nconnect->add_option("--ip", conn_ip, "Static IPv4 address");
  nconnect->add_option("--alias", conn_aliases, "DNS alias on the network")
      ->allow_extra_args(false);
  Example(nconnect, "  berth network connect --ip 10.9.0.7 --alias db backend web");
  nconnect->callback([&] {
    std::optional<std::string> ip;
    if (*conn_ip_opt) ip = conn_ip;
    action = [&, ip] { return NetworkConnect(g, conn_net, conn_ctr, ip, conn_aliases); };
  });
  auto* ndisconnect =
      network->add_subcommand("disconnect", "Disconnect a container from a network");
  ndisconnect->add_option("network", conn_net)->required();
  ndisconnect->add_option("container", conn_ctr)->required();
  Example(ndisconnect, "  berth network disconnect backend web");
  ndisconnect->callback(
      [&] { action = [&] { return NetworkDisconnect(g, conn_net, conn_ctr); }; });

  // service ...
  auto* service = app.add_subcommand("service", "Manage services (virtual IPs in front of containers)");
  service->require_subcommand(1);
  engine::ServiceCreateRequest screate;
  std::string svc_vip;
  auto* screate_cmd = service->add_subcommand("create", "Create a service");
  screate_cmd->add_option("name", screate.name)->required();
  screate_cmd->add_option("--network,--net", screate.network, "The network of its backends")
      ->required();
  screate_cmd->add_option("--selector", screate.selector,
                          "Backends: running containers with label KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  screate_cmd->add_option("--port", screate.ports, "PORT[:TARGETPORT][/tcp|/udp] (repeatable)")
      ->allow_extra_args(false);
  auto* svc_vip_opt = screate_cmd->add_option("--vip", svc_vip,
                                              "Virtual IP (default: the next free one of the "
                                              "service range)");
  screate_cmd->add_option("--balance", screate.balance, "random | round-robin");
  screate_cmd->add_option("--affinity", screate.affinity,
                          "none | client-ip[:SECONDS]: a client keeps its backend (default "
                          "10800 s)");
  screate_cmd->add_option("--publish", screate.publish,
                          "HOSTPORT:PORT[/udp]: PORT answers on every host address (NodePort)")
      ->allow_extra_args(false);
  AddFormat(screate_cmd, g);
  Example(screate_cmd, "  berth service create web --network app --selector app=web --port 80:8080");
  screate_cmd->callback([&] {
    if (*svc_vip_opt) screate.vip = svc_vip;
    action = [&] { return ServiceCreate(g, screate); };
  });
  auto* sls = service->add_subcommand("ls", "List services")->alias("list");
  AddFormat(sls, g);
  sls->callback([&] { action = [&] { return ServiceList(g); }; });
  bool svc_explain = false;
  auto* sinspect = service->add_subcommand("inspect", "Show services and their backends (JSON)");
  sinspect->add_option("names", names)->required();
  sinspect->add_flag("--explain", svc_explain, "Print the service's nft commands instead");
  AddFormat(sinspect, g);
  sinspect->callback([&] { action = [&] { return ServiceInspect(g, names, svc_explain); }; });
  auto* srm = service->add_subcommand("rm", "Remove services")->alias("remove");
  srm->add_option("names", names)->required();
  AddFormat(srm, g);
  srm->callback([&] { action = [&] { return ServiceRemove(g, names); }; });

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
  RunFlags run_flags;
  run->add_flag("-P,--publish-all", run_flags.publish_all,
                "Publish every --expose'd port on a free host port");
  run->add_option("--expose", run_flags.expose, "Expose a port or range: PORT[/tcp|udp]")
      ->allow_extra_args(false);
  run->add_option("-e,--env", run_flags.env, "Set an environment variable: NAME=VALUE, or NAME")
      ->allow_extra_args(false);
  run->add_option("--env-file", run_flags.env_files, "Read environment variables from a file")
      ->allow_extra_args(false);
  run->add_option("-w,--workdir", run_flags.workdir, "Working directory of the command");
  run->add_option("-u,--user", run_flags.user, "Run as USER[:GROUP] (names or numbers)");
  run->add_option("--add-host", run_flags.add_hosts, "Add HOST:IP to the container's /etc/hosts")
      ->allow_extra_args(false);
  run->add_option("--restart", run_flags.restart,
                  "Restart policy: no, on-failure[:N], always, unless-stopped");
  run->add_option("-l,--label", run_flags.labels, "Set a label KEY=VALUE (ps --filter label=)")
      ->allow_extra_args(false);
  run->add_flag("-i,--interactive", run_flags.interactive, "Keep stdin open (with -t: relay it)");
  run->add_flag("-t,--tty", run_flags.tty, "A pseudo-terminal for the command (with -i: a shell)");
  run->add_flag("--init", run_flags.init,
                "A minimal init as PID 1: signals reach the command, orphans are reaped");
  run->add_option("--pid", run_flags.pid, "PID namespace: private (default) or host");
  run->add_option("--ipc", run_flags.ipc, "IPC namespace: private (default) or host");
  std::string mac_address;
  auto* mac_opt = run->add_option("--mac-address", mac_address, "MAC address of eth0");
  // Everything from the first positional on (or after --) is the command, untouched.
  run->fallthrough(false);  // the command itself is cut off before parsing (SplitCommand)
  run->footer("Usage: berth run [OPTIONS] [--] COMMAND [ARG...]");
  Example(run,
          "  berth run -d --name web -p 8080:80 -e MODE=prod -- busybox httpd -f -p 80\n"
          "  berth run -it --rm -- sh");
  run->callback([&] {
    if (*ip_opt) run_req.ip = run_ip;
    if (*mac_opt) run_req.mac = mac_address;
    action = [&] { return Run(g, run_req, publish, detach, run_flags); };
  });

  // exec
  std::string exec_name;
  std::vector<std::string> exec_cmd;
  auto* exec = app.add_subcommand("exec", "Run a command inside a running container");
  exec->add_option("container", exec_name)->required();
  runtime::ExecOptions exec_opts;
  std::vector<std::string> exec_env_files;
  exec->add_flag("-i,--interactive", exec_opts.interactive, "Keep stdin open (with -t: relay it)");
  exec->add_flag("-t,--tty", exec_opts.tty, "A pseudo-terminal for the command");
  exec->add_flag("-d,--detach", exec_opts.detach, "Run the command in the background");
  exec->add_option("-e,--env", exec_opts.env, "Set an environment variable: NAME=VALUE, or NAME")
      ->allow_extra_args(false);
  exec->add_option("--env-file", exec_env_files, "Read environment variables from a file")
      ->allow_extra_args(false);
  exec->add_option("-w,--workdir", exec_opts.workdir, "Working directory of the command");
  exec->add_option("-u,--user", exec_opts.user, "Run as USER[:GROUP] (names or numbers)");
  exec->fallthrough(false);
  exec->footer("Usage: berth exec [OPTIONS] CONTAINER [--] COMMAND [ARG...]");
  Example(exec, "  berth exec -it web sh\n  berth exec -e DEBUG=1 web -- env");
  exec->callback(
      [&] { action = [&] { return Exec(g, exec_name, exec_cmd, exec_opts, exec_env_files); }; });

  auto* ps = app.add_subcommand("ps", "List containers");
  ps->add_flag("-a,--all", all, "Show all containers (default: running)");
  bool quiet = false;
  std::vector<std::string> filters;
  ps->add_flag("-q,--quiet", quiet, "Only print container IDs");
  ps->add_option("-f,--filter", filters,
                 "Filter KEY=VALUE: name, id, network, label (KEY or KEY=VALUE), status")
      ->allow_extra_args(false);
  AddFormat(ps, g);
  Example(ps, "  berth ps -a --filter status=exited -q\n  berth ps --filter network=web");
  ps->callback([&] { action = [&] { return Ps(g, all, quiet, filters); }; });

  auto* rm = app.add_subcommand("rm", "Remove containers");
  rm->add_flag("-f,--force", force, "Kill running containers first");
  rm->add_option("names", names)->required();
  Example(rm, "  berth rm -f web");
  rm->callback([&] { action = [&] { return Remove(g, names, force); }; });

  auto* inspect = app.add_subcommand("inspect", "Show containers (JSON)");
  inspect->add_option("names", names)->required();
  Example(inspect, "  berth inspect web");
  AddFormat(inspect, g, "-f,--format");
  inspect->callback([&] { action = [&] { return Inspect(g, names); }; });

  // Lifecycle.
  bool attach = false;
  auto* start = app.add_subcommand("start", "Start stopped containers (as they were run)");
  start->add_flag("-a,--attach", attach, "In the foreground: output here, its exit status");
  start->add_option("names", names)->required();
  Example(start, "  berth start web\n  berth start -a job");
  start->callback([&] { action = [&] { return Start(g, names, attach); }; });

  int stop_timeout = runtime::kStopTimeout;
  auto* stop = app.add_subcommand("stop", "Stop containers: SIGTERM, then SIGKILL after -t");
  stop->add_option("-t,--time,--timeout", stop_timeout,
                   "Seconds to wait for it to exit before SIGKILL (default 10)");
  stop->add_option("names", names)->required();
  Example(stop, "  berth stop -t 2 web");
  stop->callback([&] { action = [&] { return Stop(g, names, stop_timeout); }; });

  auto* restart = app.add_subcommand("restart", "Stop and start containers again");
  restart->add_option("-t,--time,--timeout", stop_timeout,
                      "Seconds to wait for it to exit before SIGKILL (default 10)");
  restart->add_option("names", names)->required();
  Example(restart, "  berth restart web");
  restart->callback([&] { action = [&] { return Restart(g, names, stop_timeout); }; });

  std::string kill_signal = "KILL";
  auto* kill = app.add_subcommand("kill", "Send a signal to containers (default SIGKILL)");
  kill->add_option("-s,--signal", kill_signal, "Signal name or number (KILL, SIGHUP, 15...)");
  kill->add_option("names", names)->required();
  Example(kill, "  berth kill -s HUP web");
  kill->callback([&] { action = [&] { return Kill(g, names, kill_signal); }; });

  std::string one_name, tail = "all";
  bool follow = false, timestamps = false;
  auto* logs = app.add_subcommand("logs", "Show what a detached container wrote");
  logs->add_flag("-f,--follow", follow, "Keep printing new output until the container exits");
  logs->add_option("-n,--tail", tail, "Number of lines from the end (default all)");
  logs->add_flag("-t,--timestamps", timestamps, "Prefix each line with the time it was written");
  logs->add_option("name", one_name)->required();
  Example(logs, "  berth logs --tail 20 -f web");
  logs->callback([&] {
    action = [&] {
      int n = -1;
      if (tail != "all") {
        char* end = nullptr;
        long v = std::strtol(tail.c_str(), &end, 10);
        if (tail.empty() || *end || v < 0) {
          std::fprintf(stderr, "berth: error: --tail %s: a number or all\n", tail.c_str());
          return kExitUsage;
        }
        n = static_cast<int>(v);
      }
      return Logs(g, one_name, follow, n, timestamps);
    };
  });

  std::string port_spec;
  auto* port = app.add_subcommand("port", "List a container's published ports");
  port->add_option("name", one_name)->required();
  port->add_option("port", port_spec, "PORT[/PROTO]: only where this container port goes");
  Example(port, "  berth port web\n  berth port web 80/tcp");
  port->callback([&] { action = [&] { return Port(g, one_name, port_spec); }; });

  auto* top = app.add_subcommand("top", "List a container's processes");
  top->add_option("name", one_name)->required();
  Example(top, "  berth top web");
  top->callback([&] { action = [&] { return Top(g, one_name); }; });

  auto* wait = app.add_subcommand("wait", "Wait until containers exit, print their exit codes");
  wait->add_option("names", names)->required();
  Example(wait, "  berth wait job");
  wait->callback([&] { action = [&] { return WaitFor(g, names); }; });

  auto* version = app.add_subcommand("version", "Show berth's version");
  AddFormat(version, g, "-f,--format");
  Example(version, "  berth version\n  berth version --format '{{.Client.Version}}'");
  version->callback([&] {
    action = [&] { return Version(g); };
  });

  // `berth container VERB`: rewritten to VERB below; here for --help and completion.
  auto* container = app.add_subcommand(
      "container", "Manage containers: container ls|run|exec|rm|inspect|start|stop|restart|"
                   "kill|logs|port|top|wait are the top-level verbs");
  Example(container, "  berth container ls -a");
  container->callback([&] {
    action = [&] {
      std::fprintf(stderr, "%s", container->help().c_str());
      return kExitUsage;
    };
  });

  // Internal: what a detached container's monitor execs when the container has exited.
  std::string exited_id;
  int exited_code = 0, exited_pid = 0;
  auto* exited = app.add_subcommand(runtime::kContainerExitedVerb, "")->group("");
  exited->add_option("id", exited_id)->required();
  exited->add_option("exit_code", exited_code)->required();
  exited->add_option("pid", exited_pid);
  exited->callback([&] {
    action = [&] { return ContainerExited(g, exited_id, exited_code, exited_pid); };
  });

  // cluster ... and node ...: multi-host networking on etcd.
  EtcdFlags etcd_flags;
  auto add_etcd = [&](CLI::App* cmd, bool required) {
    auto* o = cmd->add_option("--etcd", etcd_flags.endpoints, "etcd endpoints: URL[,URL...]");
    if (required) o->required();
    cmd->add_option("--etcd-prefix", etcd_flags.prefix, "Key prefix in etcd (default /berth)");
    cmd->add_option("--etcd-cacert", etcd_flags.cacert, "CA certificate to verify etcd (TLS)");
    cmd->add_option("--etcd-cert", etcd_flags.cert, "Client certificate for etcd (TLS)");
    cmd->add_option("--etcd-key", etcd_flags.key, "Client key for etcd (TLS)");
  };
  auto* clus = app.add_subcommand("cluster", "Multi-host networking: per-host subnets from etcd");
  clus->require_subcommand(1);
  ClusterInitFlags init_flags;
  auto* cinit = clus->add_subcommand("init", "Write the cluster's config to etcd (once)");
  add_etcd(cinit, true);
  cinit->add_option("--cidr", init_flags.cidr, "The cluster's CIDR, e.g. 10.244.0.0/16")
      ->required();
  cinit->add_option("--subnet-len", init_flags.subnet_len, "Prefix length of each node's subnet "
                                                           "(default 24)");
  cinit->add_option("--backend", init_flags.backend,
                    "vxlan (default), host-gw (same L2 only) or auto (host-gw where possible)")
      ->check(CLI::IsMember({"vxlan", "host-gw", "auto"}));
  cinit->add_option("--vni", init_flags.vni, "VXLAN network identifier (default 1)");
  cinit->add_option("--port", init_flags.port, "VXLAN UDP port (default 8472)");
  Example(cinit, "  berth cluster init --etcd http://10.0.0.5:2379 --cidr 10.244.0.0/16 "
                 "--backend auto");
  cinit->callback([&] { action = [&] { return ClusterInit(g, etcd_flags, init_flags); }; });
  ClusterJoinFlags join_flags;
  auto* cjoin = clus->add_subcommand(
      "join", "Join this host: get a subnet, create the network `cluster`, start the agent");
  add_etcd(cjoin, true);
  cjoin->add_option("--node", join_flags.node, "This node's name in the cluster")->required();
  cjoin->add_option("--node-ip", join_flags.node_ip, "This host's address on the underlay")
      ->required();
  cjoin->add_option("--iface", join_flags.iface, "Underlay device (default: the one holding "
                                                 "--node-ip)");
  cjoin->add_option("--mtu", join_flags.mtu, "MTU of the cluster network (default: the "
                                             "underlay's, minus 50 for vxlan)");
  Example(cjoin, "  berth cluster join --etcd http://10.0.0.5:2379 --node h1 --node-ip 10.0.0.1\n"
                 "  berth run -d --network cluster --name web -- busybox httpd -f -p 80");
  cjoin->callback([&] { action = [&] { return ClusterJoin(g, etcd_flags, join_flags); }; });
  auto* cleave = clus->add_subcommand(
      "leave", "Leave the cluster: give the subnet back, remove the network `cluster`");
  bool leave_force = false;
  cleave->add_flag("--force", leave_force,
                   "Leave this host even when etcd is unreachable: the subnet stays held in "
                   "etcd until `berth node rm NAME` is run from a node that reaches it");
  Example(cleave, "  berth cluster leave\n"
                  "  berth cluster leave --force   # etcd is gone for good");
  cleave->callback([&] { action = [&] { return ClusterLeave(g, leave_force); }; });

  auto* node = app.add_subcommand("node", "The nodes of the cluster");
  node->require_subcommand(1);
  auto* nodels = node->add_subcommand("ls", "List the nodes: subnet, path from here, readiness")
                     ->alias("list");
  add_etcd(nodels, false);
  AddFormat(nodels, g);
  Example(nodels, "  berth node ls --format json");
  nodels->callback([&] { action = [&] { return NodeList(g, etcd_flags); }; });
  auto* noderm = node->add_subcommand("rm", "Remove dead nodes and free their subnets")
                     ->alias("remove");
  add_etcd(noderm, false);
  noderm->add_option("names", names)->required();
  Example(noderm, "  berth node rm h3");
  noderm->callback([&] { action = [&] { return NodeRemove(g, etcd_flags, names); }; });

  auto* info = app.add_subcommand(
      "info", "Show containers, networks, firewall, berthd, kernel features and config");
  AddFormat(info, g);
  Example(info, "  berth info\n  berth info --format '{{.ContainersRunning}} {{.Firewall.InSync}}'");
  info->callback([&] { action = [&] { return Info(g); }; });
  std::string why_src, why_dst;
  auto* why = app.add_subcommand(
      "why", "Try a connection from SRC (a container or `host`) to DST and explain the outcome");
  why->add_option("SRC", why_src, "A container, or host")->required();
  why->add_option("DST", why_dst, "NAME|IP|localhost[:PORT][/udp]")->required();
  AddFormat(why, g);
  Example(why, "  berth why web db:5432\n  berth why host web:80 --format json");
  why->callback([&] { action = [&] { return Why(g, why_src, why_dst); }; });
  std::string topo_format = "text";
  auto* topo = app.add_subcommand(
      "topo", "Show the host's container network: bridges, veth pairs, addresses, ports");
  topo->add_option("--format", topo_format,
                   "text (default), json, dot (Graphviz) or svg (drawn with libgvc6)")
      ->check(CLI::IsMember({"text", "table", "json", "dot", "svg"}));
  Example(topo, "  berth topo\n  berth topo --format svg > topo.svg");
  topo->callback([&] { action = [&] { return Topo(g, topo_format); }; });
  std::string events_since;
  bool events_follow = false;
  auto* events = app.add_subcommand(
      "events", "Show what happened: networks, containers, attaches, ports, firewall restores");
  events->add_option("--since", events_since,
                     "Only events newer than this: 30s, 10m, 2h, 1d, or unix seconds");
  events->add_flag("-f,--follow", events_follow, "Then keep printing new events until Ctrl-C");
  events->add_option("--format", g.format, "text (default) or json (one object per line)")
      ->check(CLI::IsMember({"table", "json"}));
  Example(events, "  berth events --since 10m\n  berth events -f --format json");
  events->callback([&] { action = [&] { return Events(g, events_since, events_follow); }; });
  std::string trace_src, trace_dst;
  int trace_watch = 0;
  auto* trace = app.add_subcommand(
      "trace", "Follow a packet from SRC to DST through nftables (each rule, NAT, the way out)");
  trace->add_option("SRC", trace_src, "A container, host, or a netns file")->required();
  trace->add_option("DST", trace_dst, "NAME|IP|localhost[:PORT][/udp|/icmp]")->required();
  trace->add_option("--watch", trace_watch, "Follow real traffic to DST for SECONDS instead of a probe")
      ->check(CLI::Range(1, 3600));
  AddFormat(trace, g);
  Example(trace, "  berth trace a b:80\n  berth trace /run/netns/lan 203.0.113.1:8080");
  trace->callback([&] { action = [&] { return Trace(g, trace_src, trace_dst, trace_watch); }; });
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

  auto* demo = app.add_subcommand("demo",
                                  "Two containers on one bridge, pinging each other, built in "
                                  "throwaway namespaces");
  Example(demo, "  berth demo");
  demo->callback([&] { action = [&] { return Demo(); }; });

  std::string shell;
  auto* completion = app.add_subcommand("completion", "Print a shell completion script");
  completion->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  Example(completion,
          "  source <(berth completion bash)\n"
          "  berth completion zsh > \"${fpath[1]}/_berth\"");
  completion->callback([&] {
    action = [&] {
      std::string script = shell == "bash" ? BashCompletion(Describe(app)) : ZshCompletion(Describe(app));
      std::fwrite(script.data(), 1, script.size(), stdout);
      return 0;
    };
  });
  std::vector<std::string> man_verb;
  std::string man_dir;
  auto* man = app.add_subcommand("man", "Print a verb's manual page (troff), or write them all");
  man->add_option("verb", man_verb, "The verb, e.g. run or network create (none: berth(1))");
  man->add_option("--output-dir", man_dir, "Write every page (berth.1, berth-run.1...) here");
  Example(man, "  berth man run | man -l -\n  berth man --output-dir /usr/share/man/man1");
  man->callback([&] {
    action = [&] {
      CommandInfo tree = Describe(app);
      if (!man_dir.empty()) {
        Status st = WriteManPages(tree, man_dir);
        return st.ok() ? 0 : Fail(st.error());
      }
      auto page = ManPage(tree, man_verb);
      if (!page.ok()) return Fail(page.error(), kExitUsage);
      std::fwrite(page->data(), 1, page->size(), stdout);
      return 0;
    };
  });

  // The verb is the first argument that is neither a global option nor its value.
  int verb_at = 1;
  while (verb_at < argc && argv[verb_at][0] == '-') {
    std::string_view a = argv[verb_at];
    verb_at += (a == "--root") ? 2 : 1;
  }
  // `container VERB ...` is `VERB ...` (`container ls` is `ps`).
  std::vector<char*> args(argv, argv + argc);
  const char* alias = verb_at + 1 < argc ? ContainerAlias(argv[verb_at + 1]) : nullptr;
  if (verb_at < argc && std::string_view(argv[verb_at]) == "container" && alias) {
    args.erase(args.begin() + verb_at);
    args[verb_at] = const_cast<char*>(alias);
    argc = static_cast<int>(args.size());
    argv = args.data();
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
  for (const CLI::App* verb : {network, service, run, exec, ps, rm, inspect, start, restart}) {
    if (!verb->parsed()) continue;
    Status st = engine::EnsureBerthdIfWanted(engine::Paths{g.root});
    if (!st.ok()) std::fprintf(stderr, "berth: warning: DNS: %s\n", st.error().message().c_str());
    break;
  }
  return action ? action() : 0;
}

}  // namespace berth::cli
