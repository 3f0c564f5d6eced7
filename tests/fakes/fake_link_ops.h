// FakeLinkOps: records every LinkOps call as a line of text (ninja's FakeCommandRunner), keeps
// a set of existing links so EnsureBridge/DeleteLink behave, and can be told to fail a call.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "net/link_ops.h"

namespace berth::net {

class FakeLinkOps : public LinkOps {
 public:
  std::vector<std::string> calls;
  std::set<std::string> links;   // host-side link names that exist
  std::string fail_on;           // a call whose text starts with this fails
  std::vector<Cidr> routes;
  NamespaceView host_view;       // what Observe/GetLinkInfo report, per side
  NamespaceView container_view;

  Status SetSysctl(Where, const std::string& key, const std::string& value) override {
    return Record("sysctl " + key + "=" + value);
  }
  Result<bool> EnsureBridge(const EnsureBridgeOp& op) override {
    BERTH_TRY(Record("bridge " + op.name + " " + op.address.ToString()));
    return links.insert(op.name).second;
  }
  Status CreateVeth(const CreateVethOp& op) override {
    BERTH_TRY(Record("veth " + op.host_name + " master " + op.master + " peer " + op.peer_name +
                     " " + op.peer_mac));
    links.insert(op.host_name);
    return Ok();
  }
  Status AddAddress(const AddAddressOp& op) override {
    return Record(Side(op.where) + "addr " + op.address.ToString() + " dev " + op.dev);
  }
  Status AddRoute(const AddRouteOp& op) override {
    return Record(Side(op.where) + "route " + (op.dst ? op.dst->ToString() : "default") +
                  " via " + op.via.ToString());
  }
  Status LinkUp(const LinkUpOp& op) override { return Record(Side(op.where) + "up " + op.dev); }
  Status SetHairpin(const HairpinOp& op) override { return Record("hairpin " + op.port); }
  Status ReleaseLink(const ReleaseLinkOp& op) override {
    BERTH_TRY(Record("release " + op.name));
    links.erase(op.name);
    return Ok();
  }
  Status DeleteLink(const DeleteLinkOp& op) override {
    BERTH_TRY(Record("del " + op.name));
    links.erase(op.name);
    return Ok();
  }
  Result<std::optional<int>> Ifindex(Where, const std::string& name) override {
    if (!links.count(name)) return std::optional<int>();
    return std::optional<int>(static_cast<int>(std::distance(links.begin(), links.find(name))) + 2);
  }
  Result<std::vector<Cidr>> HostRoutes() override { return routes; }
  Result<NamespaceView> Observe(Where where) override {
    BERTH_TRY(Record(Side(where) + "observe"));
    return where == Where::kHost ? host_view : container_view;
  }
  Result<std::vector<RouteInfo>> Routes(Where where) override {
    BERTH_TRY(Record(Side(where) + "list routes"));
    return (where == Where::kHost ? host_view : container_view).routes;
  }
  Result<std::optional<LinkInfo>> GetLinkInfo(Where where, const std::string& name) override {
    const NamespaceView& v = where == Where::kHost ? host_view : container_view;
    if (const LinkInfo* l = v.Link(name)) return std::optional<LinkInfo>(*l);
    return std::optional<LinkInfo>();
  }
  Result<std::optional<std::string>> Mac(Where where, const std::string& name) override {
    BERTH_ASSIGN_OR_RETURN(auto info, GetLinkInfo(where, name));
    if (!info) return std::optional<std::string>();
    return std::optional<std::string>(info->mac);
  }

 private:
  static std::string Side(Where w) { return w == Where::kContainer ? "ctr: " : ""; }
  Status Record(std::string call) {
    bool fail = !fail_on.empty() && call.rfind(fail_on, 0) == 0;
    calls.push_back(std::move(call));
    if (fail) return Error::System("injected failure", EIO);
    return Ok();
  }
};

}  // namespace berth::net
