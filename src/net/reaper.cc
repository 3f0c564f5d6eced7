#include "net/reaper.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "net/netlink.h"

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
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) {
    DeleteNow(ifindexes);
    return;
  }
  if (child == 0) {
    if (::fork() != 0) ::_exit(0);  // the grandchild is adopted by init, never our zombie
    ::setsid();
    ::close_range(0, ~0U, 0);
    int null = ::open("/dev/null", O_RDWR);  // becomes 0; 1 and 2 follow
    if (null == 0) {
      (void)::dup(0);
      (void)::dup(0);
    }
    DeleteNow(ifindexes);
    ::_exit(0);
  }
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace berth::net
