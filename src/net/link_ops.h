// LinkOps: the seam between berth and the kernel's routing/link configuration. The real one
// speaks rtnetlink through libnl (nl_link_ops.h); tests use a fake that records calls.
//
// One LinkOps serves one operation: it is bound to the host namespace and, optionally, one
// container namespace. Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "net/observe.h"
#include "net/plan.h"

namespace berth::net {

class LinkOps {
 public:
  virtual ~LinkOps() = default;

  virtual Status SetSysctl(Where where, const std::string& key, const std::string& value) = 0;
  /// Returns true when the bridge was created (false: it existed and was brought in line).
  virtual Result<bool> EnsureBridge(const EnsureBridgeOp& op) = 0;
  virtual Status CreateVeth(const CreateVethOp& op) = 0;
  virtual Status AddAddress(const AddAddressOp& op) = 0;
  virtual Status AddRoute(const AddRouteOp& op) = 0;
  virtual Status LinkUp(const LinkUpOp& op) = 0;
  virtual Status SetHairpin(const HairpinOp& op) = 0;
  /// A link that does not exist counts as released (see ReleaseLinkOp).
  virtual Status ReleaseLink(const ReleaseLinkOp& op) = 0;
  /// A link that does not exist counts as deleted.
  virtual Status DeleteLink(const DeleteLinkOp& op) = 0;

  /// Interface index of a link, or nullopt when there is none by that name.
  virtual Result<std::optional<int>> Ifindex(Where where, const std::string& name) = 0;
  /// IPv4 and IPv6 destinations of the host's main routing table (default routes excluded).
  virtual Result<std::vector<Cidr>> HostRoutes() = 0;

  /// Read-only views: what the kernel holds now (CNI CHECK, MACs the kernel chose).
  virtual Result<NamespaceView> Observe(Where where) = 0;
  /// Main-table routes only: one dump instead of Observe's three.
  virtual Result<std::vector<RouteInfo>> Routes(Where where) = 0;
  virtual Result<std::optional<LinkInfo>> GetLinkInfo(Where where, const std::string& name) = 0;
  /// The MAC a link has now ("aa:bb:..."), nullopt when there is no such link.
  virtual Result<std::optional<std::string>> Mac(Where where, const std::string& name) = 0;
};

}  // namespace berth::net
