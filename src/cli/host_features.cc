#include "cli/host_features.h"

#include <unistd.h>

#include <fstream>

#include "sys/proc.h"

namespace berth::cli {

namespace {

struct ModuleFeature {
  const char* name;
  const char* module;
  const char* symbol;  // a function only this feature's code has
};

constexpr ModuleFeature kModules[] = {
    {"nftables", "nf_tables", "nf_tables_newtable"},
    {"bridge", "bridge", "br_dev_xmit"},
    {"veth", "veth", "veth_newlink"},
    {"vxlan", "vxlan", "vxlan_xmit"},
    {"macvlan", "macvlan", "macvlan_start_xmit"},
    {"br_netfilter", "br_netfilter", "br_nf_pre_routing"},
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// "kernel/drivers/net/vxlan/vxlan.ko.zst: deps" or "kernel/net/bridge/bridge.ko": "vxlan".
std::string ModuleName(const std::string& line) {
  std::string path = line.substr(0, line.find(':'));
  path = path.substr(path.rfind('/') + 1);
  path = path.substr(0, path.find(".ko"));
  for (char& c : path) c = c == '-' ? '_' : c;
  return path;
}

std::set<std::string> ModulesListed(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.insert(ModuleName(line));
  }
  return out;
}

}  // namespace

std::vector<std::string> MarkerSymbols() {
  std::vector<std::string> out;
  for (const ModuleFeature& m : kModules) out.push_back(m.symbol);
  return out;
}

HostView ReadHostView(const std::string& release) {
  HostView v;
  std::ifstream modules("/proc/modules");
  for (std::string line; std::getline(modules, line);) v.loaded.insert(line.substr(0, line.find(' ')));
  for (const ModuleFeature& m : kModules) {
    if (::access(("/sys/module/" + std::string(m.module)).c_str(), F_OK) == 0) {
      v.sys_module.insert(m.module);
    }
  }
  std::string dir = "/lib/modules/" + release + "/";
  v.builtin = ModulesListed(dir + "modules.builtin");
  v.loadable = ModulesListed(dir + "modules.dep");
  // "ffffffffc0a01234 t vxlan_xmit\t[vxlan]": one pass over the kernel's symbols.
  std::set<std::string> wanted;
  for (const std::string& s : MarkerSymbols()) wanted.insert(s);
  std::ifstream syms("/proc/kallsyms");
  for (std::string line; std::getline(syms, line) && v.symbols.size() < wanted.size();) {
    size_t a = line.find(' ');
    size_t b = a == std::string::npos ? a : line.find(' ', a + 1);
    if (b == std::string::npos) continue;
    size_t end = line.find_first_of(" \t", b + 1);
    std::string name = line.substr(b + 1, end == std::string::npos ? end : end - b - 1);
    if (!wanted.count(name)) continue;
    std::string module;
    if (size_t open = line.find('[', b); open != std::string::npos) {
      module = line.substr(open + 1, line.find(']', open) - open - 1);
    }
    v.symbols[name] = module;
  }
  auto disabled = sys::ReadFile("/proc/sys/net/ipv6/conf/all/disable_ipv6");
  v.ipv6_present = disabled.ok();
  v.ipv6_disabled = disabled.ok() && Trim(*disabled) == "1";
  auto forward = sys::ReadFile("/proc/sys/net/ipv4/ip_forward");
  if (forward.ok()) v.ip_forward = Trim(*forward);
  v.bridge_nf_sysctls = ::access("/proc/sys/net/bridge", F_OK) == 0;
  return v;
}

std::vector<KernelFeature> DetectKernelFeatures(const HostView& v) {
  std::vector<KernelFeature> out;
  for (const ModuleFeature& m : kModules) {
    KernelFeature f{m.name, true, ""};
    auto sym = v.symbols.find(m.symbol);
    if (v.loaded.count(m.module) || (sym != v.symbols.end() && !sym->second.empty())) {
      f.detail = "module loaded";
    } else if (v.builtin.count(m.module) || v.sys_module.count(m.module) ||
               (sym != v.symbols.end() && sym->second.empty())) {
      f.detail = "built in";  // in /sys/module but not /proc/modules: no module to load
    } else if (v.loadable.count(m.module)) {
      f.detail = "module, loaded on first use";
    } else {
      f = {m.name, false, "not found"};
    }
    // br_netfilter's sysctls appear only while it is loaded: a second witness.
    if (std::string(m.name) == "br_netfilter" && !f.found && v.bridge_nf_sysctls) {
      f = {m.name, true, "loaded"};
    }
    out.push_back(std::move(f));
  }
  if (!v.ipv6_present) {
    out.push_back({"ipv6", false, "not found"});
  } else {
    out.push_back({"ipv6", !v.ipv6_disabled,
                   v.ipv6_disabled ? "disabled (net.ipv6.conf.all.disable_ipv6=1)" : "enabled"});
  }
  if (v.ip_forward.empty()) {
    out.push_back({"ip_forward", false, "unknown"});
  } else {
    // berth turns it on when a network needs it; off only means no network has yet.
    out.push_back({"ip_forward", v.ip_forward == "1", "net.ipv4.ip_forward=" + v.ip_forward});
  }
  return out;
}

}  // namespace berth::cli
