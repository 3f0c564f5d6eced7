#include "engine/operation.h"

#include <optional>

#include "core/log.h"
#include "engine/engine.h"

namespace berth::engine {

Status Operation::BindNamespace(sys::Fd netns) {
  if (links_) return Error::Internal("the operation's LinkOps is open already");
  netns_ = std::move(netns);
  BERTH_ASSIGN_OR_RETURN(links_, factory_(netns_.get()));
  return Ok();
}

Operation::~Operation() {
  // While every member is alive (the LinkOps the undo steps use, the lock).
  int failed = rollback_.Run();
  // A removal has no undo: one that did not commit may have deleted some of its objects, so
  // its intent stays for recovery to finish it.
  if (!intent_path_.empty() && failed == 0 && !removal_) (void)Intents::Forget(intent_path_);
  LogCounted(false);
}

void Operation::LogCounted(bool ok) {
  if (counted_.empty()) return;
  op_log_.Append(counted_, ok, std::chrono::steady_clock::now() - started_);
  counted_.clear();
}

Status Operation::Commit() {
  if (before_commit_) BERTH_TRY_CTX(before_commit_(), "commit");
  BERTH_TRY(tx_.Commit());
  rollback_.Commit();  // only now: a failed commit leaves the undo armed
  if (!intent_path_.empty()) {
    (void)Intents::Forget(intent_path_);  // left behind, recovery finds every object recorded
    intent_path_.clear();
  }
  LogCounted(true);
  return Ok();
}

Status Operation::Intend(Intent intent) {
  removal_ = intent.kind.rfind("remove-", 0) == 0 || intent.kind == "disconnect" ||
             intent.kind == "detach-external" || intent.kind == "release-endpoints";
  if (!intent_path_.empty()) return intents_.Update(intent_path_, std::move(intent));
  BERTH_ASSIGN_OR_RETURN(intent_path_, intents_.Record(std::move(intent)));
  return Ok();
}

Result<std::unique_ptr<Operation>> Engine::BeginUnbound() {
  const auto started = std::chrono::steady_clock::now();
  // Operations a killed process left half-done are finished or undone first, so this one never
  // allocates an address, a port or a name that a leftover still holds (reconcile.cc).
  Status recovered = RecoverKilledOperations(nullptr);
  if (!recovered.ok()) {
    // Retried by the next operation and by reconcile; this one must not fail for it.
    log::Warn("recover interrupted operations: " + recovered.error().message());
  }
  std::optional<store::WriteTx> tx;
  {
    BERTH_ASSIGN_OR_RETURN(store::WriteTx locked, store_->Write());
    tx.emplace(std::move(locked));
  }
  if (!recovering_ && recovered.ok()) {
    // A process killed while this one waited for the lock: recover before allocating anything.
    auto orphans = intents_.Orphans();
    if (orphans.ok() && !orphans->empty()) {
      tx.reset();
      Status again = RecoverKilledOperations(nullptr);
      if (!again.ok()) log::Warn("recover interrupted operations: " + again.error().message());
      BERTH_ASSIGN_OR_RETURN(store::WriteTx locked, store_->Write());
      tx.emplace(std::move(locked));
    }
  }
  if (!recovering_ && !syncing_firewall_) {
    // Someone flushed or edited nftables since berth's last change: repaired before this
    // operation adds to it (one netlink round trip when nothing changed).
    BERTH_ASSIGN_OR_RETURN(firewall::Firewall * fw, Firewall());
    auto diff = fw->SyncIfChanged([this] { return FirewallState(); });
    if (!diff.ok()) {
      log::Warn("firewall check: " + diff.error().message());
    } else if (!diff->empty()) {
      log::Warn("berth's firewall table was changed by someone else and is restored (" +
                std::to_string(diff->size()) + " differences, first: " + diff->front() + ")");
    }
  }
  return std::unique_ptr<Operation>(
      new Operation(links_, before_commit_, intents_, op_log_, started, std::move(*tx)));
}

Result<std::unique_ptr<Operation>> Engine::Begin(sys::Fd netns) {
  BERTH_ASSIGN_OR_RETURN(auto op, BeginUnbound());
  BERTH_TRY(op->BindNamespace(std::move(netns)));
  return op;
}

}  // namespace berth::engine
