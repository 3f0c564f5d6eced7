#include "daemon/upkeep.h"

#include <algorithm>
#include <string>

#include "core/log.h"

namespace berth::daemon {

namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : "; ") + s;
  return out;
}

int64_t MsSince(Upkeep::Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Upkeep::Clock::now() - start)
      .count();
}

}  // namespace

Upkeep::Upkeep(engine::Engine* engine, std::chrono::seconds reconcile_interval)
    : engine_(engine), interval_(reconcile_interval) {}

void Upkeep::Start() {
  auto monitor = firewall::NftMonitor::Open();
  if (monitor.ok()) {
    monitor_.emplace(std::move(*monitor));
    stats_.monitoring = true;
  } else {
    log::Warn("firewall monitor unavailable: berth's table is restored by the periodic "
              "reconcile only",
              {{"error", monitor.error().message()}});
  }
  reconcile_at_ = Clock::now();
}

void Upkeep::OnEvents() {
  if (!monitor_) return;
  auto damaged = monitor_->Drain();
  if (!damaged.ok()) {
    // A socket that fails once would fail on every wake-up: give it up, keep reconciling.
    log::Error("firewall monitor failed: berth's table is restored by the periodic reconcile "
               "only",
               {{"error", damaged.error().message()}});
    monitor_.reset();
    stats_.monitoring = false;
    return;
  }
  if (*damaged && !restore_at_) restore_at_ = Clock::now() + kDebounce;
}

int Upkeep::MsUntilDue(int cap) const {
  auto now = Clock::now();
  int ms = cap;
  for (const auto& at : {restore_at_, reconcile_at_}) {
    if (!at) continue;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*at - now).count();
    ms = std::min<int64_t>(ms, std::max<int64_t>(left, 0));
  }
  return ms;
}

void Upkeep::RunDue() {
  auto now = Clock::now();
  if (restore_at_ && *restore_at_ <= now) {
    restore_at_.reset();
    RestoreFirewall();
  }
  if (reconcile_at_ && *reconcile_at_ <= now) {
    Reconcile();
    // From the end of this run: a slow reconcile never runs back to back.
    if (interval_.count() > 0) {
      reconcile_at_ = Clock::now() + interval_;
    } else {
      reconcile_at_.reset();
    }
  }
}

void Upkeep::RestoreFirewall() {
  auto start = Clock::now();
  auto diff = engine_->SyncFirewall();
  if (!diff.ok()) {
    log::Error("firewall restore failed", {{"error", diff.error().message()}});
    // Try again soon: the damage is still there.
    restore_at_ = Clock::now() + std::chrono::seconds(1);
    return;
  }
  if (diff->empty()) {
    log::Debug("firewall verified: nothing missing");
    return;
  }
  ++stats_.firewall_restores;
  log::Warn("firewall restored", {{"what", Join(*diff)},
                                  {"ms", std::to_string(MsSince(start))},
                                  {"restores", std::to_string(stats_.firewall_restores)}});
}

void Upkeep::Reconcile() {
  auto start = Clock::now();
  auto report = engine_->Reconcile(false);
  ++stats_.reconcile_runs;
  if (!report.ok()) {
    log::Error("reconcile failed", {{"error", report.error().message()}});
    return;
  }
  stats_.last_reconcile_repairs = report->repairs.size();
  for (const std::string& r : report->repairs) log::Info("reconciled", {{"what", r}});
  for (const std::string& e : report->errors) log::Warn("reconcile error", {{"what", e}});
  log::Debug("reconcile done", {{"repairs", std::to_string(report->repairs.size())},
                                {"errors", std::to_string(report->errors.size())},
                                {"ms", std::to_string(MsSince(start))}});
}

}  // namespace berth::daemon
