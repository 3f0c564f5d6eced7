#include "net/apply.h"

namespace berth::net {

namespace {

struct ApplyVisitor {
  LinkOps& ops;
  Rollback& rollback;
  std::vector<std::string>* created;

  Status operator()(const SysctlOp& o) {
    BERTH_TRY_CTX(ops.SetSysctl(o.where, o.key, o.value), "set " + o.key);
    return Ok();
  }
  Status operator()(const EnsureBridgeOp& o) {
    auto created = ops.EnsureBridge(o);
    if (!created.ok()) return std::move(created).error().Wrap("set up bridge " + o.name);
    if (*created && this->created) this->created->push_back(o.name);
    if (*created) {
      rollback.Add("delete bridge " + o.name,
                   [&ops = ops, name = o.name] { return ops.DeleteLink({Where::kHost, name}); });
    }
    return Ok();
  }
  Status operator()(const CreateVethOp& o) {
    BERTH_TRY_CTX(ops.CreateVeth(o), "create veth pair " + o.host_name + "/" + o.peer_name);
    rollback.Add("delete veth " + o.host_name, [&ops = ops, name = o.host_name] {
      return ops.DeleteLink({Where::kHost, name});
    });
    return Ok();
  }
  Status operator()(const AddAddressOp& o) {
    BERTH_TRY_CTX(ops.AddAddress(o), "add address " + o.address.ToString() + " to " + o.dev);
    return Ok();
  }
  Status operator()(const AddRouteOp& o) {
    BERTH_TRY_CTX(ops.AddRoute(o), "add route via " + o.via.ToString());
    return Ok();
  }
  Status operator()(const LinkUpOp& o) {
    BERTH_TRY_CTX(ops.LinkUp(o), "set " + o.dev + " up");
    return Ok();
  }
  Status operator()(const HairpinOp& o) {
    BERTH_TRY_CTX(ops.SetHairpin(o), "set hairpin mode on " + o.port);
    return Ok();
  }
  Status operator()(const ReleaseLinkOp& o) {
    BERTH_TRY_CTX(ops.ReleaseLink(o), "release " + o.name);
    return Ok();
  }
  Status operator()(const DeleteLinkOp& o) {
    BERTH_TRY_CTX(ops.DeleteLink(o), "delete " + o.name);
    return Ok();
  }
};

}  // namespace

Status Apply(const Plan& plan, LinkOps& ops, Rollback& rollback,
             std::vector<std::string>* created_bridges) {
  ApplyVisitor v{ops, rollback, created_bridges};
  for (const Op& op : plan.ops) BERTH_TRY(std::visit(v, op));
  return Ok();
}

}  // namespace berth::net
