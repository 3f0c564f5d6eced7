// berth-nftwatch: a development tool (not installed) that drives the self-healing primitives
// from outside, for tests/integration/test_firewall_heal.py until berthd wires them in.
//
//   berth-nftwatch watch [--table T] [--chain NAME:MIN_RULES]... [--set NAME:MIN_ELEMENTS]...
//       Prints "ready", then one JSON line per NftMonitor::Drain() that asked for a
//       verification: {"missing": [...MissingObjects...], "foreign": N, "own": N, "overruns": N}.
//   berth-nftwatch gen
//       Prints the current nf_tables generation.
//   berth-nftwatch check-cost STAMP_PATH ROUNDS
//       Stamps the current generation, then prints the mean microseconds of
//       GenerationStamp::Changed() (what every command would pay) over ROUNDS calls.
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "firewall/nft_generation.h"
#include "firewall/nft_monitor.h"
#include "firewall/nft_verify.h"

namespace fw = berth::firewall;

namespace {

int Fail(const berth::Error& e) {
  std::fprintf(stderr, "berth-nftwatch: %s\n", e.message().c_str());
  return 1;
}

bool SplitCount(const char* arg, std::string* name, size_t* count) {
  const char* colon = std::strrchr(arg, ':');
  if (!colon) return false;
  *name = std::string(arg, colon);
  *count = std::strtoul(colon + 1, nullptr, 10);
  return true;
}

int Watch(int argc, char** argv) {
  fw::ExpectedTable expected{"berth", {}, {}};
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i], name;
    size_t count = 0;
    if (flag == "--table") {
      expected.name = argv[i + 1];
    } else if (flag == "--chain" && SplitCount(argv[i + 1], &name, &count)) {
      expected.chains.push_back({name, count});
    } else if (flag == "--set" && SplitCount(argv[i + 1], &name, &count)) {
      expected.sets.push_back({name, count});
    } else {
      std::fprintf(stderr, "berth-nftwatch: bad argument %s\n", argv[i]);
      return 2;
    }
  }
  fw::MonitorOptions options;
  options.table = expected.name;
  auto monitor = fw::NftMonitor::Open(options);
  if (!monitor.ok()) return Fail(monitor.error());
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) {
    pollfd p{monitor->fd(), POLLIN, 0};
    if (::poll(&p, 1, -1) < 0) continue;
    auto damaged = monitor->Drain();
    if (!damaged.ok()) return Fail(damaged.error());
    if (!*damaged) continue;
    auto missing = fw::MissingObjects(expected);
    if (!missing.ok()) return Fail(missing.error());
    const fw::MonitorStats& s = monitor->stats();
    nlohmann::json line = {{"missing", *missing},
                           {"foreign", s.foreign_damage},
                           {"own", s.own_ignored},
                           {"overruns", s.overruns}};
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  }
}

int CheckCost(const char* path, int rounds) {
  fw::GenerationStamp stamp(path);
  auto gen = fw::CurrentGeneration();
  if (!gen.ok()) return Fail(gen.error());
  if (auto st = stamp.Store(*gen); !st.ok()) return Fail(st.error());
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) {
    auto changed = stamp.Changed();
    if (!changed.ok()) return Fail(changed.error());
  }
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                  .count() / rounds;
  std::printf("%.2f\n", us);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "watch") return Watch(argc, argv);
  if (cmd == "gen") {
    auto gen = fw::CurrentGeneration();
    if (!gen.ok()) return Fail(gen.error());
    std::printf("%u\n", *gen);
    return 0;
  }
  if (cmd == "check-cost" && argc == 4) return CheckCost(argv[2], std::atoi(argv[3]));
  std::fprintf(stderr, "usage: berth-nftwatch watch|gen|check-cost STAMP ROUNDS\n");
  return 2;
}
