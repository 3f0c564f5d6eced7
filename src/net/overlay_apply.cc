// Apply (overlay.h): read what the kernel holds, diff it against the peers wanted
// (overlay_diff.h), write only the difference (RunWrites: a failed write does not stop the
// others, but a peer whose VXLAN entries failed gets no route).
#include <type_traits>
#include <variant>

#include "net/netlink.h"
#include "net/overlay.h"
#include "net/overlay_diff.h"
#include "net/overlay_entries.h"

namespace berth::net {

Result<ApplyStats> Apply(const std::string& vxlan_dev, const std::vector<Peer>& peers) {
  BERTH_ASSIGN_OR_RETURN(NlSocket sock, OpenRouteSocket());
  BERTH_ASSIGN_OR_RETURN(OverlayEntries now, ReadOverlayEntries(sock.get(), vxlan_dev));
  BERTH_ASSIGN_OR_RETURN(OverlayDiff diff, DiffOverlay(now, peers));
  BERTH_TRY(RunWrites(diff.writes, [&](const OverlayWrite& w) {
    return std::visit(
        [&](const auto& entry) -> Status {
          using T = std::decay_t<decltype(entry)>;
          if constexpr (std::is_same_v<T, OverlayRoute>) {
            return WriteRoute(sock.get(), entry, w.how);
          } else if constexpr (std::is_same_v<T, FdbEntry>) {
            return WriteFdb(sock.get(), now.vxlan_ifindex, entry, w.how);
          } else {
            return WriteNeigh(sock.get(), now.vxlan_ifindex, entry, w.how);
          }
        },
        w.entry);
  }));
  return diff.stats;
}

}  // namespace berth::net
