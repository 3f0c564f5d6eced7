// berth system reconcile: the store and the kernel made to agree (engine/reconcile.cc), with a
// report of every repair; --dry-run only reports; --rebuild-state starts a damaged or lost
// store over (set aside, not deleted) and then takes back what no record explains.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "coexist/coexist.h"
#include "engine/berthd.h"
#include "engine/wiring.h"
#include "store/store.h"

namespace berth::cli {

engine::Wiring CliWiring(const std::string& root) {
  engine::Wiring w = engine::DefaultWiring(root);
  w.other_firewalls = coexist::SyncBridges;
  w.op_log_source = "cli";
  return w;
}

int SystemReconcile(const Globals& g, bool dry_run, bool rebuild_state) {
  engine::Paths paths{g.root};
  std::string set_aside;
  if (rebuild_state) {
    if (dry_run) return Fail(Error::Invalid("--rebuild-state cannot be combined with --dry-run"), 125);
    // berthd holds the old database open and would take the new records for leftovers.
    if (engine::ProbeBerthd(paths).state != engine::BerthdProbe::kGone) {
      return Fail(Error::InUse("berthd serves this state root: stop it first (kill $(cat " +
                               paths.berthd_pid() + ")), then run --rebuild-state again"),
                  1);
    }
    auto moved = store::Store::StartOver(paths.db());
    if (!moved.ok()) return Fail(moved.error());
    set_aside = *moved;
  }
  auto engine = engine::Engine::Open(g.root, CliWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  engine::ReconcileReport adopted;
  if (rebuild_state) {
    Status st = (*engine)->AdoptNetworks(&adopted);
    if (!st.ok()) return Fail(st.error());
  }
  auto report = (*engine)->Reconcile(dry_run);
  if (!report.ok()) return Fail(report.error());
  report->repairs.insert(report->repairs.begin(), adopted.repairs.begin(), adopted.repairs.end());
  if (g.format == "json") {
    nlohmann::json j = {{"dry_run", dry_run},
                        {"repairs", report->repairs},
                        {"errors", report->errors}};
    if (rebuild_state) j["previous_store"] = set_aside;
    std::cout << j.dump(2) << "\n";
  } else {
    if (!set_aside.empty()) std::printf("the damaged state store was moved to %s\n", set_aside.c_str());
    for (const std::string& r : report->repairs) std::printf("%s\n", r.c_str());
    for (const std::string& e : report->errors) std::fprintf(stderr, "berth: error: %s\n", e.c_str());
    if (report->repairs.empty() && report->errors.empty()) {
      std::printf("nothing to repair: the store and the kernel agree\n");
    }
  }
  return report->errors.empty() ? 0 : 1;
}

}  // namespace berth::cli
