// Firewall: applies berth's nftables state. The real backend drives libnftables (nft_firewall.h);
// NoneFirewall does nothing, for unit tests of the engine and hosts where berth must not touch
// nftables.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "firewall/conntrack.h"
#include "firewall/ruleset.h"

namespace berth::firewall {

/// Produces the complete state from the source of truth, for a rebuild.
using StateFn = std::function<Result<State>()>;

class Firewall {
 public:
  virtual ~Firewall() = default;
  /// Applies `delta` in one transaction. If that fails (berth's table is missing or was edited),
  /// rebuilds the whole table from `state()` in one transaction instead; `state()` must already
  /// include the delta. Either way the kernel ends up matching the store, or nothing changed.
  virtual Status Apply(const Delta& delta, const StateFn& state) = 0;
  /// Which elements `expected` adds are not in the kernel now ("set: element"); read-only.
  virtual Result<std::vector<std::string>> Missing(const Delta& expected) = 0;
  /// Makes berth's table hold exactly `state` when it does not (someone flushed or edited it,
  /// or a killed operation left elements behind): one rebuild transaction, nothing written
  /// when it already does. Returns what differed (ruleset.h Differences), empty when nothing.
  virtual Result<std::vector<std::string>> Sync(const State& state) = 0;
  /// What every operation asks first, so a flushed table is repaired by the next command even
  /// without berthd: when anybody changed nftables since berth's own last change (the
  /// kernel's ruleset generation, one netlink round trip: nft_generation.h), Sync(state()).
  /// Returns what differed; empty when nothing changed.
  virtual Result<std::vector<std::string>> SyncIfChanged(const StateFn& state) = 0;
  /// The bridges berth's table lists now (its `bridges` set); empty when there is no table.
  /// What `system reconcile --rebuild-state` recognises berth's bridges by.
  virtual Result<std::vector<std::string>> Bridges() = 0;
  /// Deletes the conntrack entries of UDP flows to backends that left a service
  /// (conntrack.h), so their clients move to a backend that is there. Best effort.
  virtual Status ForgetFlows(const std::vector<StaleFlow>&) { return Ok(); }
};

class NoneFirewall final : public Firewall {
 public:
  Status Apply(const Delta&, const StateFn&) override { return Ok(); }
  Result<std::vector<std::string>> Missing(const Delta&) override {
    return std::vector<std::string>();
  }
  Result<std::vector<std::string>> Sync(const State&) override {
    return std::vector<std::string>();
  }
  Result<std::vector<std::string>> SyncIfChanged(const StateFn&) override {
    return std::vector<std::string>();
  }
  Result<std::vector<std::string>> Bridges() override { return std::vector<std::string>(); }
};

}  // namespace berth::firewall
