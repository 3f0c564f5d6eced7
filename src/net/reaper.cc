#include "net/reaper.h"

#include "net/netlink.h"
#include "sys/detach.h"

namespace berth::net {

namespace {

void DeleteNow(const std::vector<int>& ifindexes) {
  auto sock = OpenRouteSocket();
  if (!sock.ok()) return;
  for (int ifindex : ifindexes) {
    NlLink link(rtnl_link_alloc());
    rtnl_link_set_ifindex(link.get(), ifindex);
    (void)rtnl_link_delete(sock->get(), link.get());
  }
}

}  // namespace

void DeleteLinksInBackground(const std::vector<int>& ifindexes) {
  if (ifindexes.empty()) return;
  if (!sys::RunDetached([&] { DeleteNow(ifindexes); })) DeleteNow(ifindexes);
}

}  // namespace berth::net
