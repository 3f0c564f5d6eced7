#include "cli/host_features.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

std::map<std::string, KernelFeature> ByName(const HostView& v) {
  std::map<std::string, KernelFeature> out;
  for (const KernelFeature& f : DetectKernelFeatures(v)) out[f.name] = f;
  return out;
}

TEST(HostFeatures, ModulesLoadedBuiltInLoadableOrMissing) {
  HostView v;
  v.loaded = {"vxlan", "nf_tables"};
  v.builtin = {"bridge"};
  v.loadable = {"macvlan", "vxlan", "nf_tables", "br_netfilter"};
  v.ipv6_present = true;
  v.ip_forward = "1";
  auto f = ByName(v);
  EXPECT_EQ(f["vxlan"].detail, "module loaded");
  EXPECT_EQ(f["nftables"].detail, "module loaded");
  EXPECT_EQ(f["bridge"].detail, "built in");
  EXPECT_EQ(f["macvlan"].detail, "module, loaded on first use");
  EXPECT_TRUE(f["macvlan"].found);
  EXPECT_FALSE(f["veth"].found);
  EXPECT_EQ(f["veth"].detail, "not found");
  EXPECT_EQ(f["ipv6"].detail, "enabled");
  EXPECT_TRUE(f["ip_forward"].found);
}

TEST(HostFeatures, AKernelWithoutModulesIsReadFromItsSymbols) {
  // A VM's kernel: no /proc/modules, no /lib/modules; /sys/module and kallsyms tell.
  HostView v;
  v.sys_module = {"bridge"};
  v.symbols = {{"veth_newlink", ""}, {"nf_tables_newtable", ""}, {"br_nf_pre_routing", "br_netfilter"}};
  v.ipv6_present = true;
  v.ipv6_disabled = true;
  v.ip_forward = "0";
  auto f = ByName(v);
  EXPECT_EQ(f["bridge"].detail, "built in");
  EXPECT_EQ(f["veth"].detail, "built in");
  EXPECT_EQ(f["nftables"].detail, "built in");
  EXPECT_EQ(f["br_netfilter"].detail, "module loaded");
  EXPECT_FALSE(f["vxlan"].found);
  EXPECT_FALSE(f["ipv6"].found);
  EXPECT_EQ(f["ip_forward"].detail, "net.ipv4.ip_forward=0");
  // The order is fixed: what `berth info` prints.
  std::vector<std::string> names;
  for (const KernelFeature& k : DetectKernelFeatures(v)) names.push_back(k.name);
  EXPECT_EQ(names, (std::vector<std::string>{"nftables", "bridge", "veth", "vxlan", "macvlan",
                                             "br_netfilter", "ipv6", "ip_forward"}));
}

}  // namespace
}  // namespace berth::cli
