// berth trace SRC DST[:PORT][/udp|/icmp] [--watch SECONDS]: a packet's path through nftables
// (diagnose/trace.h).
#include <iostream>

#include "cli/commands.h"
#include "diagnose/trace.h"
#include "engine/wiring.h"

namespace berth::cli {

int Trace(const Globals& g, const std::string& src, const std::string& dst, int watch) {
  std::string target = dst;
  bool icmp = target.ends_with("/icmp");
  if (icmp) target.resize(target.size() - 5);
  auto why = diagnose::ParseWhy(src, target);
  if (!why.ok()) return Fail(why.error(), 125);
  if (icmp) why->port.reset();
  auto engine = engine::Engine::Open(g.root, engine::KernelWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  auto report = diagnose::Trace(**engine, {*why, watch});
  if (!report.ok()) return Fail(report.error());
  std::cout << (g.format == "json" ? diagnose::TraceJson(*report) + "\n"
                                   : diagnose::TraceText(*report));
  return 0;
}

}  // namespace berth::cli
