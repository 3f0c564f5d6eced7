// `berth info`'s kernel features: what the kernel offers berth (nftables, bridge, veth, vxlan,
// macvlan, br_netfilter, IPv6, forwarding), found by reading only: nothing is loaded or set.
// A feature is found as a loaded module (/proc/modules, /sys/module/X/initstate), built into
// the kernel (/sys/module/X, modules.builtin, or its code in /proc/kallsyms), or a module the
// kernel would load on first use (modules.dep). Kernels without modules (a VM's) leave only
// kallsyms to tell.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace berth::cli {

struct KernelFeature {
  std::string name;    // "vxlan", "ipv6"
  bool found = false;  // usable now or on first use
  std::string detail;  // "module loaded", "built in", "module, loaded on first use", ...
};

/// What the host shows about its modules, read once (ReadHostView) or made up by tests.
struct HostView {
  std::set<std::string> loaded;    // /proc/modules
  std::set<std::string> sys_module;  // /sys/module/X exists (built in with parameters, or loaded)
  std::set<std::string> builtin;   // modules.builtin (names without .ko)
  std::set<std::string> loadable;  // modules.dep
  // A feature's marker symbols found in /proc/kallsyms: symbol -> its module ("" built in).
  std::map<std::string, std::string> symbols;
  bool ipv6_present = false, ipv6_disabled = false;  // /proc/sys/net/ipv6/conf/all/disable_ipv6
  std::string ip_forward;  // /proc/sys/net/ipv4/ip_forward ("" unreadable)
  bool bridge_nf_sysctls = false;  // /proc/sys/net/bridge (br_netfilter's)
};

/// The marker symbols ReadHostView looks for in /proc/kallsyms.
std::vector<std::string> MarkerSymbols();

/// Reads /proc, /sys and /lib/modules/RELEASE; `release` as uname gives it.
HostView ReadHostView(const std::string& release);

/// The features, in a fixed order, as `view` shows them. Pure.
std::vector<KernelFeature> DetectKernelFeatures(const HostView& view);

}  // namespace berth::cli
