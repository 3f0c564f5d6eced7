// berth start | stop | restart | kill | logs | port | top | wait | version
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/render.h"
#include "core/template.h"
#include "core/version.h"
#include "engine/wiring.h"
#include "runtime/lifecycle.h"
#include "runtime/run.h"

namespace berth::cli {

namespace {

// Runs `verb` for each name, printing the name of those that worked (Docker's output); the
// exit status is 1 when any failed.
int ForEach(const Globals& g, const std::vector<std::string>& names,
            const std::function<Status(engine::Engine&, const std::string&)>& verb) {
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  int rc = 0;
  for (const std::string& name : names) {
    Status st = verb(**engine, name);
    if (!st.ok()) {
      rc = Fail(st.error());
    } else {
      std::printf("%s\n", name.c_str());
      std::fflush(stdout);
    }
  }
  return rc;
}

}  // namespace

int Start(const Globals& g, const std::vector<std::string>& names, bool attach) {
  if (attach) {
    if (names.size() != 1) {
      return Fail(Error::Invalid("you cannot start and attach multiple containers at once"), 125);
    }
    auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
    if (!engine.ok()) return Fail(engine.error());
    auto r = runtime::Start(**engine, names[0], true);
    if (!r.ok()) return Fail(r.error());
    return r->exit_code;
  }
  return ForEach(g, names, [](engine::Engine& e, const std::string& name) -> Status {
    BERTH_TRY(runtime::Start(e, name, false));
    return Ok();
  });
}

int Stop(const Globals& g, const std::vector<std::string>& names, int timeout) {
  return ForEach(g, names, [timeout](engine::Engine& e, const std::string& name) {
    return runtime::Stop(e, name, timeout);
  });
}

int Restart(const Globals& g, const std::vector<std::string>& names, int timeout) {
  return ForEach(g, names, [timeout](engine::Engine& e, const std::string& name) -> Status {
    BERTH_TRY(runtime::Stop(e, name, timeout));
    BERTH_TRY(runtime::Start(e, name, false));
    return Ok();
  });
}

int Kill(const Globals& g, const std::vector<std::string>& names, const std::string& signal) {
  auto sig = runtime::ParseSignal(signal);
  if (!sig.ok()) return Fail(sig.error(), 125);
  return ForEach(g, names, [sig = *sig](engine::Engine& e, const std::string& name) {
    return runtime::Kill(e, name, sig);
  });
}

int Logs(const Globals& g, const std::string& name, bool follow, int tail, bool timestamps) {
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  runtime::LogOptions options{follow, tail};
  // --timestamps: the log keeps no time per line; each line is stamped when it is read.
  bool at_line_start = true;
  Status st = runtime::Logs(**engine, name, options, [&](std::string_view text) {
    if (!timestamps) {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      for (char ch : text) {
        if (at_line_start) {
          char stamp[64];
          timespec ts;
          clock_gettime(CLOCK_REALTIME, &ts);
          tm t;
          gmtime_r(&ts.tv_sec, &t);
          size_t n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &t);
          std::snprintf(stamp + n, sizeof(stamp) - n, ".%09ldZ ", ts.tv_nsec);
          std::fputs(stamp, stdout);
        }
        std::fputc(ch, stdout);
        at_line_start = ch == '\n';
      }
    }
    std::fflush(stdout);
  });
  return st.ok() ? 0 : Fail(st.error());
}

int Port(const Globals& g, const std::string& name, const std::string& port) {
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  auto s = (*engine)->InspectContainer(name);
  if (!s.ok()) return Fail(s.error());
  // PORT or PORT/PROTO (tcp when not given), as Docker.
  std::string want_port = port.substr(0, port.find('/'));
  std::string want_proto =
      port.find('/') == std::string::npos ? "" : port.substr(port.find('/') + 1);
  if (!port.empty() && want_proto.empty()) want_proto = "tcp";
  int shown = 0;
  for (const auto& e : s->endpoints) {
    for (const PortMapping& p : e.endpoint.ports) {
      for (int i = 0; i < p.count; ++i) {
        std::string proto = p.protocol == Protocol::kTcp ? "tcp" : "udp";
        std::string cport = std::to_string(p.container_port + i);
        if (!port.empty() && (cport != want_port || proto != want_proto)) continue;
        std::string host = p.host_ip.IsUnspecified() ? "0.0.0.0" : p.host_ip.ToString();
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        std::string mapped = host + ":" + std::to_string(p.host_port + i);
        if (port.empty()) {
          std::printf("%s/%s -> %s\n", cport.c_str(), proto.c_str(), mapped.c_str());
        } else {
          std::printf("%s\n", mapped.c_str());
        }
        ++shown;
      }
    }
  }
  if (!port.empty() && shown == 0) {
    return Fail(Error::NotFound("no public port '" + want_port + "/" + want_proto +
                                "' published for " + s->container.name));
  }
  return 0;
}

int Top(const Globals& g, const std::string& name) {
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  auto rows = runtime::Top(**engine, name);
  if (!rows.ok()) return Fail(rows.error());
  std::cout << Table({"PID", "UID", "PPID", "CMD"}, *rows);
  return 0;
}

int WaitFor(const Globals& g, const std::vector<std::string>& names) {
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  int rc = 0;
  for (const std::string& name : names) {
    auto code = runtime::Wait(**engine, name);
    if (!code.ok()) {
      rc = Fail(code.error());
      continue;
    }
    std::printf("%d\n", *code);
    std::fflush(stdout);
  }
  return rc;
}

int Version(const Globals& g) {
  utsname u = {};
  ::uname(&u);
  if (g.format == "json" || IsTemplate(g.format)) {
    // Docker's shape: `{{.Client.Version}}`; berth has no server it needs, berthd is optional.
    nlohmann::json doc = {{"client",
                           {{"version", BERTH_VERSION},
                            {"compiler", __VERSION__},
                            {"os", "linux"},
                            {"arch", u.machine},
                            {"kernel_version", u.release}}},
                          {"state_root", g.root}};
    if (g.format == "json") {
      std::cout << doc.dump(2) << "\n";
      return 0;
    }
    auto t = tmpl::Template::Parse(g.format);
    if (!t.ok()) return Fail(t.error(), 125);
    auto out = t->Execute(doc);
    if (!out.ok()) return Fail(out.error());
    std::cout << *out << "\n";
    return 0;
  }
  std::printf("berth:\n");
  std::printf(" Version:        %s\n", BERTH_VERSION);
  std::printf(" Compiler:       %s\n", __VERSION__);
  std::printf(" OS/Arch:        linux/%s\n", u.machine);
  std::printf(" Kernel:         %s\n", u.release);
  std::printf(" State root:     %s\n", g.root.c_str());
  std::printf(" Daemon needed:  no (berthd adds DNS, reconcile and metrics)\n");
  return 0;
}

}  // namespace berth::cli
