// Executing a Plan: each op runs through LinkOps in order, and each one that created something
// pushes its undo onto the caller's Rollback, so a failure part-way leaves no link behind.
#pragma once

#include "core/rollback.h"
#include "net/link_ops.h"
#include "net/plan.h"

namespace berth::net {

/// `created_bridges`, when given, receives the bridges this plan had to create (so the caller
/// can add their firewall elements).
Status Apply(const Plan& plan, LinkOps& ops, Rollback& rollback,
             std::vector<std::string>* created_bridges = nullptr);

}  // namespace berth::net
