#include "engine/operation.h"

#include "engine/engine.h"

namespace berth::engine {

Status Operation::BindNamespace(sys::Fd netns) {
  if (links_) return Error::Internal("the operation's LinkOps is open already");
  netns_ = std::move(netns);
  BERTH_ASSIGN_OR_RETURN(links_, factory_(netns_.get()));
  return Ok();
}

Status Operation::Commit() {
  if (before_commit_) BERTH_TRY_CTX(before_commit_(), "commit");
  BERTH_TRY(tx_.Commit());
  rollback_.Commit();  // only now: a failed commit leaves the undo armed
  return Ok();
}

Result<std::unique_ptr<Operation>> Engine::BeginUnbound() {
  BERTH_ASSIGN_OR_RETURN(store::WriteTx tx, store_->Write());
  return std::unique_ptr<Operation>(new Operation(links_, before_commit_, std::move(tx)));
}

Result<std::unique_ptr<Operation>> Engine::Begin(sys::Fd netns) {
  BERTH_ASSIGN_OR_RETURN(auto op, BeginUnbound());
  BERTH_TRY(op->BindNamespace(std::move(netns)));
  return op;
}

}  // namespace berth::engine
