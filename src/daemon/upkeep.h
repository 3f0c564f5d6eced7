// Upkeep: berthd keeping the kernel in line with the store without a command (issue 11).
//
// Two duties, both run by berthd's main loop:
// - Reconcile: at start and every `--reconcile-interval` seconds, Engine::Reconcile(false)
//   (killed operations finished or undone, orphans removed, bridges and firewall restored).
// - Self-healing firewall: an NftMonitor on the nftables event group says when someone else
//   deleted or flushed part of berth's table; after a short debounce (a `flush ruleset` is a
//   burst of events, and a script often damages twice in a row) Engine::SyncFirewall()
//   restores it. Both take the store's write lock, so they never race a berth command.
//
// Without nf_tables events (an old kernel, no permission) the monitor is left out, said once:
// the periodic reconcile still restores the table, only later.
//
// Not thread-safe: the caller serialises calls and reads stats() under its own lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "engine/engine.h"
#include "firewall/nft_monitor.h"

namespace berth::daemon {

struct UpkeepStats {
  uint64_t firewall_restores = 0;  // SyncFirewall runs that wrote something
  uint64_t reconcile_runs = 0;
  uint64_t last_reconcile_repairs = 0;
  bool monitoring = false;  // the nftables monitor is open
};

class Upkeep {
 public:
  using Clock = std::chrono::steady_clock;
  /// How long damage is left to settle before the restore.
  static constexpr std::chrono::milliseconds kDebounce{20};

  /// `reconcile_interval` 0: reconcile once at start only.
  Upkeep(engine::Engine* engine, std::chrono::seconds reconcile_interval);

  /// Opens the nftables monitor; the first reconcile is due at once.
  void Start();

  /// The monitor's fd for poll(2); -1 without a monitor (poll ignores it).
  int fd() const { return monitor_ ? monitor_->fd() : -1; }

  /// The monitor's fd is readable: reads the events, schedules a restore on damage.
  void OnEvents();

  /// Milliseconds until the next duty is due (0: now), at most `cap`.
  int MsUntilDue(int cap) const;

  /// Runs what is due. The caller holds whatever lock guards the engine.
  void RunDue();

  const UpkeepStats& stats() const { return stats_; }

 private:
  void Reconcile();
  void RestoreFirewall();

  engine::Engine* engine_;
  std::chrono::seconds interval_;
  std::optional<firewall::NftMonitor> monitor_;
  std::optional<Clock::time_point> reconcile_at_;
  std::optional<Clock::time_point> restore_at_;
  UpkeepStats stats_;
};

}  // namespace berth::daemon
