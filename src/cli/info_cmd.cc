// berth info: what berth found on this host. For now the other firewall managers (Docker's
// iptables chains, firewalld, br_netfilter) and what berth does about each; --format json for
// scripts. Also the internal `berth system firewall-sync` that berthd's reconcile runs.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "coexist/coexist.h"
#include "engine/wiring.h"

namespace berth::cli {

namespace {

Result<std::vector<std::string>> Bridges(const Globals& g) {
  BERTH_ASSIGN_OR_RETURN(auto engine, engine::Engine::Open(g.root, engine::KernelWiring(g.root)));
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> nets, engine->ListNetworks());
  return coexist::BridgesOf(nets);
}

int Print(const Globals& g, const coexist::Report& report) {
  if (g.format == "json") {
    nlohmann::json fw = nlohmann::json::array();
    for (const coexist::Finding& f : report.findings) {
      nlohmann::json j = {
          {"manager", f.manager}, {"present", f.present}, {"state", f.state}, {"action", f.action}};
      if (!f.error.empty()) j["error"] = f.error;
      fw.push_back(std::move(j));
    }
    std::cout << nlohmann::json{{"firewall_managers", fw}}.dump(2) << "\n";
  } else {
    std::cout << "Firewall managers:\n";
    for (const coexist::Finding& f : report.findings) {
      std::cout << "  " << f.manager << ": " << (f.present ? "found" : "not found") << " ("
                << f.state << ")\n    berth: " << (f.error.empty() ? f.action : "error: " + f.error)
                << "\n";
    }
  }
  return report.ok() ? 0 : 1;
}

}  // namespace

int Info(const Globals& g) {
  auto bridges = Bridges(g);
  if (!bridges.ok()) return Fail(bridges.error());
  return Print(g, coexist::Inspect(*bridges));
}

int FirewallSync(const Globals& g) {
  auto bridges = Bridges(g);
  if (!bridges.ok()) return Fail(bridges.error());
  return Print(g, coexist::Sync(*bridges));
}

}  // namespace berth::cli
