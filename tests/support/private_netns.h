// Unit tests that write nftables or create links run as one process per test, two at a time,
// inside the suite's one sandbox (ctest -j2): each takes a network namespace of its own first,
// so one test's `flush ruleset` never reaches another test's table. Only as root inside
// tests/sandbox.sh; elsewhere such tests skip.
#pragma once

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <cstdlib>
#include <string>

namespace berth::testing {

/// True once the calling process is in a network namespace of its own (made on first call).
inline bool InPrivateNetns() {
  static const bool ok = [] {
    const char* parent = std::getenv("BERTH_SANDBOX_PARENT_NETNS");
    struct stat st {};
    if (!parent || ::stat("/proc/self/ns/net", &st) != 0) return false;
    if (std::to_string(st.st_ino) == parent || ::geteuid() != 0) return false;
    if (::unshare(CLONE_NEWNET) != 0) return false;
    // The tests that run after this one in the same process may use loopback.
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    ifreq ifr {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    bool up = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
              (ifr.ifr_flags |= IFF_UP, ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
    ::close(fd);
    return up;
  }();
  return ok;
}

}  // namespace berth::testing
