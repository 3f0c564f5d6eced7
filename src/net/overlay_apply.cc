// Apply and ApplyChanges (overlay.h): take what the kernel holds (read, or what the last apply
// programmed), diff it against the peers wanted (overlay_diff.h), write only the difference
// (RunWrites: a failed write does not stop the others, but a peer whose VXLAN entries failed
// gets no route).
#include <net/if.h>

#include <type_traits>
#include <variant>

#include "net/netlink.h"
#include "net/overlay.h"
#include "net/overlay_diff.h"
#include "net/overlay_entries.h"

namespace berth::net {

namespace {

Result<ApplyStats> Program(nl_sock* sock, int vxlan_ifindex, const OverlayDiff& diff) {
  BERTH_TRY(RunWrites(diff.writes, [&](const OverlayWrite& w) {
    return std::visit(
        [&](const auto& entry) -> Status {
          using T = std::decay_t<decltype(entry)>;
          if constexpr (std::is_same_v<T, OverlayRoute>) {
            return WriteRoute(sock, entry, w.how);
          } else if constexpr (std::is_same_v<T, FdbEntry>) {
            return WriteFdb(sock, vxlan_ifindex, entry, w.how);
          } else {
            return WriteNeigh(sock, vxlan_ifindex, entry, w.how);
          }
        },
        w.entry);
  }));
  return diff.stats;
}

}  // namespace

Result<ApplyStats> Apply(const std::string& vxlan_dev, const std::vector<Peer>& peers) {
  BERTH_ASSIGN_OR_RETURN(NlSocket sock, OpenRouteSocket());
  BERTH_ASSIGN_OR_RETURN(OverlayEntries now, ReadOverlayEntries(sock.get(), vxlan_dev));
  BERTH_ASSIGN_OR_RETURN(OverlayDiff diff, DiffOverlay(now, peers));
  return Program(sock.get(), now.vxlan_ifindex, diff);
}

Result<ApplyStats> ApplyChanges(const std::string& vxlan_dev, const std::vector<Peer>& last,
                                const std::vector<Peer>& peers) {
  // One ioctl instead of a link dump: the device's index is all the writes need.
  const int ifindex = vxlan_dev.empty() ? 0 : static_cast<int>(::if_nametoindex(vxlan_dev.c_str()));
  BERTH_ASSIGN_OR_RETURN(OverlayDiff diff, DiffOverlay(EntriesOf(last, ifindex), peers));
  if (diff.writes.empty()) return diff.stats;  // nothing changed: no socket either
  BERTH_ASSIGN_OR_RETURN(NlSocket sock, OpenRouteSocket());
  return Program(sock.get(), ifindex, diff);
}

}  // namespace berth::net
