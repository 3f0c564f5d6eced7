// nft_service_delta: the firewall transaction alone of creating and removing one service (one
// port, 3 backends; with and without client-IP affinity) with N services present, through
// berth's own NftFirewall (one libnftnl batch: chains, rules, sets, map elements), beside the
// same delta through libnftables (what every service change cost before: it re-reads the
// chains), and the per-command firewall check when nothing moved (the generation stamp).
// The table of N services is built once per N through libnftables. Must run inside the test
// sandbox: it writes berth's nft table.
//
//   tests/sandbox.sh build/bench/nft_service_delta 10 1000 10000
//
// Prints one JSON object per N (bench/services_scale.py reads them).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "firewall/nft_firewall.h"

using namespace berth;
using namespace berth::firewall;

namespace {

using Clock = std::chrono::steady_clock;

ServiceRules ServiceN(int i, uint32_t affinity = 0) {
  char id[17];
  std::snprintf(id, sizeof(id), "%08x5e5e5e5e", static_cast<unsigned>(i));  // chains: id[0:12]
  auto vip = IpAddr::V4((10u << 24) | (96u << 16) | static_cast<uint32_t>(i + 1));
  std::vector<IpAddr> backends;
  for (uint32_t b = 2; b <= 4; ++b) backends.push_back(IpAddr::V4(0xac120000 + b));
  return {id, vip, {{80, 8080, Protocol::kTcp}}, backends, false, {}, affinity};
}

double Us(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

// Says what failed, for the exit code alone would not.
bool Check(const Status& st, const char* what) {
  if (!st.ok()) std::fprintf(stderr, "%s: %s\n", what, st.error().message().c_str());
  return st.ok();
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
  char stamp[] = "/tmp/berth-nft-stamp-XXXXXX";
  int fd = ::mkstemp(stamp);
  if (fd < 0) return 1;
  ::close(fd);
  auto fw = NftFirewall::Open(stamp);
  if (!fw.ok()) return 1;
  int reps = 100;
  for (int i = 1; i < argc; ++i) {
    int n = std::atoi(argv[i]);
    State state;
    state.networks.push_back({"br-bench", *Cidr::ParseNetwork("172.18.0.0/16"), true, true, false});
    for (int s = 0; s < n; ++s) state.services.push_back(ServiceN(s));
    auto t0 = Clock::now();
    StateBatches batches = RenderState(state);
    if (!Check((*fw)->Run(batches.create), "create") ||
        !Check((*fw)->Run(batches.content), "content")) {
      return 1;
    }
    double build_ms = Us(t0, Clock::now()) / 1000;
    StateFn fail = [] { return Result<State>(Error::Internal("no rebuild expected")); };
    std::vector<double> add, del, add_aff, del_aff, add_json, del_json, check;
    for (int r = 0; r < reps; ++r) {
      Delta d;
      d.add_services.push_back(ServiceN(60000));
      auto a = Clock::now();
      if (!Check((*fw)->Apply(d, fail), "apply")) return 1;
      auto b = Clock::now();
      // Nothing moved since berth's own change: one generation query.
      auto checked = (*fw)->SyncIfChanged(fail);
      if (!Check(checked.ok() ? Ok() : Status(checked.error()), "check")) return 1;
      auto c = Clock::now();
      if (!Check((*fw)->Apply(d.Inverse(), fail), "apply inverse")) return 1;
      auto e = Clock::now();
      add.push_back(Us(a, b));
      check.push_back(Us(b, c));
      del.push_back(Us(c, e));
      Delta sticky;
      sticky.add_services.push_back(ServiceN(60001, 10800));
      a = Clock::now();
      if (!Check((*fw)->Apply(sticky, fail), "apply affinity")) return 1;
      b = Clock::now();
      if (!Check((*fw)->Apply(sticky.Inverse(), fail), "apply affinity inverse")) return 1;
      c = Clock::now();
      add_aff.push_back(Us(a, b));
      del_aff.push_back(Us(b, c));
      if (r < 20) {  // the libnftables path, as every service change went before
        a = Clock::now();
        if (!Check((*fw)->Run(RenderDelta(d)), "json")) return 1;
        b = Clock::now();
        if (!Check((*fw)->Run(RenderDelta(d.Inverse())), "json inverse")) return 1;
        c = Clock::now();
        add_json.push_back(Us(a, b));
        del_json.push_back(Us(b, c));
      }
    }
    std::printf(
        "{\"present\": %d, \"build_ms\": %.0f, \"create_us\": %.0f, \"remove_us\": %.0f, "
        "\"create_affinity_us\": %.0f, \"remove_affinity_us\": %.0f, \"check_us\": %.0f, "
        "\"libnftables_create_us\": %.0f, \"libnftables_remove_us\": %.0f}\n",
        n, build_ms, Median(add), Median(del), Median(add_aff), Median(del_aff), Median(check),
        Median(add_json), Median(del_json));
    std::fflush(stdout);
  }
  (void)(*fw)->Run(R"({"nftables": [{"delete": {"table": {"family": "inet", "name": "berth"}}}]})");
  ::unlink(stamp);
  return 0;
}
