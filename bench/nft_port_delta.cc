// nft_port_delta: the firewall cost of publishing and unpublishing one port with N ports
// already published, through berth's own NftFirewall (a port is hash-map elements: one
// libnftnl element batch per change; the table is built through libnftables). Must run inside the test sandbox: it writes berth's nft table.
//
//   tests/sandbox.sh build/bench/nft_port_delta 10 1000 5000 10000
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <unistd.h>

#include "firewall/nft_firewall.h"

using namespace berth;
using namespace berth::firewall;

namespace {

PortRule PublishedPort(uint16_t host_port) {
  return {IpAddr::V4(0), Protocol::kTcp, host_port, 1, IpAddr::V4(0xac120002), 80};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (::access("/run/sandbox/resolv.conf", F_OK) != 0) {
    std::fprintf(stderr, "run me inside tests/sandbox.sh\n");
    return 2;
  }
  auto fw = NftFirewall::Open();
  if (!fw.ok()) return 1;
  std::printf("%10s %14s %16s\n", "present", "add p50 (us)", "remove p50 (us)");
  for (int i = 1; i < argc; ++i) {
    int n = std::atoi(argv[i]);
    State state;
    state.networks.push_back({"br-bench", *Cidr::ParseNetwork("172.18.0.0/16"), true, true, false});
    for (int p = 0; p < n; ++p) state.ports.push_back(PublishedPort(static_cast<uint16_t>(10000 + p)));
    StateBatches batches = RenderState(state);
    if (!(*fw)->Run(batches.create).ok() || !(*fw)->Run(batches.content).ok()) return 1;
    StateFn fail = [] { return Result<State>(Error::Internal("no rebuild expected")); };
    std::vector<double> add, del;
    for (int r = 0; r < 200; ++r) {
      Delta d;
      d.add_ports.push_back(PublishedPort(60000));
      auto t0 = std::chrono::steady_clock::now();
      if (!(*fw)->Apply(d, fail).ok()) return 1;
      auto t1 = std::chrono::steady_clock::now();
      if (!(*fw)->Apply(d.Inverse(), fail).ok()) return 1;
      auto t2 = std::chrono::steady_clock::now();
      add.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      del.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    }
    std::printf("%10d %14.0f %16.0f\n", n, Median(add), Median(del));
  }
  return 0;
}
