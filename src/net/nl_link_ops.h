// NlLinkOps: LinkOps over rtnetlink with libnl. Holds one socket in the host namespace and,
// when given a container namespace, one socket opened inside it (no namespace switching after
// construction, STYLE.md 5). Links released during its life (ReleaseLinkOp) are deleted by a
// detached background process when it goes away, after the caller's operation is complete.
//
// It remembers the links it has looked up (index and flags) for the one operation it serves:
// an attach names the same bridge and container interface in several steps, and each
// RTM_GETLINK is a round trip and a parse. What it changes it updates or forgets. GetLinkInfo,
// the "what the kernel holds now" view, always asks the kernel; Mac of a remembered link asks
// with an ioctl (net/ifreq.h).
#pragma once

#include <map>
#include <memory>
#include <utility>

#include "net/link_ops.h"
#include "net/netlink.h"

namespace berth::net {

class NlLinkOps final : public LinkOps {
 public:
  /// `container_netns_fd` < 0: host-only operations.
  static Result<std::unique_ptr<NlLinkOps>> Open(int container_netns_fd = -1);
  ~NlLinkOps() override;

  Status SetSysctl(Where where, const std::string& key, const std::string& value) override;
  Result<bool> EnsureBridge(const EnsureBridgeOp& op) override;
  Status CreateVeth(const CreateVethOp& op) override;
  Status AddAddress(const AddAddressOp& op) override;
  Status AddRoute(const AddRouteOp& op) override;
  Status LinkUp(const LinkUpOp& op) override;
  Status SetHairpin(const HairpinOp& op) override;
  Status ReleaseLink(const ReleaseLinkOp& op) override;
  Status DeleteLink(const DeleteLinkOp& op) override;
  Result<std::optional<int>> Ifindex(Where where, const std::string& name) override;
  Result<std::vector<Cidr>> HostRoutes() override;
  Result<NamespaceView> Observe(Where where) override;
  Result<std::vector<RouteInfo>> Routes(Where where) override;
  Result<std::optional<LinkInfo>> GetLinkInfo(Where where, const std::string& name) override;
  Result<std::optional<std::string>> Mac(Where where, const std::string& name) override;

 private:
  NlLinkOps(NlSocket host, NlSocket container, int container_netns_fd)
      : host_(std::move(host)),
        container_(std::move(container)),
        container_netns_fd_(container_netns_fd) {}
  Result<nl_sock*> Sock(Where where);
  /// Deletes `name` if it is a released (down) veth of ours; true when it did.
  bool DeleteIfReleased(const std::string& name);
  Result<int> RequireIfindex(Where where, const std::string& name);
  struct Facts {
    int ifindex = 0;
    unsigned flags = 0;  // IFF_*
  };
  /// The link called `name`, from this operation's memory or the kernel; nullptr: none.
  Result<Facts*> Known(Where where, const std::string& name);

  NlSocket host_;
  NlSocket container_;
  int container_netns_fd_;  // borrowed from the caller
  std::vector<int> released_;  // host ifindexes to delete in the background
  std::map<std::pair<Where, std::string>, Facts> known_;
};

}  // namespace berth::net
