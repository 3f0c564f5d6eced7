// berth demo: the two-containers-on-one-bridge topology (two containers on one bridge, a ping each way) built by the
// real CLI inside throwaway namespaces, narrated step by step. The machine is never touched:
// everything lives in a network and mount namespace that disappear when the demo exits.
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "net/links.h"
#include "runtime/sandbox.h"
#include "sys/subprocess.h"

namespace berth::cli {

namespace {

constexpr char kRoot[] = "/run/berth-demo";

struct Output {
  int rc = -1;
  std::string text;
};

// Runs `berth --root kRoot args...` (this same binary), capturing stdout and stderr.
Output Berth(const std::string& self, const std::vector<std::string>& args) {
  sys::SubprocessSpec spec;
  spec.path = self;
  spec.argv = {self, "--root", kRoot};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.std_out = sys::Stdio::Pipe();
  spec.std_err = sys::Stdio::ToStdout();
  auto done = sys::RunToExit(std::move(spec));
  if (!done.ok()) return Output{-1, done.error().message() + "\n"};
  return Output{done->exit_code, std::move(done->out)};
}

void Say(const char* text) { std::printf("\n# %s\n", text); }

void Indent(const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::printf("    %s\n", text.substr(pos, nl - pos).c_str());
    pos = nl + 1;
  }
}

// Shows a command, runs it, prints its output; false when it failed.
bool Step(const std::string& self, const std::vector<std::string>& args, Output* keep = nullptr) {
  std::string line = "$ berth";
  for (const auto& a : args) line += " " + a;
  std::printf("%s\n", line.c_str());
  Output out = Berth(self, args);
  if (!out.text.empty()) Indent(out.text);
  if (keep) *keep = out;
  if (out.rc != 0) std::printf("    (exit status %d)\n", out.rc);
  return out.rc == 0;
}

void ShowLinks(const char* title, const std::string& netns) {
  auto links = net::ListLinks(netns);
  if (!links.ok()) return;
  std::printf("  %s\n", title);
  for (const auto& l : *links) {
    std::string name = l.name;
    if (l.peer_ifindex && l.peer_ifindex != l.ifindex) name += "@if" + std::to_string(l.peer_ifindex);
    std::printf("    %d: %-26s %-7s %s%s\n", l.ifindex, name.c_str(), l.kind.c_str(),
                l.up ? "UP" : "DOWN", l.master.empty() ? "" : (" master " + l.master).c_str());
  }
}

}  // namespace

namespace {

int Scenario(const std::string& self) {
  bool ok = true;
  Say("1. A user-defined network: a Linux bridge (the switch) holding the gateway address.");
  ok &= Step(self, {"network", "create", "demo"});
  ok &= Step(self, {"network", "ls"});

  Say("2. Two containers, each a process in its own network namespace, plugged into the bridge\n"
      "#    with a veth pair: one end on the bridge, the other end is the container's eth0.");
  ok &= Step(self, {"run", "-d", "--name", "ubuntu-1", "--network", "demo", "--", "sleep", "600"});
  ok &= Step(self, {"run", "-d", "--name", "ubuntu-2", "--network", "demo", "--", "sleep", "600"});
  ok &= Step(self, {"ps"});
  if (!ok) {
    std::fflush(stdout);
    return Fail(Error::Internal("demo: setting up failed (see above)"));
  }

  Output i1;
  Step(self, {"inspect", "ubuntu-1"}, &i1);
  Output i2 = Berth(self, {"inspect", "ubuntu-2"});
  auto j1 = nlohmann::json::parse(i1.text, nullptr, false);
  auto j2 = nlohmann::json::parse(i2.text, nullptr, false);
  if (j1.is_discarded() || j2.is_discarded()) return Fail(Error::Internal("demo: bad inspect"));
  const auto& e1 = j1["networks"]["demo"];
  const auto& e2 = j2["networks"]["demo"];

  Say("3. Which host veth is which container's eth0? The host end's peer index (@ifN) is the\n"
      "#    container eth0's ifindex, and the other way round (the question to answer first\n"
      "#    when a container's traffic goes missing):");
  for (const auto* j : {&j1, &j2}) {
    const auto& e = (*j)["networks"]["demo"];
    std::printf("  host %s (ifindex %s) <-> %s eth0 (ifindex %s)  %s/%d  mac %s  netns inode %s\n",
                e["host_veth"].get<std::string>().c_str(), e["host_ifindex"].dump().c_str(),
                (*j)["name"].get<std::string>().c_str(), e["ifindex"].dump().c_str(),
                e["ip"].get<std::string>().c_str(), e["prefix_len"].get<int>(),
                e["mac"].get<std::string>().c_str(), (*j)["netns"]["inode"].dump().c_str());
  }
  ShowLinks("host side (ip link, in the demo's host namespace):", "");
  ShowLinks("inside ubuntu-1:", j1["netns"]["path"].get<std::string>());

  Say("4. A ping each way. Same subnet, so eth0 ARPs for the peer and the bridge switches the\n"
      "#    frames between the two veths; the default route via the gateway is for everything else.");
  ok &= Step(self, {"exec", "ubuntu-1", "--", "ping", "-c", "3", "-i", "0.2",
                    e2["ip"].get<std::string>()});
  ok &= Step(self, {"exec", "ubuntu-2", "--", "ping", "-c", "3", "-i", "0.2",
                    e1["ip"].get<std::string>()});
  Step(self, {"exec", "ubuntu-1", "--", "cat", "/etc/hosts"});

  Say("5. The same attach as ip(8) commands (what berth does through netlink):");
  Step(self, {"network", "explain", "demo"});

  Say("6. Clean up: remove the containers and the network; nothing berth made is left.");
  ok &= Step(self, {"rm", "-f", "ubuntu-1", "ubuntu-2"});
  ok &= Step(self, {"network", "rm", "demo"});
  ShowLinks("links left in the demo's host namespace:", "");

  std::printf("\n%s\n", ok ? "demo: OK (both pings answered, nothing left behind)"
                           : "demo: FAILED (see the steps above)");
  return ok ? 0 : 1;
}

}  // namespace

int Demo() {
  char self[4096] = {};
  if (::readlink("/proc/self/exe", self, sizeof(self) - 1) < 0) {
    return Fail(Error::System("find the berth binary", errno));
  }
  std::printf(
      "berth demo: two containers on one bridge, pinging each other, built for real.\n"
      "Everything below runs in throwaway network, mount and PID namespaces: this machine's\n"
      "own network is not touched, and all of it disappears when the demo exits.\n");
  auto rc = runtime::RunInThrowawayNamespaces([&] { return Scenario(self); });
  if (!rc.ok()) return Fail(rc.error());
  return *rc;
}

}  // namespace berth::cli
