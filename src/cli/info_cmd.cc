// berth info: what `docker info` tells, for berth: versions, the state root, containers and
// networks, the firewall (berth's nftables table and whether it holds what the store says),
// berthd, the kernel features berth uses, the default bridge's config.json, and the host's
// other firewall managers with what berth does about each. Reads only: nothing is created,
// repaired or loaded. --format json (snake_case keys) or a template (`{{.ContainersRunning}}`:
// the template's folded lookup gives Docker's spellings). Also the internal
// `berth system firewall-sync` that berthd's reconcile runs.
#include <sys/utsname.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/host_features.h"
#include "cli/info_text.h"
#include "coexist/coexist.h"
#include "core/template.h"
#include "core/version.h"
#include "engine/berthd.h"
#include "engine/bridge_config.h"
#include "engine/wiring.h"
#include "firewall/nft_firewall.h"
#include "firewall/render_json.h"
#include "firewall/ruleset.h"
#include "ipam/subnets.h"
#include "sys/proc.h"

namespace berth::cli {

namespace {

using nlohmann::json;

// Pools in config.json's words ({"base", "size"}): runs of same-size neighbours merged into
// the largest aligned base, so berth's defaults (172.18-31/16, the /20s of 192.168/16) read as
// four entries. The same subnets, the same order.
json PoolsJson(const std::vector<Cidr>& pools) {
  struct Run {
    Cidr base;
    int size;
  };
  std::vector<Run> runs;
  for (const Cidr& p : pools) {
    runs.push_back({p, p.prefix()});
    // Two buddies of one size: the first aligned to their union, the second right after it.
    while (runs.size() >= 2) {
      Run& a = runs[runs.size() - 2];
      const Run& b = runs.back();
      int prefix = a.base.prefix();
      if (a.size != b.size || prefix != b.base.prefix() || prefix == 0 ||
          a.base.is_v4() != b.base.is_v4()) {
        break;
      }
      Cidr joined(a.base.addr(), prefix - 1);
      if (joined.Network() != a.base.addr() || !joined.Contains(b.base) ||
          b.base.addr() == a.base.addr()) {
        break;
      }
      a.base = joined;
      runs.pop_back();
    }
  }
  json out = json::array();
  for (const Run& r : runs) out.push_back({{"base", r.base.ToString()}, {"size", r.size}});
  return out;
}

Result<std::vector<std::string>> Bridges(engine::Engine& engine) {
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> nets, engine.ListNetworks());
  return coexist::BridgesOf(nets);
}

json ManagersJson(const coexist::Report& report) {
  json fw = json::array();
  for (const coexist::Finding& f : report.findings) {
    json j = {{"manager", f.manager}, {"present", f.present}, {"state", f.state}, {"action", f.action}};
    if (!f.error.empty()) j["error"] = f.error;
    fw.push_back(std::move(j));
  }
  return fw;
}

void AddContainersAndNetworks(engine::Engine& engine, json& doc) {
  auto containers = engine.ListContainers();
  if (containers.ok()) {
    int running = 0;
    for (const engine::ContainerStatus& c : *containers) running += c.running ? 1 : 0;
    doc["containers"] = containers->size();
    doc["containers_running"] = running;
    doc["containers_stopped"] = static_cast<int>(containers->size()) - running;
  } else {
    doc["containers_error"] = containers.error().message();
  }
  json names = json::array();
  auto nets = engine.ListNetworks();
  if (nets.ok()) {
    for (const Network& n : *nets) names.push_back(n.name);
    names.push_back("host");  // the modes `network ls` lists beside them, as Docker does
    names.push_back("none");
  } else {
    doc["networks_error"] = nets.error().message();
  }
  doc["networks"] = names;
}

// Whether berth's table holds what the store says, by listing it (as `reconcile` compares).
json FirewallJson(engine::Engine& engine) {
  json j = {{"backend", "nftables"}, {"table", std::string("inet ") + firewall::kTable}};
  // Between operations: one in flight changes the kernel before it commits. The store's write
  // lock, taken and never committed, waits for it and keeps the next one out while we look.
  auto between = engine.store().Write();
  if (!between.ok()) {
    j["in_sync"] = false;
    j["error"] = between.error().message();
    return j;
  }
  auto state = engine.FirewallState();
  auto fw = firewall::NftFirewall::Open();
  if (!state.ok() || !fw.ok()) {
    j["in_sync"] = false;
    j["error"] = (state.ok() ? fw.error() : state.error()).message();
    return j;
  }
  std::string listing;
  if (!(*fw)->Run(firewall::JsonListTable(firewall::BerthRuleset().table), &listing).ok()) {
    listing.clear();  // no table: Differences says so
  }
  std::vector<std::string> diff = firewall::Differences(*state, listing);
  // berth makes its table with the first network that needs one: none yet is no difference.
  bool nothing_to_hold = state->networks.empty() && state->ports.empty();
  if (listing.empty() && nothing_to_hold) {
    diff.clear();
    j["note"] = "no table yet: no network needs one";
  }
  j["in_sync"] = diff.empty();
  j["differences"] = diff;
  return j;
}

json BerthdJson(const engine::Paths& paths) {
  engine::BerthdProbe probe = engine::ProbeBerthd(paths);
  static const char* kStates[] = {"running", "starting", "not running"};
  json j = {{"running", probe.state == engine::BerthdProbe::kServing},
            {"state", kStates[probe.state]},
            {"socket", paths.berthd_socket()}};
  if (probe.state != engine::BerthdProbe::kGone && probe.pid > 0) j["pid"] = probe.pid;
  if (probe.state != engine::BerthdProbe::kServing) return j;
  auto body = engine::BerthdRequest(paths, "GET", "/v1/status", 1000);
  json status = body.ok() ? json::parse(*body, nullptr, false) : json();
  if (!status.is_object()) {
    j["error"] = body.ok() ? "unreadable status" : body.error().message();
    return j;
  }
  j["pid"] = status.value("pid", probe.pid);
  j["version"] = status.value("version", "");
  const json dns = status.value("dns", json::object());
  j["dns"] = {{"listening", dns.value("listening", json::array())},
              {"networks", dns.value("networks", json::array())},
              {"records", dns.value("records", 0)},
              {"upstreams", dns.value("upstreams", json::array())}};
  return j;
}

json DefaultBridgeJson(const engine::Paths& paths) {
  json j = {{"config_file", paths.config()}};
  auto text = sys::ReadFile(paths.config());
  j["config_present"] = text.ok();
  auto cfg = engine::LoadBridgeConfig(paths.config());
  if (!cfg.ok()) {
    j["error"] = cfg.error().message();
    cfg = engine::DefaultBridgeConfig();
  }
  j["bip"] = cfg->gateway.ToString() + "/" + std::to_string(cfg->subnet.prefix());
  j["mtu"] = cfg->mtu;
  j["default_address_pools"] = PoolsJson(cfg->pools.empty() ? ipam::DefaultPools() : cfg->pools);
  return j;
}

json KernelJson(const std::vector<KernelFeature>& features) {
  json j = json::object();
  for (const KernelFeature& f : features) j[f.name] = {{"found", f.found}, {"detail", f.detail}};
  return j;
}

int Print(const Globals& g, const json& doc, const std::vector<KernelFeature>& features) {
  if (IsTemplate(g.format)) {
    auto t = tmpl::Template::Parse(g.format);
    if (!t.ok()) return Fail(t.error(), 125);
    auto out = t->Execute(doc);
    if (!out.ok()) return Fail(out.error());
    std::cout << *out << "\n";
  } else if (g.format == "json") {
    std::cout << doc.dump(2) << "\n";
  } else {
    PrintText(doc, features);
  }
  return 0;
}

}  // namespace

