// Operation: how every mutating engine verb begins, holds and ends its changes. One object owns,
// in this order, the store's write transaction, the container namespace handle, the LinkOps
// (the kernel handle) and the Rollback (the undo steps of the kernel changes).
//
// The order is the contract, and it is why there is one factory (Engine::Begin) and no other way
// to make one. Members are destroyed in reverse order of declaration, so an Operation that ends
// without Commit():
//   1. runs the Rollback first: every undo step (net/apply.cc's capture the LinkOps by
//      reference) runs while the LinkOps and the namespace handle are alive and while the write
//      lock is still held, so nobody starts using a bridge or directory being taken away;
//   2. then closes the LinkOps (the real one deletes released links in the background here);
//   3. then closes the namespace handle the LinkOps was bound to;
//   4. last, the uncommitted transaction rolls back and releases the lock.
// Commit() commits the transaction first and disarms the Rollback only once that succeeded: a
// failed commit still undoes the kernel side. What a verb does after Commit() (notify berthd) is
// outside the operation.
//
// Teardown verbs (rm, disconnect, CNI DEL/GC) use it too: deletions have no undo, but they share
// the lock, the LinkOps and the single place where an operation starts.
//
// Crash safety (intents.h): before its first kernel change a verb says what it may create or
// delete (Intend), and the operation keeps that intent on disk until the change is committed or
// completely undone. A kill -9 at any instant in between leaves the intent behind, and the next
// operation of any berth process recovers it (Engine::Begin, engine/reconcile.cc) before it
// allocates anything. An undo step that fails also leaves it, so recovery tries again.
//
// Metrics (op_log.h): AttachEndpoint/DetachEndpoint count each endpoint they touch (Count); when
// the operation ends, committed or not, one line per endpoint goes to the operation log with the
// time since Engine::Begin started (the wait for the lock included: the caller waited too).
//
// Neither copyable nor movable (the undo steps point into it): Engine::Begin returns it on the
// heap. Not thread-safe, like the Engine.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/rollback.h"
#include "engine/intents.h"
#include "engine/op_log.h"
#include "net/link_ops.h"
#include "store/store.h"
#include "sys/fd.h"

namespace berth::engine {

/// Builds the LinkOps for one operation; `container_netns_fd` < 0 for host-only work. The fd
/// stays open as long as the LinkOps lives.
using LinkOpsFactory =
    std::function<Result<std::unique_ptr<net::LinkOps>>(int container_netns_fd)>;

class Operation {
 public:
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;
  Operation(Operation&&) = delete;
  Operation& operator=(Operation&&) = delete;
  /// Undoes what was not committed, then forgets the intent unless an undo step failed; the
  /// members then close in the order the header comment states.
  ~Operation();

  /// The kernel handle. Only after Begin(netns) or BindNamespace().
  net::LinkOps& links() { return *links_; }
  Rollback& rollback() { return rollback_; }

  /// Opens the LinkOps for `netns` (an empty Fd: the host only). Once per operation: Engine::Begin
  /// calls it; `run` calls it itself for the namespace it creates under the lock.
  Status BindNamespace(sys::Fd netns);

  /// Commits the transaction, then keeps the kernel changes. On failure nothing is kept: the
  /// destructor still undoes the kernel side.
  Status Commit();

  /// Records what this operation may create or delete in the kernel, before it does; called
  /// again, it replaces the record (an operation that learns another object it will touch).
  Status Intend(Intent intent);

  /// This operation attaches or detaches an endpoint on `network` (for the operation log).
  void Count(OpKind kind, std::string network) { counted_.emplace_back(kind, std::move(network)); }

 private:
  friend class Engine;
  // These belong to the Engine, which outlives its operations.
  Operation(const LinkOpsFactory& factory, const std::function<Status()>& before_commit,
            const Intents& intents, const OpLog& op_log,
            std::chrono::steady_clock::time_point started, store::WriteTx tx)
      : factory_(factory),
        before_commit_(before_commit),
        intents_(intents),
        op_log_(op_log),
        started_(started),
        tx_(std::move(tx)) {}

  /// Writes the counted endpoints to the operation log, once.
  void LogCounted(bool ok);

  const LinkOpsFactory& factory_;
  const std::function<Status()>& before_commit_;
  const Intents& intents_;
  const OpLog& op_log_;
  const std::chrono::steady_clock::time_point started_;
  std::vector<std::pair<OpKind, std::string>> counted_;
  std::string intent_path_;  // empty: nothing recorded
  bool removal_ = false;     // the intent is a removal's
  // Destroyed bottom-up: the order is the contract stated above.
  store::WriteTx tx_;
  sys::Fd netns_;
  std::unique_ptr<net::LinkOps> links_;
  Rollback rollback_;
};

}  // namespace berth::engine
