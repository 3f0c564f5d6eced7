// berth topo [--format text|json|dot|svg]: the host's container network (diagnose/topo.h,
// diagnose/topo_svg.h).
#include <iostream>

#include "cli/commands.h"
#include "diagnose/topo.h"
#include "diagnose/topo_svg.h"
#include "engine/wiring.h"

namespace berth::cli {

int Topo(const Globals& g, const std::string& format) {
  auto engine = engine::Engine::Open(g.root, engine::KernelWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  auto t = diagnose::ReadTopology(**engine);
  if (!t.ok()) return Fail(t.error());
  if (format == "json") {
    std::cout << diagnose::TopoJson(*t) << "\n";
  } else if (format == "dot") {
    std::cout << diagnose::TopoDot(*t);
  } else if (format == "svg") {
    auto svg = diagnose::RenderSvg(diagnose::TopoDot(*t));
    if (!svg.ok()) return Fail(svg.error());
    std::cout << *svg;
  } else {
    std::cout << diagnose::TopoText(*t);
  }
  return 0;
}

}  // namespace berth::cli