int Info(const Globals& g) {
  auto engine = engine::Engine::Open(g.root, engine::KernelWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  auto bridges = Bridges(**engine);
  if (!bridges.ok()) return Fail(bridges.error());
  coexist::Report managers = coexist::Inspect(*bridges);
  utsname u = {};
  ::uname(&u);
  json doc = {{"server_version", BERTH_VERSION},
              {"kernel_version", u.release},
              {"operating_system", "linux"},
              {"architecture", u.machine},
              {"state_root", g.root}};
  AddContainersAndNetworks(**engine, doc);
  doc["firewall"] = FirewallJson(**engine);
  doc["berthd"] = BerthdJson((*engine)->paths());
  std::vector<KernelFeature> features = DetectKernelFeatures(ReadHostView(u.release));
  doc["kernel_features"] = KernelJson(features);
  doc["default_bridge"] = DefaultBridgeJson((*engine)->paths());
  doc["firewall_managers"] = ManagersJson(managers);
  int rc = Print(g, doc, features);
  return rc != 0 ? rc : managers.ok() ? 0 : 1;
}

int FirewallSync(const Globals& g) {
  auto engine = engine::Engine::Open(g.root, engine::KernelWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  auto bridges = Bridges(**engine);
  if (!bridges.ok()) return Fail(bridges.error());
  coexist::Report report = coexist::Sync(*bridges);
  json managers = ManagersJson(report);
  if (g.format == "json") {
    std::cout << json{{"firewall_managers", managers}}.dump(2) << "\n";
  } else {
    PrintManagers(managers);
  }
  return report.ok() ? 0 : 1;
}

}  // namespace berth::cli
