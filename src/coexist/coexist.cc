#include "coexist/coexist.h"

#include <net/if.h>

#include <algorithm>
#include <fstream>

#include "coexist/firewalld.h"
#include "coexist/iptables_backends.h"
#include "core/log.h"

namespace berth::coexist {

namespace {

// br_netfilter makes bridged frames (container to container on one bridge) traverse the
// iptables FORWARD chain too; berth's rules cover them (-i BRIDGE matches the bridge), so
// this is reported, never changed: Docker relies on it.
Finding BrNetfilter() {
  Finding f;
  f.manager = "br_netfilter";
  std::ifstream in("/proc/sys/net/bridge/bridge-nf-call-iptables");
  int on = 0;
  if (!(in >> on)) {
    f.state = "not loaded";
    f.action = "none needed";
    return f;
  }
  f.present = true;
  f.state = std::string("loaded; bridge-nf-call-iptables=") + (on ? "1" : "0");
  f.action = on ? "bridged traffic passes iptables FORWARD: covered by berth's -i/-o rules"
                : "none needed";
  return f;
}

// One iptables variant: read, plan, apply (or describe).
Finding Iptables(const char* name, Result<IptablesState> (*read)(),
                 Status (*apply)(const IptablesState&, const IptablesPlan&),
                 const std::vector<std::string>& bridges, bool do_apply, bool* docker) {
  Finding f;
  f.manager = name;
  auto state = read();
  if (!state.ok()) {
    f.present = true;
    f.error = state.error().message();
    return f;
  }
  f.present = state->table;
  f.state = DescribeState(*state);
  *docker = *docker || state->docker_user;
  IptablesPlan plan = PlanIptables(*state, bridges);
  if (do_apply) {
    Status st = apply(*state, plan);
    if (!st.ok()) f.error = st.error().message();
  }
  f.action = DescribePlan(*state, plan, do_apply);
  return f;
}

Report Run(const std::vector<std::string>& bridges, const std::vector<std::string>& gone,
           bool apply) {
  Report r;
  bool docker = false;
  r.findings.push_back(Iptables("iptables-nft", ReadNft, ApplyNft, bridges, apply, &docker));
  if (LegacyPresent()) {
    r.findings.push_back(
        Iptables("iptables-legacy", ReadLegacy, ApplyLegacy, bridges, apply, &docker));
  } else {
    r.findings.push_back({"iptables-legacy", false, "no legacy filter table", "none needed", ""});
  }
  Finding d{"docker", docker, docker ? "DOCKER-USER chain present" : "no DOCKER-USER chain",
            docker ? "berth's jump sits in DOCKER-USER (Docker's chain for other software); "
                     "Docker's own rules untouched"
                   : "none needed",
            ""};
  r.findings.push_back(std::move(d));
  r.findings.push_back(SyncFirewalld(bridges, gone, apply));
  r.findings.push_back(BrNetfilter());
  return r;
}

}  // namespace

bool Report::ok() const {
  return std::all_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.error.empty(); });
}

std::vector<std::string> BridgesOf(const std::vector<Network>& networks) {
  std::vector<std::string> out;
  for (const Network& n : networks) {
    // Only bridges that exist: the default network's record is always there, its bridge only
    // once a container uses it; so the last network gone leaves nothing of berth's behind.
    if (!n.bridge.empty() && if_nametoindex(n.bridge.c_str()) != 0) out.push_back(n.bridge);
  }
  return out;
}

Report Sync(const std::vector<std::string>& bridges, const std::vector<std::string>& gone) {
  return Run(bridges, gone, true);
}

std::vector<std::string> SyncBridges(const std::vector<std::string>& bridges,
                                     const std::vector<std::string>& gone) {
  std::vector<std::string> present;
  for (const std::string& b : bridges) {
    if (!b.empty() && if_nametoindex(b.c_str()) != 0) present.push_back(b);
  }
  std::vector<std::string> errors;
  for (const Finding& f : Sync(present, gone).findings) {
    if (!f.error.empty()) errors.push_back(f.manager + ": " + f.error);
  }
  return errors;
}

Report Inspect(const std::vector<std::string>& bridges) { return Run(bridges, {}, false); }

void SyncAndWarn(const std::vector<std::string>& bridges, const std::vector<std::string>& gone) {
  for (const Finding& f : Sync(bridges, gone).findings) {
    if (f.error.empty()) continue;
    log::Warn("traffic of berth's bridges may be dropped by another firewall manager",
              {{"manager", f.manager}, {"error", f.error}});
  }
}

}  // namespace berth::coexist
